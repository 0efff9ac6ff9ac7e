/**
 * The shapes of a run's trace (spans, their kinds and values, what a trace is
 * built from) and the helpers for ids and bounded attribute text.
 */
import { sha256Hex } from "../core/sha256.ts";
import type { LlmCall, ToolEvent } from "../store/events_repos.ts";
import type { SubtaskRow } from "../store/subtasks_repo.ts";
import type { RunLogEvent } from "./run_log.ts";
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
  return sha256Hex(new TextEncoder().encode(text));
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

/** Epoch milliseconds of an ISO time (NaN when absent). */
export function epochMs(iso: string | null | undefined): number {
  return iso ? Date.parse(iso) : NaN;
}

/** A low-cardinality error kind: the `code:` prefix of a failure text, when it has one. */
export function errorType(error: string): string {
  const code = /^([a-z_]+):/.exec(error)?.[1];
  return code ?? (error ? "error" : "");
}
