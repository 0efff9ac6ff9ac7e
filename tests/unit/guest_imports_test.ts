/**
 * The guest wing (guest/) is what runs inside a capsule, which starts with no
 * npm cache and no network. The rule, in one line: every file under guest/
 * imports only `node:` built-ins and other files under guest/.
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { specifiers } from "../helpers/imports.ts";

const GUEST = fileURLToPath(new URL("../../guest/", import.meta.url)).replace(/\/$/, "");

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (entry.isFile && /\.tsx?$/.test(entry.name)) yield path;
  }
}

Deno.test("guest/ imports only node: built-ins and files under guest/", async () => {
  let files = 0;
  for await (const file of sourceFiles(GUEST)) {
    files++;
    for (const spec of specifiers(await Deno.readTextFile(file))) {
      if (spec.startsWith("node:")) continue;
      const where = `${relative(GUEST, file)} imports '${spec}'`;
      assert.ok(spec.startsWith("./") || spec.startsWith("../"), where);
      assert.ok(resolve(dirname(file), spec).startsWith(GUEST + "/"), where);
    }
  }
  assert.ok(files >= 20, `scanned ${files} files`);
});

Deno.test("the import scanner itself catches bad imports", () => {
  assert.deepEqual(
    specifiers(`import { z } from "zod";\nimport "npm:x";\nawait import("jsr:@std/path");`),
    ["zod", "npm:x", "jsr:@std/path"],
  );
});
