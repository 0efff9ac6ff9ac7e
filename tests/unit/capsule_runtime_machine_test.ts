import assert from "node:assert/strict";
import { join, relative } from "node:path";
import {
  GUEST_LATE_NODE_MODULES,
  guestFiles,
  warmGuestCache,
} from "../../capsule_runtime/machine.ts";
import {
  bundleIsFresh,
  GUEST_BUNDLE,
  GUEST_DIR,
  GUEST_MAIN,
  PRODUCT_ROOT,
} from "../../capsule_runtime/guest_bundle.ts";
import { tempDir } from "../helpers/temp.ts";

/** A guest that only says `ready`, as the real one does before its `start`. */
const READY_GUEST = `console.log(JSON.stringify({ v: 1, type: "ready" }));\n`;

Deno.test("warmGuestCache builds the cache again when its folder was deleted", async () => {
  await using tmp = await tempDir();
  const entry = join(tmp.path, "guest.ts");
  Deno.writeTextFileSync(entry, READY_GUEST);
  const cache = join(tmp.path, "data", "deno_cache");
  await warmGuestCache(cache, entry);
  assert.ok(Deno.statSync(cache).isDirectory);
  // Warm already: the second call trusts the folder and does not run the guest again.
  const again = warmGuestCache(cache, entry);
  assert.equal(again, warmGuestCache(cache, entry));
  await again;
  // Other V8 flags are another cache (V8 refuses a code cache made under other flags).
  const otherFlags = warmGuestCache(cache, entry, ["--v8-flags=--max-old-space-size=256"]);
  assert.notEqual(otherFlags, again);
  await otherFlags;
  Deno.removeSync(join(tmp.path, "data"), { recursive: true });
  await warmGuestCache(cache, entry);
  assert.ok(Deno.statSync(cache).isDirectory, "the deleted cache folder is back");
});

Deno.test("warmGuestCache fails, and forgets, a guest that never says ready", async () => {
  await using tmp = await tempDir();
  const entry = join(tmp.path, "broken.ts");
  Deno.writeTextFileSync(entry, `throw new Error("broken guest");\n`);
  const cache = join(tmp.path, "deno_cache");
  await assert.rejects(
    warmGuestCache(cache, entry),
    /could not start the capsule guest.*broken guest/s,
  );
  Deno.writeTextFileSync(entry, READY_GUEST);
  await warmGuestCache(cache, entry);
});

Deno.test("capsules run the one-file bundle, and the sandbox binds only that file", () => {
  const guest = guestFiles();
  assert.equal(guest.productRoot, PRODUCT_ROOT);
  if (bundleIsFresh()) {
    assert.equal(guest.entry, GUEST_BUNDLE);
    assert.deepEqual(guest.sources, [GUEST_BUNDLE]);
  } else {
    // guest/ was edited and not rebuilt yet: the sources run (guest_bundle_test.ts fails meanwhile).
    assert.equal(guest.entry, GUEST_MAIN);
    assert.deepEqual(guest.sources, [GUEST_DIR]);
  }
});

/** Every guest source file (guest/dist/ holds the bundle built from them). */
function guestSources(dir = GUEST_DIR): string[] {
  return [...Deno.readDirSync(dir)].flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory) return path === join(GUEST_DIR, "dist") ? [] : guestSources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

Deno.test("the guest loads node: modules only after it starts, and the warm-up caches each", () => {
  const late = new Set<string>();
  for (const file of guestSources()) {
    const source = Deno.readTextFileSync(file);
    const name = relative(GUEST_DIR, file);
    // A static import would load it before the capsule can say `ready` (the SQL worker's
    // source is a string: its imports load in the worker).
    if (!name.endsWith("_sql_worker_source.ts")) {
      const eager = /^(?:import|export)\s+(?!type\b)[^;]*?\bfrom\s*"node:[^"]+"/m.exec(source);
      assert.equal(eager, null, `${name} imports a node: module at start: ${eager?.[0]}`);
    }
    // Loaded later: dynamic imports, node:path on demand, and the SQL worker's own imports.
    const patterns = [
      /\bimport\(\s*"(node:[^"]+)"\s*\)/g,
      /\bgetBuiltinModule\(\s*"(node:[^"]+)"/g,
    ];
    if (name.endsWith("_sql_worker_source.ts")) patterns.push(/\bfrom\s*"(node:[^"]+)"/g);
    for (const pattern of patterns) {
      for (const match of source.matchAll(pattern)) late.add(match[1]);
    }
  }
  assert.deepEqual([...late].sort(), [...GUEST_LATE_NODE_MODULES].sort());
});
