/**
 * Turns a run's log events and database rows into what the run-detail page
 * and `/api/runs/{id}/analysis` show: six stages, tool calls, model calls,
 * artifacts and, for a failed run, where and why it failed. Only event names
 * the coordinator really emits are mapped.
 */
import { failedStage } from "../coordinator/failure_hint.ts";
import type { RunLogEvent } from "../coordinator/run_log.ts";
import { modelCallCounts } from "../coordinator/records.ts";
import type { ApprovalRow, LlmCall, RunRow, Store, SubtaskRow, ToolEvent } from "../store/mod.ts";

export const STAGES = ["ingest", "plan", "route", "execute", "validate", "synthesize"] as const;
export type Stage = typeof STAGES[number];

const STAGE_OF: Record<string, Stage> = {
  task_ingested: "ingest",
  task_complexity_classified: "ingest",
  task_plan_created: "plan",
  agent_created_for_role: "route",
  agent_reused_for_role: "route",
  agent_creation_limit_reached: "route",
  skills_composed: "route",
  task_pool_update: "execute",
  subtask_attempt_started: "execute",
  subtask_attempt_succeeded: "execute",
  subtask_attempt_failed: "execute",
  tool_call: "execute",
  approval_decision: "execute",
  data_flow_approval: "execute",
  pool_iteration_limit_reached: "execute",
  agent_degraded: "validate",
  run_summary: "validate",
  synthesis_complete: "synthesize",
};

/** The stage an event belongs to, or null for events that do not move the pipeline. */
export function stageOf(event: string): Stage | null {
  return STAGE_OF[event] ?? null;
}

const ERROR_EVENTS = new Set([
  "subtask_attempt_failed",
  "agent_creation_limit_reached",
  "pool_iteration_limit_reached",
  "run_cancelled",
  "agent_degraded",
]);

export interface StageSummary {
  name: Stage;
  events: number;
  errors: number;
  duration_ms: number | null;
  started_at: string | null;
  ended_at: string | null;
  tool_calls: number;
  model_calls: number;
}

export interface RunAnalysis {
  run_id: string;
  status: string;
  current_stage: string | null;
  failed_stage: string | null;
  failure_reason: string | null;
  stages: StageSummary[];
  tool_calls: ToolEvent[];
  model_calls: LlmCall[];
  /** Model calls made before the run's first tool call; null before any (or for older runs). */
  model_calls_before_first_tool: number | null;
  usage: { calls: number; input_tokens: number; output_tokens: number; cost_usd: number };
  artifacts: string[];
  subtasks: SubtaskRow[];
  /** Per subtask, the worker machines its capsules ran on, in order (none: this machine). */
  workers: Record<string, string[]>;
  approvals: ApprovalRow[];
  events: RunLogEvent[];
  task: string;
  started_at: string;
  finished_at: string | null;
  pending_approvals: number;
  result: string | null;
  error: string | null;
}

function isErrorEvent(e: RunLogEvent): boolean {
  if (ERROR_EVENTS.has(e.event)) return true;
  return e.event === "tool_call" && e.payload.ok === false;
}

/** Stage timeline, current stage and failed stage of a run's events. */
export function summarizeStages(events: RunLogEvent[]) {
  const stages: StageSummary[] = STAGES.map((name) => ({
    name,
    events: 0,
    errors: 0,
    duration_ms: null,
    started_at: null,
    ended_at: null,
    tool_calls: 0,
    model_calls: 0,
  }));
  let current: Stage | null = null;
  let lastError: { stage: Stage; reason: string } | null = null;
  for (const e of events) {
    const stage: Stage | null = stageOf(e.event) ?? current;
    if (!stage) continue;
    current = stage;
    const s = stages[STAGES.indexOf(stage)];
    s.events++;
    s.started_at ??= e.ts;
    s.ended_at = e.ts;
    if (e.event === "tool_call") s.tool_calls++;
    if (e.event === "llm_call" || e.event === "model_call") s.model_calls++;
    if (isErrorEvent(e)) {
      s.errors++;
      const reason = e.payload.error ?? e.payload.reason ?? e.event;
      lastError = { stage, reason: String(reason).slice(0, 500) };
    }
  }
  for (const s of stages) {
    if (s.started_at && s.ended_at) {
      s.duration_ms = Date.parse(s.ended_at) - Date.parse(s.started_at);
    }
  }
  return { stages, current_stage: current, lastError };
}

/** Paths named by events as files a run produced. */
function artifactsOf(events: RunLogEvent[]): string[] {
  const found = new Set<string>();
  for (const e of events) {
    const list = e.payload.artifacts;
    if (Array.isArray(list)) { for (const a of list) if (typeof a === "string") found.add(a); }
  }
  return [...found];
}

/** Per subtask, the workers its capsules ran on (from `capsule_started`), each once, in order. */
export function workersByTask(events: RunLogEvent[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of events) {
    if (e.event !== "capsule_started" || typeof e.payload.worker !== "string") continue;
    const list = out[String(e.payload.task_id)] ??= [];
    if (!list.includes(e.payload.worker)) list.push(e.payload.worker);
  }
  return out;
}

/** The full analysis of one run. */
export function analyzeRun(store: Store, run: RunRow, events: RunLogEvent[]): RunAnalysis {
  const { stages, current_stage, lastError } = summarizeStages(events);
  const failed = run.status === "error" || run.status === "interrupted";
  const approvals = store.approvals.list({ runId: run.run_id, limit: 200 });
  return {
    run_id: run.run_id,
    status: run.status,
    current_stage: run.current_stage ?? current_stage,
    failed_stage: failed
      ? failedStage(run.error_message ?? lastError?.reason, lastError?.stage ?? current_stage)
      : null,
    failure_reason: failed ? run.error_message ?? lastError?.reason ?? null : null,
    stages,
    tool_calls: store.toolEvents.listForRun(run.run_id),
    model_calls: store.llmCalls.listForRun(run.run_id),
    model_calls_before_first_tool: modelCallCounts(store, run.run_id).before_first_tool,
    usage: store.llmCalls.totals({ runId: run.run_id }),
    artifacts: artifactsOf(events),
    subtasks: store.subtasks.listForRun(run.run_id),
    workers: workersByTask(events),
    approvals,
    events,
    task: run.task,
    started_at: run.created_at,
    finished_at: run.finished_at,
    pending_approvals: approvals.filter((a) => a.status === "pending").length,
    result: run.result,
    error: run.error_message,
  };
}

/** Range names accepted by the runs list, in milliseconds ("all" is null). */
export const RANGES: Record<string, number | null> = {
  "15m": 15 * 60_000,
  "1h": 3_600_000,
  "6h": 6 * 3_600_000,
  "24h": 24 * 3_600_000,
  "7d": 7 * 24 * 3_600_000,
  all: null,
};

/** True for a name of `RANGES` (own keys only: `toString` is not a range). */
export function isRangeName(name: string | undefined): name is string {
  return name !== undefined && Object.hasOwn(RANGES, name);
}

/** A run row plus `failed_stage` and `failure_reason` (no log reading: cheap for 10k runs). */
export function enrichRun(run: RunRow) {
  const failed = run.status === "error" || run.status === "interrupted";
  return {
    ...run,
    failed_stage: failed ? failedStage(run.error_message, run.current_stage) : null,
    failure_reason: failed ? run.error_message : null,
  };
}
