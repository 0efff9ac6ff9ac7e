/**
 * A run as a trace: spans built from what the run already recorded (its
 * run-log events with their times, its `llm_calls` and `tool_events` rows),
 * with no extra bookkeeping while it runs.
 *
 * The tree: `run` → `plan` (its `chat` calls), `subtask` → `route` (profile
 * and rerank `chat` calls, `approval` waits), `invoke_agent` (one per
 * attempt) → `capsule_start`, `chat`, `execute_tool`, `validation` (judge
 * `chat` calls); and `run` → `synthesis`. Ids are derived from the run id and
 * each span's place (trace id = the run id; span id = a hash of its key), so
 * building the same run twice, or again after a resume, gives the same ids.
 *
 * @example
 * ```ts
 * import { buildTrace } from "./trace.ts";
 *
 * const trace = buildTrace({
 *   run: { run_id: "0123456789abcdef0123456789abcdef", task: "t", status: "ok",
 *     created_at: "2026-01-01T00:00:00.000Z", finished_at: "2026-01-01T00:00:01.000Z" },
 *   events: [], llmCalls: [], toolEvents: [],
 * });
 * console.log(trace.spans[0].name); // "run"
 * ```
 * @module
 */
import type { LlmCall, ToolEvent } from "../store/events_repos.ts";
import type { SubtaskRow } from "../store/subtasks_repo.ts";
import { parseRunLog } from "./run_log.ts";
import { TraceBuilder } from "./trace_builder.ts";
import type { RunTrace, TraceInput, TraceRun } from "./trace_model.ts";

export * from "./trace_model.ts";

/** Builds every span of a run from its records. Pure: same input, same spans. */
export function buildTrace(input: TraceInput): RunTrace {
  return new TraceBuilder(input).build();
}

/** Reads a run's whole log and rows and builds its trace; null for an unknown run. */
export async function loadRunTrace(
  store: {
    runs: { get(id: string): TraceRun | null };
    llmCalls: { listForRun(id: string): LlmCall[] };
    toolEvents: { listForRun(id: string, limit?: number): ToolEvent[] };
    subtasks: { listForRun(id: string): SubtaskRow[] };
  },
  runLogFile: string,
  runId: string,
): Promise<RunTrace | null> {
  const run = store.runs.get(runId);
  if (!run) return null;
  let text = "";
  try {
    text = await Deno.readTextFile(runLogFile);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return buildTrace({
    run,
    events: parseRunLog(text),
    llmCalls: store.llmCalls.listForRun(runId),
    toolEvents: store.toolEvents.listForRun(runId, 100_000),
    subtasks: store.subtasks.listForRun(runId),
  });
}
