/**
 * Model and tool calls in a run's trace: each becomes a `chat` or
 * `execute_tool` span under the span whose work it was (the plan, a route,
 * a validation, an attempt), found by its purpose, subtask and time; its
 * parents widen to hold it.
 */
import type { LlmCall, ToolEvent } from "../store/events_repos.ts";
import {
  clip,
  epochMs,
  errorType,
  genAiProvider,
  type SpanKind,
  type SpanValue,
  type TraceSpan,
} from "./trace_model.ts";

/** A span that holds work of one subtask for a while (a route, an attempt, a validation). */
export interface Window {
  span: TraceSpan;
  taskId: string;
}

/** What the calls need of the spans built before them. */
export interface SpanPlaces {
  readonly root: TraceSpan;
  readonly plans: readonly TraceSpan[];
  readonly routes: readonly Window[];
  readonly validations: readonly (Window & { from: number })[];
  readonly synthesis: TraceSpan | null;
  readonly subtaskSpans: ReadonlyMap<string, TraceSpan>;
  readonly byId: ReadonlyMap<string, TraceSpan>;
  attemptAt(taskId: string, t: number, attempt?: number): Window | undefined;
  make(
    key: string,
    kind: SpanKind,
    name: string,
    parent: TraceSpan | null,
    start: number,
    end: number,
    attributes?: Record<string, SpanValue>,
  ): TraceSpan;
}

/** Where a plan's calls may start: the boundary before it (a resume, the task's arrival). */
export const WINDOW_START = "closed_claw.window_start_ms";

function windowStart(plan: TraceSpan): number {
  return Number(plan.attributes[WINDOW_START] ?? plan.start_ms);
}

/** The span a model call belongs under, by its purpose, subtask and time. */
function modelCallParent(at: SpanPlaces, call: LlmCall, start: number, end: number): TraceSpan {
  const taskId = call.task_id ?? "";
  const within = (w: Window) => end >= w.span.start_ms - 1 && end <= w.span.end_ms + 1;
  if (call.purpose === "synthesize" && at.synthesis) return at.synthesis;
  if (call.purpose === "plan" || call.purpose === "classify") {
    return at.plans.find((p) => end <= p.end_ms + 1 && start >= windowStart(p) - 1) ?? at.root;
  }
  if (!taskId) return at.root;
  let parent: TraceSpan | undefined;
  if (call.purpose === "judge") {
    parent = at.validations.find((v) =>
      v.taskId === taskId && end <= v.span.end_ms + 1 && end >= v.from
    )?.span;
  }
  if (!parent && (call.purpose === "profile" || call.purpose === "rerank")) {
    parent = at.routes.find((r) => r.taskId === taskId && within(r))?.span ??
      // The profile is asked after the routing decision, before the agent is created.
      at.routes.filter((r) => r.taskId === taskId && r.span.start_ms <= end + 1).pop()?.span;
  }
  return parent ?? at.attemptAt(taskId, end)?.span ?? at.subtaskSpans.get(taskId) ?? at.root;
}

/** A model call as a `chat <model>` span with the GenAI attributes. */
export function addModelCall(at: SpanPlaces, call: LlmCall): void {
  const end = epochMs(call.created_at);
  const start = end - (call.latency_ms || 0);
  const span = at.make(
    `llm/${call.id}`,
    "chat",
    `chat ${call.model}`,
    modelCallParent(at, call, start, end),
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
  if (call.task_id) span.attributes["closed_claw.task_id"] = call.task_id;
  if (call.agent_id) span.attributes["gen_ai.agent.id"] = call.agent_id;
  if (call.outcome === "ok") span.status = "ok";
  else {
    span.status = "error";
    span.status_message = clip(call.error || call.outcome);
    span.attributes["error.type"] = call.outcome;
  }
  widen(span, at.byId);
}

/** A tool call as an `execute_tool <tool>` span under its attempt. */
export function addToolCall(at: SpanPlaces, tool: ToolEvent): void {
  const end = epochMs(tool.created_at);
  const start = end - (tool.latency_ms ?? 0);
  const taskId = tool.task_id ?? "";
  const parent = (taskId && at.attemptAt(taskId, end, tool.attempt ?? undefined)?.span) ||
    at.subtaskSpans.get(taskId) || at.root;
  const span = at.make(
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
  widen(span, at.byId);
}

/** Parents start no later and end no earlier than their children. */
function widen(child: TraceSpan, byId: ReadonlyMap<string, TraceSpan>): void {
  let parent = child.parent_span_id ? byId.get(child.parent_span_id) : undefined;
  while (parent) {
    parent.start_ms = Math.min(parent.start_ms, child.start_ms);
    parent.end_ms = Math.max(parent.end_ms, child.end_ms);
    child = parent;
    parent = child.parent_span_id ? byId.get(child.parent_span_id) : undefined;
  }
}
