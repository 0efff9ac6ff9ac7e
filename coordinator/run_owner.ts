/**
 * Who owns a running run: the process holding an exclusive OS lock (flock) on
 * `<data>/locks/<run_id>.lock` for as long as it drives the run. The kernel
 * drops the lock when that process dies, however it dies (kill -9 included),
 * and another process asks for it without blocking. Nothing reads `/proc`, so
 * the answer is the same under every Deno permission set that can read the
 * data folder.
 */
import { dirname, join } from "node:path";
import { ClosedClawError } from "../core/errors.ts";
import { assertRunId } from "../core/ids.ts";
import type { Store } from "../store/mod.ts";

/** Runs owned by this process when the store has no folder (an in-memory database). */
const ownedInMemory = new Set<string>();

/** The lock file of a run, or null for an in-memory store. */
export function runLockPath(store: Pick<Store, "path">, runId: string): string | null {
  if (!store.path || store.path === ":memory:") return null;
  return join(dirname(store.path), "locks", `${assertRunId(runId)}.lock`);
}

/** The lock a run's owner holds; `release` once the run's end is recorded. */
export interface RunOwnership {
  readonly runId: string;
  release(): void;
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Takes ownership of a run for this process. Waits up to `waitMs` for another
 * process that is just letting go (a run finishing, a listing checking the
 * lock); throws `run_active` when a live owner keeps it.
 *
 * @example
 * ```ts
 * const owner = claimRun(store, runId);
 * try { await drive(); } finally { owner.release(); }
 * ```
 */
export function claimRun(store: Pick<Store, "path">, runId: string, waitMs = 2000): RunOwnership {
  const path = runLockPath(store, runId);
  if (path === null) {
    if (ownedInMemory.has(runId)) throw active(runId);
    ownedInMemory.add(runId);
    return { runId, release: () => ownedInMemory.delete(runId) };
  }
  let file: Deno.FsFile;
  try {
    Deno.mkdirSync(dirname(path), { recursive: true });
    file = Deno.openSync(path, { read: true, write: true, create: true });
  } catch (error) {
    throw new ClosedClawError(
      "run_lock_failed",
      `Cannot create the run's lock file ${path}: ${(error as Error).message}.`,
      { hint: "Make the data folder writable (or free disk space), then try again.", cause: error },
    );
  }
  const deadline = Date.now() + waitMs;
  while (!tryLock(file, path)) {
    if (Date.now() >= deadline) {
      file.close();
      throw active(runId);
    }
    sleep(25);
  }
  let released = false;
  return {
    runId,
    release() {
      if (released) return;
      released = true;
      try {
        file.unlockSync();
      } finally {
        file.close();
      }
    },
  };
}

/**
 * Tries the lock once. A filesystem without locks (some network or FUSE
 * mounts) fails here: no run can be owned there, so it is refused plainly.
 */
function tryLock(file: Deno.FsFile, path: string): boolean {
  try {
    return file.tryLockSync(true);
  } catch (error) {
    file.close();
    throw new ClosedClawError(
      "run_lock_failed",
      `Cannot lock the run's lock file ${path}: ${(error as Error).message}.`,
      {
        hint: "Put the data folder (CLOSED_CLAW_HOME) on a local filesystem that supports locks.",
        cause: error,
      },
    );
  }
}

function active(runId: string): ClosedClawError {
  return new ClosedClawError("run_active", `Run ${runId} is still running in another process.`, {
    hint: `Cancel it first with \`closed-claw cancel-run ${runId}\`.`,
  });
}

/**
 * Runs `fn` only when no live process owns the run, holding the run's lock
 * meanwhile so no resume can start in between. True when `fn` ran.
 * A lock file that cannot be read counts as owned: without it nothing is known.
 */
export function whileUnowned(store: Pick<Store, "path">, runId: string, fn: () => void): boolean {
  const path = runLockPath(store, runId);
  if (path === null) {
    if (ownedInMemory.has(runId)) return false;
    fn();
    return true;
  }
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (error) {
    // No lock file: no process ever owned the run under this scheme, so none owns it now.
    if (!(error instanceof Deno.errors.NotFound)) return false;
    fn();
    return true;
  }
  try {
    // A lock that cannot be taken at all (no locks on this filesystem) tells nothing: owned.
    let locked = false;
    try {
      locked = file.tryLockSync(true);
    } catch {
      return false;
    }
    if (!locked) return false;
    try {
      fn();
    } finally {
      file.unlockSync();
    }
    return true;
  } finally {
    file.close();
  }
}

/** True while a live process (this one included) owns the run. */
export function isRunOwned(store: Pick<Store, "path">, runId: string): boolean {
  return !whileUnowned(store, runId, () => {});
}
