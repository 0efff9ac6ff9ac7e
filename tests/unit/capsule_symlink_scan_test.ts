import assert from "node:assert/strict";
import { join } from "node:path";
import { findEscapingSymlinks } from "../../capsule_runtime/symlink_scan.ts";
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
