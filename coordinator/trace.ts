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
import { createHash } from "node:crypto";
import type { LlmCall, ToolEvent } from "../store/events_repos.ts";
import type { SubtaskRow } from "../store/subtasks_repo.ts";
import { parseRunLog, type RunLogEvent } from "./run_log.ts";

/** A span attribute value (OTLP: string, int, double, bool, or an array of strings). */
export type SpanValue = string | number | boolean | string[];

/** What a span stands for. */
export type SpanKind =
  | "run"
  | "plan"
  | "subtask"
  | "route"
  | "approval"
  | "attempt"
  | "capsule_start"
  | "chat"
  | "execute_tool"
  | "validation"
  | "synthesis";

/** One span of a run's trace. Times are epoch milliseconds (fractions allowed). */
export interface TraceSpan {
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  name: string;
  kind: SpanKind;
  start_ms: number;
  end_ms: number;
  /** `unset` while the span's work has no outcome (a run still going). */
  status: "ok" | "error" | "unset";
  status_message: string;
  attributes: Record<string, SpanValue>;
}

/** A run's trace: every span, the root (`run`) first, then by start time. */
export interface RunTrace {
  trace_id: string;
  run_id: string;
  spans: TraceSpan[];
}

/** The run row fields a trace needs. */
export interface TraceRun {
  run_id: string;
  task: string;
  status: string;
  created_at: string;
  finished_at: string | null;
  error_message?: string | null;
  session_id?: string | null;
  input_tokens?: number;
  output_tokens?: number;
  cost_usd?: number;
}

/** Everything recorded about one run. */
export interface TraceInput {
  run: TraceRun;
  events: RunLogEvent[];
  llmCalls: LlmCall[];
  toolEvents: ToolEvent[];
  subtasks?: SubtaskRow[];
}

/** Longest text kept in an attribute (arguments, results, errors). */
export const MAX_ATTRIBUTE_CHARS = 1000;

/** The trace id of a run: its id when that is 32 hex digits, else a hash of it. */
export function traceIdOf(runId: string): string {
  return /^[0-9a-f]{32}$/.test(runId) ? runId : hash(`trace|${runId}`).slice(0, 32);
}

/** A span id (16 hex digits) from the run and the span's key. */
export function spanIdOf(runId: string, key: string): string {
  return hash(`${runId}|${key}`).slice(0, 16);
}

function hash(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** A bounded text for an attribute. */
export function clip(value: unknown, max = MAX_ATTRIBUTE_CHARS): string {
  const text = typeof value === "string" ? value : JSON.stringify(value ?? null);
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`;
}

/** The `gen_ai.provider.name` of a Closed Claw provider. */
export function genAiProvider(provider: string): string {
  switch (provider) {
    case "claude":
      return "anthropic";
    case "gemini":
      return "gcp.gemini";
    case "openai-compatible":
      return "openai";
    default:
      return provider;
  }
}

const ms = (iso: string | null | undefined): number => (iso ? Date.parse(iso) : NaN);
const str = (v: unknown): string => (typeof v === "string" ? v : "");

interface Window {
  span: TraceSpan;
  taskId: string;
}

/** Builds every span of a run from its records. Pure: same input, same spans. */
export function buildTrace(input: TraceInput): RunTrace {
  const { run } = input;
  const runId = run.run_id;
  const traceId = traceIdOf(runId);
  const events = input.events.filter((e) => Number.isFinite(ms(e.ts)));
  const spans: TraceSpan[] = [];
  const byId = new Map<string, TraceSpan>();
  const used = new Map<string, number>();
  const make = (
    key: string,
    kind: SpanKind,
    name: string,
    parent: TraceSpan | null,
    start: number,
    end: number,
    attributes: Record<string, SpanValue> = {},
  ): TraceSpan => {
    // The same key twice (an attempt number reused after a resume) gets its own id.
    const seen = used.get(key) ?? 0;
    used.set(key, seen + 1);
    const span: TraceSpan = {
      trace_id: traceId,
      span_id: spanIdOf(runId, seen ? `${key}#${seen}` : key),
      parent_span_id: parent?.span_id ?? null,
      name,
      kind,
      start_ms: start,
      end_ms: Math.max(start, end),
      status: "unset",
      status_message: "",
      attributes,
    };
    spans.push(span);
    byId.set(span.span_id, span);
    return span;
  };

  const lastTs = events.length ? ms(events[events.length - 1].ts) : ms(run.created_at);
  const runStart = Math.min(ms(run.created_at), events.length ? ms(events[0].ts) : Infinity);
  const runEnd = run.status === "running"
    ? lastTs
    : Math.max(ms(run.finished_at) || lastTs, lastTs);
  const root = make("run", "run", "run", null, runStart, runEnd, {
    "closed_claw.run_id": runId,
    "closed_claw.task": clip(run.task, 500),
    "closed_claw.status": run.status,
    "gen_ai.operation.name": "invoke_workflow",
    "closed_claw.resumes": events.filter((e) => e.event === "run_resumed").length,
  });
  if (run.session_id) root.attributes["gen_ai.conversation.id"] = run.session_id;
  const resumed = events.filter((e) => e.event === "run_resumed").pop();
  if (resumed) root.attributes["closed_claw.resumed_at"] = resumed.ts;
  if (run.input_tokens !== undefined) {
    root.attributes["gen_ai.usage.input_tokens"] = run.input_tokens;
    root.attributes["gen_ai.usage.output_tokens"] = run.output_tokens ?? 0;
    root.attributes["closed_claw.cost_usd"] = run.cost_usd ?? 0;
  }
  setStatus(root, run.status, run.error_message ?? "");

  // Plans: one span per task_plan_created, from the previous boundary to the event.
  const plans: TraceSpan[] = [];
  let boundary = runStart;
  for (const e of events) {
    if (e.event === "run_resumed" || e.event === "task_ingested") boundary = ms(e.ts);
    if (e.event !== "task_plan_created") continue;
    const phase = str(e.payload.phase) || "plan";
    const span = make(`plan/${phase}`, "plan", `plan ${phase}`, root, ms(e.ts), ms(e.ts), {
      "closed_claw.phase": phase,
      "closed_claw.subtask_count": Number(e.payload.subtask_count ?? 0),
    });
    span.attributes["closed_claw.window_start_ms"] = boundary;
    span.status = "ok";
    plans.push(span);
    boundary = ms(e.ts);
  }

  // Subtasks: every task id that an event or a row names.
  const rows = new Map((input.subtasks ?? []).map((r) => [r.task_id, r]));
  const taskIds: string[] = [];
  const addTask = (id: string) => id && !taskIds.includes(id) && taskIds.push(id);
  for (const row of input.subtasks ?? []) addTask(row.task_id);
  for (const e of events) addTask(str(e.payload.task_id));
  const subtaskSpans = new Map<string, TraceSpan>();
  for (const taskId of taskIds) {
    const own = events.filter((e) => e.payload.task_id === taskId);
    const row = rows.get(taskId);
    const times = [...own.map((e) => ms(e.ts)), ms(row?.started_at), ms(row?.finished_at)]
      .filter(Number.isFinite);
    if (!times.length) continue;
    const span = make(
      `subtask/${taskId}`,
      "subtask",
      `subtask ${taskId}`,
      root,
      Math.min(...times),
      Math.max(...times),
      { "closed_claw.task_id": taskId },
    );
    if (row) {
      Object.assign(span.attributes, {
        "closed_claw.phase": row.phase,
        "closed_claw.title": clip(row.title, 200),
        "closed_claw.role_tag": row.role_tag,
        "closed_claw.attempts": row.attempts,
      });
      if (row.assigned_agent_id) span.attributes["gen_ai.agent.id"] = row.assigned_agent_id;
      setStatus(span, row.status, row.error ?? "");
    }
    subtaskSpans.set(taskId, span);
  }

  // Attempts: subtask_attempt_started until its succeeded/failed event (or the run's end).
  const attempts: (Window & { attempt: number; end: boolean })[] = [];
  for (const [i, e] of events.entries()) {
    if (e.event !== "subtask_attempt_started") continue;
    const taskId = str(e.payload.task_id);
    const parent = subtaskSpans.get(taskId);
    if (!parent) continue;
    const attempt = Number(e.payload.attempt ?? 0);
    const agentId = str(e.payload.agent_id);
    const close = events.slice(i + 1).find((x) =>
      (x.payload.task_id === taskId &&
        (x.event === "subtask_attempt_succeeded" || x.event === "subtask_attempt_failed") &&
        Number(x.payload.attempt ?? 0) === attempt) ||
      x.event === "run_finished" || x.event === "run_resumed"
    );
    const ended = close && close.event.startsWith("subtask_attempt_");
    const span = make(
      `attempt/${taskId}/${attempt}`,
      "attempt",
      `invoke_agent ${agentId || taskId}`,
      parent,
      ms(e.ts),
      close ? ms(close.ts) : lastTs,
      {
        "gen_ai.operation.name": "invoke_agent",
        "closed_claw.task_id": taskId,
        "closed_claw.attempt": attempt,
      },
    );
    if (agentId) span.attributes["gen_ai.agent.id"] = agentId;
    if (ended && close!.event === "subtask_attempt_succeeded") span.status = "ok";
    else if (ended) {
      span.status = "error";
      span.status_message = clip(str(close!.payload.error));
      span.attributes["error.type"] = errorType(str(close!.payload.error));
    } else if (run.status !== "running" || close) {
      span.status = "error";
      span.status_message = "interrupted";
    }
    attempts.push({ span, taskId, attempt, end: Boolean(ended) });
  }
  // An attempt that never ended (a crash, a run still going) holds what came after it, until
  // the subtask's next attempt.
  const until = (a: typeof attempts[number]) =>
    a.end
      ? a.span.end_ms + 1
      : (attempts.find((b) => b.taskId === a.taskId && b.span.start_ms > a.span.start_ms)?.span
        .start_ms ?? Infinity);
  const attemptAt = (taskId: string, t: number, attempt?: number) => {
    const fits = attempts.filter((a) =>
      a.taskId === taskId && (attempt === undefined || a.attempt === attempt)
    );
    return fits.find((a) => t >= a.span.start_ms && t <= until(a)) ??
      (attempt !== undefined ? fits[fits.length - 1] : undefined);
  };

  // Route: one span per routing_decision, from its task_embedded to the agent it settled on.
  const routes: Window[] = [];
  for (const [i, e] of events.entries()) {
    if (e.event !== "routing_decision") continue;
    const taskId = str(e.payload.task_id);
    const parent = subtaskSpans.get(taskId);
    if (!parent) continue;
    const before = events.slice(0, i).reverse().find((x) =>
      x.payload.task_id === taskId && x.event === "task_embedded"
    );
    const after = events.slice(i + 1).find((x) =>
      x.payload.task_id === taskId &&
      (x.event === "agent_created_for_role" || x.event === "agent_reused_for_role" ||
        x.event === "subtask_attempt_started" || x.event === "subtask_attempt_failed")
    );
    const settled = after && after.event.startsWith("agent_") ? after : null;
    const span = make(
      `route/${taskId}`,
      "route",
      `route ${taskId}`,
      parent,
      ms((before ?? e).ts),
      ms((settled ?? e).ts),
      {
        "closed_claw.task_id": taskId,
        "closed_claw.decision": str(e.payload.decision),
        "closed_claw.rerank_method": str(e.payload.rerank_method),
        "closed_claw.effective_score": Number(e.payload.effective_score ?? 0),
      },
    );
    const agentId = str(settled?.payload.agent_id) || str(e.payload.chosen);
    if (agentId) span.attributes["gen_ai.agent.id"] = agentId;
    span.status = "ok";
    routes.push({ span, taskId });
  }

  // Approval waits: approval_request until approval_resolved.
  for (const [i, e] of events.entries()) {
    if (e.event !== "approval_request") continue;
    const id = str(e.payload.approval_id);
    const request = (e.payload.request ?? {}) as Record<string, unknown>;
    const taskId = str(request.task_id);
    const resolved = events.slice(i + 1).find((x) =>
      x.event === "approval_resolved" && x.payload.approval_id === id
    );
    const t = ms(e.ts);
    const parent = routes.find((r) =>
      r.taskId === taskId && t >= r.span.start_ms && t <= r.span.end_ms
    )?.span ?? attemptAt(taskId, t)?.span ?? subtaskSpans.get(taskId) ?? root;
    const span = make(
      `approval/${id}`,
      "approval",
      `approval ${str(e.payload.kind)}`,
      parent,
      t,
      resolved ? ms(resolved.ts) : lastTs,
      { "closed_claw.approval_id": id, "closed_claw.approval_kind": str(e.payload.kind) },
    );
    if (taskId) span.attributes["closed_claw.task_id"] = taskId;
    if (resolved) {
      const approved = resolved.payload.approved === true;
      span.attributes["closed_claw.approved"] = approved;
      span.attributes["closed_claw.operator"] = str(resolved.payload.operator);
      span.status = approved ? "ok" : "error";
      if (!approved) span.status_message = clip(str(resolved.payload.note) || "denied");
    }
  }

  // Capsule start: from the attempt's start until the capsule said it was up.
  for (const e of events) {
    if (e.event !== "capsule_started") continue;
    const taskId = str(e.payload.task_id);
    const attempt = attemptAt(taskId, ms(e.ts));
    if (!attempt) continue;
    const span = make(
      `capsule/${taskId}/${attempt.attempt}`,
      "capsule_start",
      "capsule_start",
      attempt.span,
      attempt.span.start_ms,
      ms(e.ts),
      {
        "closed_claw.task_id": taskId,
        "closed_claw.sandbox": str(e.payload.sandbox),
        "closed_claw.spawn_ms": Number(e.payload.spawn_ms ?? 0),
      },
    );
    if (str(e.payload.agent_id)) span.attributes["gen_ai.agent.id"] = str(e.payload.agent_id);
    span.status = "ok";
  }

  // Validation: the judge's calls of an attempt up to its verdict.
  const validations: (Window & { from: number })[] = [];
  for (const e of events) {
    if (e.event !== "subtask_verdict") continue;
    const taskId = str(e.payload.task_id);
    const attempt = attemptAt(taskId, ms(e.ts), Number(e.payload.attempt ?? 0));
    if (!attempt) continue;
    const span = make(
      `validation/${taskId}/${attempt.attempt}`,
      "validation",
      "validation",
      attempt.span,
      ms(e.ts),
      ms(e.ts),
      { "closed_claw.task_id": taskId, "closed_claw.passed": e.payload.passed === true },
    );
    span.status = e.payload.passed === true ? "ok" : "error";
    if (e.payload.passed !== true) span.status_message = "acceptance criteria not met";
    validations.push({ span, taskId, from: attempt.span.start_ms });
  }

  // Synthesis: its call (if any) up to synthesis_complete.
  let synthesis: TraceSpan | null = null;
  for (const e of events) {
    if (e.event !== "synthesis_complete") continue;
    synthesis = make("synthesis", "synthesis", "synthesis", root, ms(e.ts), ms(e.ts), {
      "closed_claw.llm_synthesized": e.payload.llm_synthesized === true,
    });
    if (str(e.payload.reason)) synthesis.attributes["closed_claw.reason"] = str(e.payload.reason);
    synthesis.status = "ok";
  }

  // Model calls: each under the span whose work it was.
  for (const call of input.llmCalls) {
    const end = ms(call.created_at);
    const start = end - (call.latency_ms || 0);
    const taskId = call.task_id ?? "";
    let parent: TraceSpan | null = null;
    if (call.purpose === "synthesize" && synthesis) parent = synthesis;
    else if (call.purpose === "plan" || call.purpose === "classify") {
      parent = plans.find((p) => end <= p.end_ms + 1 && start >= windowStart(p) - 1) ?? null;
    } else if (taskId) {
      if (call.purpose === "judge") {
        parent = validations.find((v) =>
          v.taskId === taskId && end <= v.span.end_ms + 1 && end >= v.from
        )?.span ?? null;
      }
      if (!parent && (call.purpose === "profile" || call.purpose === "rerank")) {
        parent = routes.find((r) =>
          r.taskId === taskId && end >= r.span.start_ms - 1 &&
          end <= r.span.end_ms + 1
        )?.span ?? null;
        // The profile is asked after the routing decision, before the agent is created.
        parent ??= routes.filter((r) => r.taskId === taskId && r.span.start_ms <= end + 1)
          .pop()?.span ?? null;
      }
      parent ??= attemptAt(taskId, end)?.span ?? subtaskSpans.get(taskId) ?? null;
    }
    parent ??= root;
    const span = make(
      `llm/${call.id}`,
      "chat",
      `chat ${call.model}`,
      parent,
      start,
      end,
      {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": genAiProvider(call.provider),
        "gen_ai.system": genAiProvider(call.provider),
        "gen_ai.request.model": call.model,
        "gen_ai.usage.input_tokens": call.input_tokens,
        "gen_ai.usage.output_tokens": call.output_tokens,
        "closed_claw.cost_usd": call.cost_usd,
        "closed_claw.purpose": call.purpose,
      },
    );
    if (call.cached_input_tokens) {
      span.attributes["gen_ai.usage.cache_read.input_tokens"] = call.cached_input_tokens;
    }
    if (taskId) span.attributes["closed_claw.task_id"] = taskId;
    if (call.agent_id) span.attributes["gen_ai.agent.id"] = call.agent_id;
    if (call.outcome === "ok") span.status = "ok";
    else {
      span.status = "error";
      span.status_message = clip(call.error || call.outcome);
      span.attributes["error.type"] = call.outcome;
    }
    widen(span, byId);
  }

  // Tool calls: under their attempt.
  for (const tool of input.toolEvents) {
    const end = ms(tool.created_at);
    const start = end - (tool.latency_ms ?? 0);
    const taskId = tool.task_id ?? "";
    const parent = (taskId && attemptAt(taskId, end, tool.attempt ?? undefined)?.span) ||
      subtaskSpans.get(taskId) || root;
    const span = make(
      `tool/${tool.id}`,
      "execute_tool",
      `execute_tool ${tool.tool}`,
      parent,
      start,
      end,
      {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": tool.tool,
        "gen_ai.tool.type": "function",
        "gen_ai.tool.call.arguments": clip(tool.args),
        "gen_ai.tool.call.result": clip(tool.result),
        "closed_claw.allowed": tool.allowed,
        "closed_claw.reason": clip(tool.reason, 300),
      },
    );
    if (taskId) span.attributes["closed_claw.task_id"] = taskId;
    if (tool.agent_id) span.attributes["gen_ai.agent.id"] = tool.agent_id;
    if (tool.attempt !== null) span.attributes["closed_claw.attempt"] = tool.attempt;
    if (tool.ok) span.status = "ok";
    else {
      span.status = "error";
      span.status_message = clip(tool.error || "failed");
      span.attributes["error.type"] = tool.allowed ? errorType(tool.error) : "refused";
    }
    widen(span, byId);
  }

  for (const p of plans) delete p.attributes["closed_claw.window_start_ms"];
  const [first, ...rest] = spans;
  rest.sort((a, b) => a.start_ms - b.start_ms);
  return { trace_id: traceId, run_id: runId, spans: [first, ...rest] };
}

function windowStart(plan: TraceSpan): number {
  return Number(plan.attributes["closed_claw.window_start_ms"] ?? plan.start_ms);
}

/** Parents start no later and end no earlier than their children. */
function widen(child: TraceSpan, byId: Map<string, TraceSpan>): void {
  let parent = child.parent_span_id ? byId.get(child.parent_span_id) : undefined;
  while (parent) {
    parent.start_ms = Math.min(parent.start_ms, child.start_ms);
    parent.end_ms = Math.max(parent.end_ms, child.end_ms);
    child = parent;
    parent = child.parent_span_id ? byId.get(child.parent_span_id) : undefined;
  }
}

function setStatus(span: TraceSpan, status: string, error: string): void {
  if (status === "ok" || status === "completed") span.status = "ok";
  else if (["running", "pending", "waiting", "in_progress"].includes(status)) {
    span.status = "unset";
  } else {
    span.status = "error";
    span.status_message = clip(error || status);
    span.attributes["error.type"] = errorType(error) || status;
  }
}

/** A low-cardinality error kind: the `code:` prefix of a failure text, when it has one. */
function errorType(error: string): string {
  const code = /^([a-z_]+):/.exec(error)?.[1];
  return code ?? (error ? "error" : "");
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
