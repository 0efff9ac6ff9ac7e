/**
 * Capsules run guest/dist/guest.js, bundled from guest/ by `deno task
 * build:guest` (capsule_runtime/guest_bundle.ts). These tests fail when the
 * checked-in bundle is not what the sources build today.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  buildGuestBundle,
  bundleDenoVersion,
  bundleIsFresh,
  bundleSourceHash,
  GUEST_BUNDLE,
  guestSourceHash,
} from "../../capsule_runtime/guest_bundle.ts";
import { tempDir } from "../helpers/temp.ts";

const REBUILD = "guest/dist/guest.js does not match guest/: run `deno task build:guest`";
const checkedIn = Deno.readTextFileSync(GUEST_BUNDLE);

Deno.test("the checked-in guest bundle was built from the guest sources as they are now", () => {
  assert.equal(bundleSourceHash(checkedIn), guestSourceHash(), REBUILD);
});

Deno.test({
  name: "rebuilding the guest gives the checked-in bundle byte for byte",
  // Another Deno may bundle another esbuild's way; the source hash above still holds.
  ignore: bundleDenoVersion(checkedIn) !== Deno.version.deno,
  async fn() {
    await using tmp = await tempDir();
    const rebuilt = join(tmp.path, "guest.js");
    await buildGuestBundle(rebuilt);
    assert.ok(Deno.readTextFileSync(rebuilt) === checkedIn, REBUILD);
  },
});

Deno.test("the source hash covers every file's path and bytes, and nothing in dist/", async () => {
  await using tmp = await tempDir();
  const dir = join(tmp.path, "guest");
  Deno.mkdirSync(join(dir, "tools"), { recursive: true });
  Deno.mkdirSync(join(dir, "dist"));
  Deno.writeTextFileSync(join(dir, "main.ts"), "export {};\n");
  Deno.writeTextFileSync(join(dir, "tools", "a.ts"), "export const a = 1;\n");
  const first = guestSourceHash(dir);
  Deno.writeTextFileSync(join(dir, "dist", "guest.js"), "// anything\n");
  assert.equal(guestSourceHash(dir), first, "the bundle itself is not a source");
  Deno.writeTextFileSync(join(dir, "tools", "a.ts"), "export const a = 2;\n");
  const edited = guestSourceHash(dir);
  assert.notEqual(edited, first, "an edited source");
  Deno.renameSync(join(dir, "tools", "a.ts"), join(dir, "tools", "b.ts"));
  assert.notEqual(guestSourceHash(dir), edited, "a renamed source");

  const bundle = join(dir, "dist", "guest.js");
  Deno.writeTextFileSync(bundle, `// x\n// y\n// guest-sources-sha256: ${guestSourceHash(dir)}\n`);
  assert.ok(bundleIsFresh(bundle, dir));
  Deno.writeTextFileSync(join(dir, "new.ts"), "export {};\n");
  assert.ok(!bundleIsFresh(bundle, dir), "a new source makes the bundle stale");
  assert.ok(!bundleIsFresh(join(dir, "missing.js"), dir), "no bundle is not a fresh one");
});
