/**
 * Cancelling a run from anywhere: the request is a flag on the run's row,
 * which its coordinator (in this or another process) polls and acts on at
 * once by killing its capsules. Runs in this process are also stopped directly.
 */
import { ClosedClawError } from "../core/errors.ts";
import { assertRunId } from "../core/ids.ts";
import type { Store } from "../store/mod.ts";

type LocalCanceller = (reason: string) => void;
const localRuns = new Map<string, LocalCanceller>();

/** Registers a run of this process so `requestCancel` can stop it without waiting for a poll. */
export function registerLocalRun(runId: string, cancel: LocalCanceller): () => void {
  localRuns.set(runId, cancel);
  return () => localRuns.delete(runId);
}

/** True while a run is going on in this process. */
export function isLocalRun(runId: string): boolean {
  return localRuns.has(runId);
}

/** True while a process with this pid exists on this machine (a run's owner, say). */
export function isProcessAlive(pid: number): boolean {
  if (pid === Deno.pid) return true;
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch (error) {
    // Without /proc (not Linux) we cannot tell, so the owner counts as alive.
    return !(error instanceof Deno.errors.NotFound);
  }
}

/** Marks runs whose owning process died as interrupted, so listings tell the truth. */
export function refreshInterruptedRuns(store: Store): string[] {
  return store.runs.markInterrupted(isProcessAlive);
}

/** The pending cancel request of a run, or null. */
export function cancelRequest(store: Store, runId: string): string | null {
  return store.runs.cancelReason(runId);
}

/** Clears a run's cancel flag (a resumed run starts fresh). */
export function clearCancelRequest(store: Store, runId: string): void {
  store.runs.clearCancel(runId);
}

/**
 * Asks a running run to stop. True when the run was running and is now
 * flagged; false when it has already finished. Throws for an unknown run.
 *
 * @example
 * ```ts
 * requestCancel({ store }, "3f2c…"); // true
 * ```
 */
export function requestCancel(
  deps: { store: Store },
  runId: string,
  reason = "cancel requested by user",
): boolean {
  assertRunId(runId);
  const row = deps.store.runs.get(runId);
  if (!row) {
    throw new ClosedClawError("run_not_found", `No run with id ${runId}.`, {
      hint: "List runs with `closed-claw runs`.",
    });
  }
  if (row.status !== "running") return false;
  deps.store.runs.requestCancel(runId, reason);
  localRuns.get(runId)?.(reason);
  return true;
}
