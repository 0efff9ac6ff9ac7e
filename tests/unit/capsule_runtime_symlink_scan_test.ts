import assert from "node:assert/strict";
import { join } from "node:path";
import { confineRoots, findEscapingSymlinks } from "../../capsule_runtime/symlink_scan.ts";
import { tempDir } from "../helpers/temp.ts";

Deno.test("links leading outside the roots or to a secret are found; inner links are not", async () => {
  await using tmp = await tempDir();
  const ws = join(tmp.path, "ws");
  const outside = join(tmp.path, "outside");
  Deno.mkdirSync(join(ws, "sub", "deep"), { recursive: true });
  Deno.mkdirSync(outside);
  Deno.writeTextFileSync(join(outside, "secret"), "s");
  Deno.writeTextFileSync(join(ws, ".env"), "KEY=1");
  Deno.writeTextFileSync(join(ws, "sub", "ok.txt"), "fine");
  Deno.symlinkSync(join(outside, "secret"), join(ws, "sub", "deep", "to_secret"));
  Deno.symlinkSync(outside, join(ws, "to_outside_dir"));
  Deno.symlinkSync(join(ws, ".env"), join(ws, "to_env"));
  Deno.symlinkSync(join(ws, "sub", "ok.txt"), join(ws, "to_inner"));
  Deno.symlinkSync(join(tmp.path, "missing"), join(ws, "dangling"));
  const scan = findEscapingSymlinks([ws], [join(ws, ".env")]);
  assert.deepEqual(scan.escaping, [
    join(ws, "dangling"),
    join(ws, "sub", "deep", "to_secret"),
    join(ws, "to_env"),
    join(ws, "to_outside_dir"),
  ]);
  assert.equal(scan.truncated, false);
  assert.equal(findEscapingSymlinks([ws], [], 2).truncated, true);
});

Deno.test("a granted root that is itself a symlink out of the allowed roots is dropped", async () => {
  await using tmp = await tempDir();
  const ws = join(tmp.path, "ws");
  const home = join(tmp.path, "home");
  Deno.mkdirSync(join(ws, "docs"), { recursive: true });
  Deno.mkdirSync(home);
  Deno.symlinkSync(home, join(ws, "link"));
  const roots = [join(ws, "docs"), join(ws, "link"), join(ws, "not-yet")];
  assert.deepEqual(confineRoots(roots, [ws]), [join(ws, "docs"), join(ws, "not-yet")]);
  // A workspace reached through a symlink still counts as itself.
  Deno.symlinkSync(ws, join(tmp.path, "ws-alias"));
  assert.deepEqual(confineRoots([join(tmp.path, "ws-alias", "docs")], [ws]), [
    join(tmp.path, "ws-alias", "docs"),
  ]);
});
