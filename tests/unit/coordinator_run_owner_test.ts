import assert from "node:assert/strict";
import { join } from "node:path";
import { ClosedClawError } from "../../core/errors.ts";
import { newRunId } from "../../core/ids.ts";
import { claimRun, isRunOwned } from "../../coordinator/run_owner.ts";
import { tempDir } from "../helpers/temp.ts";

/** Runs `fn` as if the data folder were on a filesystem without locks. */
function withoutLocks<T>(fn: () => T): T {
  const proto = Deno.FsFile.prototype;
  const original = proto.tryLockSync;
  proto.tryLockSync = () => {
    throw new Error("No locks available (os error 37)");
  };
  try {
    return fn();
  } finally {
    proto.tryLockSync = original;
  }
}

Deno.test("run owner: on a filesystem without locks a run is refused plainly and counts as owned", async () => {
  await using dir = await tempDir();
  const store = { path: join(dir.path, "registry.db") };
  const runId = newRunId();
  withoutLocks(() => {
    assert.throws(
      () => claimRun(store, runId, 0),
      (e) => e instanceof ClosedClawError && e.code === "run_lock_failed",
    );
    // The lock file now exists; whether anyone owns the run cannot be known.
    assert.equal(isRunOwned(store, runId), true);
  });
  // With locks again, the file left behind is no obstacle.
  const owner = claimRun(store, runId, 0);
  assert.equal(isRunOwned(store, runId), true);
  owner.release();
  assert.equal(isRunOwned(store, runId), false);
});
