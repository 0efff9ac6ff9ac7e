/**
 * The capsule guest (capsule_runtime/guest) starts with no npm cache and no
 * network: it may import only `node:` built-ins, its own folder, the
 * protocol's type file and the guest-safe tool folders.
 */
import assert from "node:assert/strict";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const GUEST = join(ROOT, "capsule_runtime", "guest");
const ALLOWED = [
  GUEST + "/",
  join(ROOT, "capsule_runtime", "protocol_types.ts"),
  join(ROOT, "tools", "guest") + "/",
  join(ROOT, "tools", "policy") + "/",
];

Deno.test("the capsule guest imports only node: built-ins and guest-safe relative files", async () => {
  let files = 0;
  for await (const entry of Deno.readDir(GUEST)) {
    if (!entry.isFile || !entry.name.endsWith(".ts")) continue;
    files++;
    const file = join(GUEST, entry.name);
    const source = await Deno.readTextFile(file);
    for (const match of source.matchAll(/\b(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) {
      const spec = match[1];
      if (spec.startsWith("node:")) continue;
      const target = resolve(dirname(file), spec);
      assert.ok(
        ALLOWED.some((allowed) => target === allowed || target.startsWith(allowed)),
        `${entry.name} imports '${spec}'`,
      );
    }
  }
  assert.ok(files >= 3);
});
