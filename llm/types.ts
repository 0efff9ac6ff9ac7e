/**
 * The one interface every model call goes through. Providers turn a
 * `CompletionRequest` into their SDK's call and back; the service around them
 * adds retries, the circuit breaker, budgets, accounting and record/replay.
 */
import type { ProviderName } from "../core/settings.ts";

export type Role = "system" | "user" | "assistant" | "tool";

/** A tool call the model asked for in a native tool-calling reply. */
export interface ToolCall {
  /** The provider's id for the call (generated when the provider has none, e.g. Gemini). */
  id: string;
  name: string;
  /** The call's arguments; `{}` when they could not be read (see `argsError`). */
  args: Record<string, unknown>;
  /**
   * Set when the model's arguments were not a JSON object (invalid JSON, or
   * JSON of another type): says what was wrong and quotes the raw text, so the
   * loop can tell the model instead of running the tool with `args` (then `{}`).
   */
  argsError?: string;
}

/**
 * One conversation turn. Native tool calling adds two shapes: an assistant
 * turn that carries `toolCalls`, and a `tool` turn with the result of one of
 * them (`toolCallId` and `name` say which).
 */
export interface ChatMessage {
  role: Role;
  content: string;
  /** assistant: the tool calls this turn made (its `content` may be ""). */
  toolCalls?: ToolCall[];
  /** tool: the id of the call this result answers. */
  toolCallId?: string;
  /** tool: the name of the tool that answered (Gemini matches results by name). */
  name?: string;
}

/** A tool the model may call natively: its name, what it does, its arguments' JSON Schema. */
export interface ToolDeclaration {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** A JSON Schema the reply must satisfy (sent natively to the provider). */
export interface OutputSchema {
  /** A short identifier: letters, digits, `_` and `-` (OpenAI and Anthropic require it). */
  name: string;
  description?: string;
  /** A JSON Schema object, e.g. from `z.toJSONSchema(schema)`. */
  jsonSchema: Record<string, unknown>;
}

export interface CompletionRequest {
  messages: ChatMessage[];
  /** When set, the provider is asked for JSON matching this schema. */
  schema?: OutputSchema;
  /**
   * Tools the model may call natively. The reply then holds `toolCalls` or a
   * plain answer. Not combined with `schema`.
   */
  tools?: ToolDeclaration[];
  /**
   * How many leading system messages form the stable prefix (the same on every
   * step of a run): providers with explicit caching (Anthropic) mark its end
   * and the conversation's end as cache breakpoints. Automatic prefix caches
   * (OpenAI, Gemini) need only the order: stable parts first.
   */
  cachePrefix?: number;
  temperature?: number;
  maxTokens?: number;
  signal?: AbortSignal;
}

export interface Usage {
  /** All input tokens, cached ones included. */
  inputTokens: number;
  outputTokens: number;
  /** Of `inputTokens`, how many were read from the provider's prompt cache (cheaper). */
  cachedInputTokens?: number;
  /** Of `inputTokens`, how many were written to the prompt cache (Anthropic bills them higher). */
  cacheWriteTokens?: number;
}

export interface CompletionResponse {
  /** The reply text; with a schema, the JSON text of the structured reply. */
  text: string;
  /** Native tool calls the reply asked for (only when the request declared `tools`). */
  toolCalls?: ToolCall[];
  usage: Usage;
  /** The model that answered, as the provider reports it. */
  model: string;
  /** Why generation stopped, as the provider reports it (e.g. `stop`, `length`). */
  finishReason?: string;
  /** What the call cost in USD (set by the service; 0 for unpriced or local models). */
  costUsd?: number;
}

/** One provider behind the common interface. */
export interface ProviderClient {
  readonly provider: ProviderName;
  readonly model: string;
  complete(request: CompletionRequest): Promise<CompletionResponse>;
}

/** Who a call is for, so it can be accounted and budgeted. */
export interface CallMeta {
  runId?: string;
  taskId?: string;
  agentId?: string;
  /** e.g. `classify`, `plan`, `profile`, `rerank`, `agent_step`, `judge`, `synthesize`. */
  purpose: string;
}

/** A structured reply: the validated value plus the raw response it came from. */
export interface StructuredResult<T> {
  value: T;
  response: CompletionResponse;
}

/**
 * What the rest of the product calls (coordinator, capsule hooks, setup):
 * one configured provider wrapped with retries, the circuit breaker, budgets,
 * accounting in llm_calls, and record/replay. Built by `createLlmService`
 * in llm/service.ts.
 */
export interface LlmService {
  readonly provider: ProviderName;
  readonly model: string;
  /** Free text (or JSON text when `request.schema` is set; not validated). */
  complete(request: CompletionRequest, meta: CallMeta): Promise<CompletionResponse>;
  /**
   * A reply validated by a zod schema (sent natively as JSON Schema). One
   * repair retry shows the model the validation error; after that an
   * `LlmError` of kind `invalid_output` that keeps the raw text.
   */
  structured<T>(
    schema: import("zod").ZodType<T>,
    request: Omit<CompletionRequest, "schema"> & { schemaName: string; schemaDescription?: string },
    meta: CallMeta,
  ): Promise<StructuredResult<T>>;
  /** Tokens and cost spent so far by a run (from llm_calls). */
  runUsage(runId: string): { inputTokens: number; outputTokens: number; costUsd: number };
}
