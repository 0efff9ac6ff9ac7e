/**
 * What a finished run prints: the final JSON object (`--json`) or the answer
 * with its subtasks, usage, run log and what to do next.
 */
import { failureHint } from "../coordinator/failure_hint.ts";
import type { Store } from "../store/mod.ts";
import { modelCallCounts, type RunOutcome, type RunState } from "../coordinator/mod.ts";
import { bold, duration, green, printLine, red, terminalSafe, yellow } from "./output.ts";
import { hereCommand } from "./invocation.ts";

/** The object `--json` prints. */
export function finalJson(
  outcome: RunOutcome,
  state: RunState | null,
  store: Store,
  runLog: string,
) {
  const s = state;
  return {
    run_id: outcome.runId,
    status: outcome.status,
    result: outcome.result,
    error: outcome.error || null,
    agent_id: s ? Object.keys(s.agent_stats)[0] ?? "unknown" : "unknown",
    created_agents: s?.created_agents ?? [],
    role_agent_map: s?.role_agent_map ?? {},
    subtask_pool: s ? [...s.discovery_subtask_pool, ...s.execution_subtask_pool] : [],
    discovery_subtask_pool: s?.discovery_subtask_pool ?? [],
    execution_subtask_pool: s?.execution_subtask_pool ?? [],
    discovery_results: s?.discovery_results ?? {},
    execution_results: s?.execution_results ?? {},
    artifacts: [],
    approvals: s?.approvals ?? [],
    tool_event_count: s?.tool_event_count ?? 0,
    model_calls: modelCallCounts(store, outcome.runId, state),
    usage: outcome.usage,
    run_log: runLog,
  };
}

/** The answer and the run's figures, for people. */
export function printSummary(
  outcome: RunOutcome,
  state: RunState | null,
  store: Store,
  runLog: string,
): void {
  printLine();
  printLine(bold(outcome.status === "ok" ? "Answer:" : "Result:"));
  // The answer is model text and may quote files: no control sequences reach the terminal.
  printLine(terminalSafe(outcome.result) || "(no result)");
  printLine();
  const row = store.runs.get(outcome.runId);
  if (state) {
    const subtasks = [...state.discovery_subtask_pool, ...state.execution_subtask_pool];
    const completed = subtasks.filter((t) => t.status === "completed").length;
    const agents = Object.keys(state.agent_stats);
    printLine(
      `Subtasks: ${completed}/${subtasks.length} completed · Agents: ${agents.length} used, ${state.created_agents.length} created · Approvals: ${state.approvals.length} · Tool calls: ${state.tool_event_count}`,
    );
  }
  printLine(modelCallsLine(modelCallCounts(store, outcome.runId, state)));
  printLine(
    `Tokens: ${outcome.usage.inputTokens} in / ${outcome.usage.outputTokens} out · Cost: $${
      outcome.usage.costUsd.toFixed(4)
    } · Time: ${duration(row?.latency_ms)}`,
  );
  printLine(`Run log: ${runLog}`);
  printLine(
    outcome.status === "ok"
      ? green("Task completed successfully.")
      : outcome.status === "cancelled"
      ? yellow(
        hereCommand(
          `Run stopped by user request. Continue it with: closed-claw resume ${outcome.runId}`,
        ),
      )
      : red(hereCommand(failedLine(outcome.error, outcome.runId))),
  );
}

/**
 * The one line a failed run ends with: the error, what it means, and the fix.
 *
 * @example
 * ```ts
 * failedLine("discovery_phase_failed", "run_1");
 * // "Task failed: discovery_phase_failed (a discovery subtask failed). Fix: see that subtask's line, then `closed-claw resume run_1`"
 * ```
 */
export function failedLine(error: string, runId: string): string {
  const text = terminalSafe(error).replace(/\.+$/, "") || "failed";
  const { reason, fix } = failureHint(text, runId);
  return `Task failed: ${text}${reason ? ` (${reason})` : ""}. Fix: ${fix}`;
}

/** "Model calls: 4 (1 before the first tool call)"; the part in brackets only once a tool ran. */
export function modelCallsLine(calls: { total: number; before_first_tool: number | null }): string {
  return `Model calls: ${calls.total}${
    calls.before_first_tool === null
      ? ""
      : ` (${calls.before_first_tool} before the first tool call)`
  }`;
}
