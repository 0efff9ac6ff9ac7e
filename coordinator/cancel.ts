/**
 * Cancelling a run from anywhere: the request is a flag on the run's row,
 * which its coordinator (in this or another process) polls and acts on at
 * once by killing its capsules. Runs in this process are also stopped directly.
 */
import { ClosedClawError } from "../core/errors.ts";
import { assertRunId } from "../core/ids.ts";
import type { Store } from "../store/mod.ts";
import { whileUnowned } from "./run_owner.ts";

type LocalCanceller = (reason: string) => void;
const localRuns = new Map<string, LocalCanceller>();

/** Registers a run of this process so `requestCancel` can stop it without waiting for a poll. */
export function registerLocalRun(runId: string, cancel: LocalCanceller): () => void {
  localRuns.set(runId, cancel);
  return () => localRuns.delete(runId);
}

/**
 * Marks runs whose owner is gone as interrupted, so listings tell the truth
 * within moments of a crash, kill -9 or a stopped terminal. A run's owner is
 * the process holding its lock (see `run_owner.ts`); the row is changed while
 * that lock is held here, so a resume starting at the same time waits.
 */
export function refreshInterruptedRuns(store: Store): string[] {
  const marked: string[] = [];
  for (const runId of store.runs.runningIds()) {
    whileUnowned(store, runId, () => {
      if (store.runs.markRunInterrupted(runId, OWNER_GONE)) marked.push(runId);
    });
  }
  return marked;
}

/** The reason recorded on a run whose process ended without recording the run's end. */
const OWNER_GONE =
  "interrupted: the process running it ended before the run did (killed, crashed or out of disk)";

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
 * flagged, or had lost its process (interrupted) and is now cancelled; false
 * when it has already finished. Throws for an unknown run.
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
  if (row.status !== "running" && row.status !== "interrupted") return false;
  // A run nobody owns any more (its process died) is closed here, as its owner would have.
  let closed = false;
  whileUnowned(deps.store, runId, () => {
    const now = deps.store.runs.get(runId);
    if (now?.status !== "running" && now?.status !== "interrupted") return;
    deps.store.runs.update(runId, {
      status: "cancelled",
      error_message: reason,
      finished_at: new Date().toISOString(),
    });
    closed = true;
  });
  if (closed) return true;
  if (!deps.store.runs.requestCancel(runId, reason)) return false;
  localRuns.get(runId)?.(reason);
  return true;
}
