import assert from "node:assert/strict";
import { join } from "node:path";
import { warmGuestCache } from "../../capsule_runtime/machine.ts";
import { tempDir } from "../helpers/temp.ts";

Deno.test("warmGuestCache builds the cache again when its folder was deleted", async () => {
  await using tmp = await tempDir();
  const entry = join(tmp.path, "guest.ts");
  Deno.writeTextFileSync(entry, "export const answer: number = 42;\n");
  const cache = join(tmp.path, "data", "deno_cache");
  await warmGuestCache(cache, entry);
  assert.ok(Deno.statSync(cache).isDirectory);
  // Warm already: the second call trusts the folder and does not compile again.
  const again = warmGuestCache(cache, entry);
  assert.equal(again, warmGuestCache(cache, entry));
  await again;
  Deno.removeSync(join(tmp.path, "data"), { recursive: true });
  await warmGuestCache(cache, entry);
  assert.ok(Deno.statSync(cache).isDirectory, "the deleted cache folder is back");
});
