/**
 * OpenAI's Responses API (`POST {baseUrl}/responses`) for the models OpenAI
 * serves only there (codex, the `-pro` models) or that @langchain/openai 1.6
 * sent there (gpt-5.6): the request body and the reading of its reply, with
 * the same `CompletionRequest` / `CompletionResponse` meaning as the Chat
 * Completions path in openai.ts (which makes the HTTP call and maps errors).
 *
 * The input items are the ones ChatOpenAI's Responses converter built (same
 * keys, same order). Where this differs from what it sent: `store: false` (no
 * server-side state: every call sends the whole conversation), no
 * `temperature` (these are all reasoning models, which refuse it), each
 * tool's `strict` said from its schema (ChatOpenAI sent `null`; left unsaid,
 * Responses makes a schema strict, turning its optional fields mandatory), no
 * `text` without a schema (ChatOpenAI sent an empty one) and no empty
 * assistant message before a turn's tool calls.
 */
import type { ProviderConfig } from "../provider_config.ts";
import { LlmError } from "../errors.ts";
import type {
  ChatMessage,
  CompletionRequest,
  CompletionResponse,
  OutputSchema,
  ToolCall,
  ToolDeclaration,
} from "../types.ts";
import { wireSchema } from "./_schema.ts";
import {
  callId,
  isReasoningModel,
  isStrictCompatible,
  malformedReply,
  parseToolArgs,
  readUsage,
  refuseCutReply,
} from "./_openai_common.ts";

/**
 * Model names OpenAI serves only through the Responses API: the ones
 * @langchain/openai 1.6 sent there (`_modelPrefersResponsesAPI`), plus the
 * older `-pro` models the openai SDK lists as Responses-only models.
 */
const RESPONSES_MODELS = [
  "gpt-5.2-pro",
  "gpt-5.4-pro",
  "gpt-5.5-pro",
  "gpt-5.6",
  "codex",
  "o1-pro",
  "o3-pro",
  "gpt-5-pro",
];

/**
 * Whether `config` calls the Responses API: OpenAI itself with one of those
 * models. Other servers (openai-compatible, Ollama) always get Chat
 * Completions, which is what they speak.
 */
export function usesResponsesApi(config: ProviderConfig): boolean {
  return config.provider === "openai" &&
    RESPONSES_MODELS.some((name) => config.model.includes(name));
}

/** A tool as a Responses function tool: flat, `strict` always said (unsaid, Responses forces it). */
function functionTool(tool: ToolDeclaration) {
  return {
    type: "function" as const,
    name: tool.name,
    description: tool.description,
    parameters: tool.parameters,
    strict: isStrictCompatible(tool.parameters),
  };
}

/** The `text` setting that asks for JSON matching `schema`. */
function textFormat(schema: OutputSchema) {
  return {
    format: {
      type: "json_schema" as const,
      name: schema.name,
      description: schema.description,
      schema: wireSchema(schema),
      strict: isStrictCompatible(schema.jsonSchema),
    },
  };
}

/** An assistant turn: its text (when it has any) then one `function_call` item per call. */
function assistantItems(m: ChatMessage): unknown[] {
  const text = m.content || !m.toolCalls?.length
    ? [{ type: "message", role: "assistant", content: m.content }]
    : [];
  const calls = (m.toolCalls ?? []).map((c) => ({
    type: "function_call",
    name: c.name,
    arguments: JSON.stringify(c.args),
    call_id: c.id,
  }));
  return [...text, ...calls];
}

/**
 * A message as Responses input items. System text stays a message (a
 * `developer` one for reasoning models), as ChatOpenAI sent it, rather than
 * `instructions`, so several system messages keep their places.
 */
function inputItems(m: ChatMessage, reasoning: boolean): unknown[] {
  switch (m.role) {
    case "system":
      return [{ type: "message", role: reasoning ? "developer" : "system", content: m.content }];
    case "user":
      return [{ type: "message", role: "user", content: m.content }];
    case "assistant":
      return assistantItems(m);
    case "tool":
      return [{ type: "function_call_output", call_id: m.toolCallId ?? "", output: m.content }];
  }
}

/**
 * The Responses body, keys in ChatOpenAI's order; unset ones are `undefined`
 * and so left out by JSON.stringify. Tools are not sent with a schema.
 */
export function responsesBody(model: string, request: CompletionRequest) {
  const reasoning = isReasoningModel(model);
  return {
    input: request.messages.flatMap((m) => inputItems(m, reasoning)),
    model,
    // No `temperature`: every model sent here is a reasoning model, and OpenAI refuses it for them.
    stream: false,
    tools: !request.schema && request.tools?.length ? request.tools.map(functionTool) : undefined,
    text: request.schema ? textFormat(request.schema) : undefined,
    max_output_tokens: request.maxTokens === -1 ? undefined : request.maxTokens, // -1: no cap
    store: false,
  };
}

/** An output item of a reply: the fields of `message` and `function_call` items that are read. */
interface OutputItem {
  type?: unknown;
  content?: { type?: unknown; text?: unknown }[] | null;
  call_id?: unknown;
  name?: unknown;
  arguments?: unknown;
}

/** The parts of a Responses reply that are read. */
interface ResponsesReply {
  model?: unknown;
  status?: unknown;
  error?: { message?: unknown } | null;
  incomplete_details?: { reason?: unknown } | null;
  output?: unknown;
  usage?: {
    input_tokens?: unknown;
    output_tokens?: unknown;
    input_tokens_details?: { cached_tokens?: unknown } | null;
  } | null;
}

/** The `output_text` parts of every `message` item, joined (refusals are not read, as on Chat Completions). */
function outputText(items: OutputItem[]): string {
  return items
    .filter((item) => item?.type === "message" && Array.isArray(item.content))
    .flatMap((item) => item.content ?? [])
    .filter((part) => part?.type === "output_text" && typeof part.text === "string")
    .map((part) => part.text as string)
    .join("");
}

/** The `function_call` items as tool calls, in order (ids generated where missing). */
function functionCalls(items: OutputItem[]): ToolCall[] {
  return items.filter((item) => item?.type === "function_call").map((item) => ({
    id: callId(item.call_id),
    name: String(item.name ?? ""),
    ...parseToolArgs(item.arguments),
  }));
}

/** Chat Completions' `finish_reason` for the reply's `incomplete_details.reason`. */
const INCOMPLETE_FINISH: Record<string, string> = {
  max_output_tokens: "length",
  content_filter: "content_filter",
};

/**
 * The reply's status as the `finish_reason` Chat Completions would give: a
 * cut reply `length` or `content_filter`, a whole one `stop`, or
 * `tool_calls` when it asks for calls.
 */
function finishReason(reply: ResponsesReply, hasCalls: boolean): string | undefined {
  if (reply.status === "incomplete") {
    const reason = reply.incomplete_details?.reason;
    return typeof reason === "string" ? INCOMPLETE_FINISH[reason] ?? reason : "incomplete";
  }
  if (reply.status === "completed") return hasCalls ? "tool_calls" : "stop";
  return typeof reply.status === "string" && reply.status ? reply.status : undefined;
}

/**
 * `reply` as a CompletionResponse. A reply without an `output` list is
 * `malformed`, as is a schema reply cut short; one that says the response
 * failed is a `server_error` (retried like a 5xx).
 */
export function readResponsesReply(
  reply: unknown,
  request: CompletionRequest,
  config: ProviderConfig,
): CompletionResponse {
  const body = (reply ?? {}) as ResponsesReply;
  const { usage } = body;
  const used = readUsage(
    usage?.input_tokens,
    usage?.output_tokens,
    usage?.input_tokens_details?.cached_tokens,
  );
  if (body.error) {
    const detail = typeof body.error.message === "string" ? body.error.message : "no message";
    throw new LlmError("server_error", config.provider, `${config.provider} failed: ${detail}`, {
      usage: used, // whatever a failed response used before it failed is billed too
    });
  }
  if (!Array.isArray(body.output)) throw malformedReply(config, "the reply has no output list");
  const items = body.output as OutputItem[];
  const toolCalls = functionCalls(items);
  const finish = finishReason(body, toolCalls.length > 0);
  refuseCutReply(config, request, finish, used);
  return {
    text: outputText(items),
    ...(toolCalls.length ? { toolCalls } : {}),
    usage: used,
    model: typeof body.model === "string" ? body.model : config.model,
    finishReason: finish,
  };
}
