/**
 * Ending a run: its outcome recorded in SQLite and the run log, even when the
 * database refuses the last writes.
 */
import { ClosedClawError } from "../core/errors.ts";
import type { LlmService } from "../llm/types.ts";
import type { StopReason } from "./context.ts";
import type { RunLog } from "./run_log.ts";
import type { CoordinatorDeps, RunOutcome, RunState } from "./types.ts";

/** Writes an event; a log that cannot be written (disk full) must not stop a run from ending. */
function note(log: RunLog, event: string, payload: Record<string, unknown>): void {
  try {
    log.emit(event, payload);
  } catch {
    // Nothing else to tell: the outcome still carries the error.
  }
}

function describe(error: unknown): string {
  return error instanceof ClosedClawError
    ? error.toLine()
    : (error as Error)?.message ?? String(error);
}

/**
 * Ends a run and never throws: the outcome is recorded in SQLite and the run
 * log. When the database cannot be written (locked by another process,
 * read-only, full), the run log still gets `run_finished` with the error, the
 * file is closed, and the outcome is an error saying so; the row, left
 * `running`, is shown as interrupted once this process exits.
 */
export function finish(
  deps: CoordinatorDeps,
  llm: LlmService,
  log: RunLog,
  state: RunState,
  began: number,
  crash: unknown,
  stop: StopReason | null,
): RunOutcome {
  const { store } = deps;
  const runId = state.run_id;
  if (crash) {
    state.response_status = stop?.kind === "cancel" ? "cancelled" : "error";
    state.response_error = `coordinator_error: ${describe(crash)}`;
    state.response_result ||= `Unable to complete task. Reason: ${state.response_error}`;
    note(log, "error", { error: state.response_error });
  }
  state.elapsed_ms += performance.now() - began;
  let usage = { inputTokens: 0, outputTokens: 0, costUsd: 0 };
  let status: RunOutcome["status"] = state.response_status === "ok"
    ? "ok"
    : state.response_status === "cancelled"
    ? "cancelled"
    : "error";
  try {
    usage = llm.runUsage(runId);
    const agentsUsed = Object.keys(state.agent_stats);
    store.runs.saveState(runId, state);
    store.runs.update(runId, {
      status,
      agent_id: agentsUsed[0] ?? null,
      result: state.response_result,
      error_message: state.response_error || null,
      latency_ms: Math.round(state.elapsed_ms),
      input_tokens: usage.inputTokens,
      output_tokens: usage.outputTokens,
      cost_usd: usage.costUsd,
      finished_at: new Date().toISOString(),
    });
  } catch (error) {
    const earlier = state.response_error
      ? ` The run itself ended with: ${state.response_error}`
      : "";
    status = "error";
    state.response_status = "error";
    state.response_error =
      `run_not_recorded: the end of the run could not be saved to ${store.path} ` +
      `(${describe(error)}). Another process may hold the database locked, or it is read-only or ` +
      `full; \`closed-claw runs\` shows the run as interrupted once this process exits, and ` +
      `\`closed-claw resume ${runId}\` continues it.${earlier}`;
    state.response_result ||= `Unable to complete task. Reason: ${state.response_error}`;
    note(log, "error", { error: state.response_error });
  }
  note(log, "run_finished", {
    status,
    error: state.response_error,
    latency_ms: Math.round(state.elapsed_ms),
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
    cost_usd: usage.costUsd,
  });
  log.close();
  return { runId, status, result: state.response_result, error: state.response_error, usage };
}
