/**
 * Guest code must start fast with no network or npm cache: every file under
 * tools/guest and tools/policy may import only `node:` built-ins and relative
 * files that stay inside those two folders.
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const TOOLS = fileURLToPath(new URL("../../tools/", import.meta.url));
const GUEST_DIRS = [join(TOOLS, "guest"), join(TOOLS, "policy")];

function specifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /\bnew\s+Worker\s*\(\s*new\s+URL\s*\(\s*["']([^"']+)["']/g,
  ];
  for (const pattern of patterns) {
    for (const match of source.matchAll(pattern)) found.push(match[1]);
  }
  return found;
}

Deno.test("guest code imports only node: built-ins and guest-safe relative files", async () => {
  let files = 0;
  for (const dir of GUEST_DIRS) {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !entry.name.endsWith(".ts")) continue;
      files++;
      const file = join(dir, entry.name);
      for (const spec of specifiers(await Deno.readTextFile(file))) {
        const where = `${relative(TOOLS, file)} imports '${spec}'`;
        if (spec.startsWith("node:")) continue;
        assert.ok(spec.startsWith("./") || spec.startsWith("../"), where);
        const target = resolve(dirname(file), spec);
        assert.ok(GUEST_DIRS.some((d) => target.startsWith(d + "/")), where);
      }
    }
  }
  assert.ok(files >= 15, `scanned ${files} files`);
});

Deno.test("the import scanner itself catches bad imports", () => {
  assert.deepEqual(
    specifiers(`import { z } from "zod";\nimport "npm:x";\nawait import("jsr:@std/path");`),
    [
      "zod",
      "npm:x",
      "jsr:@std/path",
    ],
  );
});
