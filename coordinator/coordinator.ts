/**
 * Starting and resuming runs: checking the options, writing the run row from
 * the first moment (so failed, cancelled and crashed runs are recorded) and
 * the state a resume continues from, then launching it.
 */
import { ClosedClawError } from "../core/errors.ts";
import { assertRunId, newRunId, randomHex } from "../core/ids.ts";
import { ensureDataDirs } from "../core/settings.ts";
import { clearCancelRequest } from "./cancel.ts";
import { claimRun, type RunOwnership } from "./run_owner.ts";
import { buildLlm, launch, type StartDeps } from "./launch.ts";
import { refuseSpentBudget, reopenFailed } from "./resume.ts";
import { checkCost, checkMode, checkTools, statDir, type StoredOptions } from "./run_options.ts";
import type { RunRow } from "../store/runs_repo.ts";
import {
  type CoordinatorDeps,
  newRunState,
  type ResumeOptions,
  type RunHandle,
  type RunOptions,
  type RunState,
} from "./types.ts";

export type { StartDeps } from "./launch.ts";

/** The state of a run before its first stage. */
function initialState(runId: string, options: RunOptions, deps: CoordinatorDeps): RunState {
  return newRunState({
    run_id: runId,
    session_id: options.sessionId || randomHex(12),
    task: options.task.trim(),
    context: options.context ?? {},
    runtime_policies: {
      create_approval_mode: options.createApprovalMode ?? deps.settings.createApprovalMode,
      api_approval_mode: options.apiApprovalMode ?? deps.settings.apiApprovalMode,
    },
  });
}

/**
 * Starts a run in the background and returns at once. Bad input (blank task,
 * unknown mode or tool, missing key) throws a `ClosedClawError` here.
 *
 * @example
 * ```ts
 * const run = startRun({ settings, store }, { task: "Count the .ts files", createApprovalMode: "approve" });
 * const outcome = await run.done; // { runId, status: "ok", result, error, usage }
 * ```
 */
export function startRun(deps: StartDeps, options: RunOptions): RunHandle {
  const task = options.task?.trim();
  if (!task) {
    throw new ClosedClawError("task_missing", "The task is empty.", {
      hint: 'Say what to do, e.g. `closed-claw run "list the files in src"`.',
      exitCode: 2,
    });
  }
  checkMode("--create-approval-mode", options.createApprovalMode);
  checkMode("--api-approval-mode", options.apiApprovalMode);
  checkTools(options.toolsAllowed);
  checkCost(options.maxCostUsd);
  if (options.workspace) statDir(options.workspace);
  ensureDataDirs(deps.settings);
  const runId = newRunId();
  const llm = deps.llm ?? buildLlm(deps, options, runId);
  const state = initialState(runId, options, deps);
  const stored: StoredOptions = {
    sessionId: state.session_id,
    createApprovalMode: state.runtime_policies.create_approval_mode,
    apiApprovalMode: state.runtime_policies.api_approval_mode,
    llmProvider: options.llmProvider,
    llmModel: options.llmModel,
    record: options.record,
    replay: options.replay,
    maxCostUsd: options.maxCostUsd,
    workspace: options.workspace,
    toolsAllowed: options.toolsAllowed,
  };
  // Owned from before its row exists: no listing can take it for a dead run.
  const owner = claimRun(deps.store, runId);
  return owned(owner, () => {
    deps.store.runs.create({
      run_id: runId,
      session_id: state.session_id,
      task: state.task,
      context: state.context,
      options: stored as Record<string, unknown>,
      owner_pid: Deno.pid,
      state,
    });
    return launch(deps, llm, state, { ...options, ...stored }, false, owner);
  });
}

/** Runs `start` as `owner`; if it throws, the ownership is let go so the run is not held. */
function owned(owner: RunOwnership, start: () => RunHandle): RunHandle {
  try {
    return start();
  } catch (error) {
    owner.release();
    throw error;
  }
}

/**
 * Continues an interrupted (or failed) run without re-running its completed
 * subtasks. Throws when the run is unknown, finished ok, or still running, and
 * (`budget_exceeded`) when its budget is already spent: spend before the
 * resume counts, so raise it with `options.maxCostUsd`.
 */
export function resumeRun(
  deps: StartDeps,
  runId: string,
  options: ResumeOptions = {},
): RunHandle {
  assertRunId(runId);
  resumableRow(deps, runId);
  // The owner is whoever holds the run's lock; a dead owner's lock is gone with it.
  const owner = claimRun(deps.store, runId);
  // Read again under the lock: a process that owned it meanwhile may have finished it.
  return owned(owner, () => resumeOwned(deps, runId, resumableRow(deps, runId), options, owner));
}

/** The run's row; throws when it is unknown or already finished successfully. */
function resumableRow(deps: StartDeps, runId: string): RunRow {
  const row = deps.store.runs.get(runId);
  if (!row) {
    throw new ClosedClawError("run_not_found", `No run with id ${runId}.`, {
      hint: "List runs with `closed-claw runs`.",
    });
  }
  if (row.status === "ok") {
    throw new ClosedClawError("run_finished", `Run ${runId} already finished successfully.`, {
      hint: "Start a new run instead.",
    });
  }
  return row;
}

function resumeOwned(
  deps: StartDeps,
  runId: string,
  row: RunRow,
  options: ResumeOptions,
  owner: RunOwnership,
): RunHandle {
  checkCost(options.maxCostUsd);
  const stored = row.options as StoredOptions;
  const kept: StoredOptions = { ...stored, maxCostUsd: options.maxCostUsd ?? stored.maxCostUsd };
  const runOptions: RunOptions = {
    ...kept,
    task: row.task,
    context: row.context,
    signal: options.signal,
    onEvent: options.onEvent,
    ask: options.ask,
  };
  const saved = deps.store.runs.loadState<RunState>(runId);
  const state = saved ?? initialState(runId, runOptions, deps);
  if (saved) {
    // A failed or cancelled run retries what did not complete, keeping what did.
    if (state.stage !== "ingested" && state.response_status !== "ok") {
      reopenFailed(state);
    }
  }
  // Built before the row says "running": a missing key must leave the run resumable.
  const llm = deps.llm ?? buildLlm(deps, runOptions, runId);
  refuseSpentBudget(deps, llm, runId, runOptions.maxCostUsd);
  ensureDataDirs(deps.settings);
  // Kept for later resumes of the run.
  if (options.maxCostUsd !== undefined) {
    deps.store.runs.saveOptions(runId, kept as Record<string, unknown>);
  }
  clearCancelRequest(deps.store, runId);
  deps.store.runs.update(runId, {
    status: "running",
    owner_pid: Deno.pid,
    error_message: null,
    finished_at: null,
  });
  return launch(deps, llm, state, runOptions, true, owner);
}
