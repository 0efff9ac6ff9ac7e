/**
 * `openai`, `openai-compatible` and `ollama`: OpenAI's Chat Completions API
 * (`POST {baseUrl}/chat/completions`) called with plain `fetch`. The bodies
 * are the ones @langchain/openai's ChatOpenAI sent before it was replaced
 * (same keys, same order), without its per-call overhead. Structured output is
 * sent natively as `response_format: json_schema` (strict when the schema
 * allows it). Native tools are sent as `tools` of type `function` (their JSON
 * Schema unchanged, strict when it allows it); prompt caching is automatic on
 * OpenAI's side, and the cached part of the prompt is read back as
 * `cachedInputTokens`. OpenAI's Responses-only models (codex, the `-pro`
 * ones) are called through its Responses API instead (openai_responses.ts).
 */
import { PROVIDER_INFO, type ProviderConfig } from "../provider_config.ts";
import type {
  ChatMessage,
  CompletionRequest,
  CompletionResponse,
  OutputSchema,
  ProviderClient,
  ToolCall,
  ToolDeclaration,
} from "../types.ts";
import { toLlmError } from "./_errors.ts";
import { wireSchema } from "./_schema.ts";
import { postJson } from "./openai_http.ts";
import { readResponsesReply, responsesBody, usesResponsesApi } from "./openai_responses.ts";
import {
  callId,
  isReasoningModel,
  isStrictCompatible,
  malformedReply,
  parseToolArgs,
  readUsage,
  refuseCutReply,
} from "./_openai_common.ts";

export { isStrictCompatible, parseToolArgs } from "./_openai_common.ts";

/** The `response_format` for a schema. */
function responseFormat(schema: OutputSchema) {
  return {
    type: "json_schema" as const,
    json_schema: {
      name: schema.name,
      description: schema.description,
      schema: wireSchema(schema),
      strict: isStrictCompatible(schema.jsonSchema),
    },
  };
}

/** A tool as an OpenAI function tool: its schema sent as given, strict only when it allows. */
function functionTool(tool: ToolDeclaration) {
  return {
    type: "function" as const,
    function: {
      name: tool.name,
      description: tool.description,
      parameters: tool.parameters,
      ...(isStrictCompatible(tool.parameters) ? { strict: true } : {}),
    },
  };
}

/**
 * A message on the wire: assistant tool calls carry their ids and JSON-text
 * arguments, a tool result names the call it answers by `tool_call_id`.
 */
function wireMessage(m: ChatMessage, reasoning: boolean) {
  switch (m.role) {
    case "system":
      return { role: reasoning ? "developer" : "system", content: m.content };
    case "user":
      return { role: "user", content: m.content };
    case "assistant":
      return m.toolCalls?.length
        ? {
          role: "assistant",
          content: m.content,
          tool_calls: m.toolCalls.map((c) => ({
            id: c.id,
            type: "function",
            function: { name: c.name, arguments: JSON.stringify(c.args) },
          })),
        }
        : { role: "assistant", content: m.content };
    case "tool":
      // No `name`: OpenAI's tool messages have none, and strict servers refuse it.
      return { role: "tool", content: m.content, tool_call_id: m.toolCallId ?? "" };
  }
}

/**
 * The Chat Completions body. Keys in ChatOpenAI's order; unset ones are
 * `undefined` and so left out by JSON.stringify. Tools are not sent with a
 * schema (the request type says they are not combined).
 */
function requestBody(model: string, request: CompletionRequest) {
  const reasoning = isReasoningModel(model);
  const maxTokens = request.maxTokens === -1 ? undefined : request.maxTokens; // -1: no cap
  return {
    model,
    temperature: request.temperature,
    stream: false,
    tools: !request.schema && request.tools?.length ? request.tools.map(functionTool) : undefined,
    response_format: request.schema ? responseFormat(request.schema) : undefined,
    [reasoning ? "max_completion_tokens" : "max_tokens"]: maxTokens,
    messages: request.messages.map((m) => wireMessage(m, reasoning)),
  };
}

/** A tool call as the wire has it: `function.arguments` is JSON text. */
interface RawToolCall {
  id?: unknown;
  function?: { name?: unknown; arguments?: unknown };
}

/** The reply's tool calls, in the order the model made them (ids generated where missing). */
function readToolCalls(raw: unknown): ToolCall[] {
  if (!Array.isArray(raw)) return [];
  return (raw as RawToolCall[]).filter((c) => c?.function).map((c) => ({
    id: callId(c.id),
    name: String(c.function?.name ?? ""),
    ...parseToolArgs(c.function?.arguments),
  }));
}

/** The parts of a Chat Completions reply that are read. */
interface ChatCompletion {
  model?: unknown;
  choices?: {
    message?: { content?: unknown; tool_calls?: unknown } | null;
    finish_reason?: unknown;
  }[];
  usage?: {
    prompt_tokens?: unknown;
    completion_tokens?: unknown;
    prompt_tokens_details?: { cached_tokens?: unknown } | null;
  } | null;
}

/** The first choice of `reply` as a CompletionResponse; a reply without one is `malformed`. */
function readReply(
  reply: unknown,
  request: CompletionRequest,
  config: ProviderConfig,
): CompletionResponse {
  const { model, choices, usage } = (reply ?? {}) as ChatCompletion;
  const choice = Array.isArray(choices) ? choices[0] : undefined;
  if (!choice || typeof choice !== "object") {
    throw malformedReply(config, "the reply has no choices[0]");
  }
  const finish = typeof choice.finish_reason === "string" && choice.finish_reason
    ? choice.finish_reason
    : undefined;
  const used = readUsage(
    usage?.prompt_tokens,
    usage?.completion_tokens,
    usage?.prompt_tokens_details?.cached_tokens,
  );
  refuseCutReply(config, request, finish, used);
  const message = choice.message ?? {};
  const toolCalls = readToolCalls(message.tool_calls);
  // A refusal comes with null content: the text is then "" (the refusal is not read).
  return {
    text: typeof message.content === "string" ? message.content : "",
    ...(toolCalls.length ? { toolCalls } : {}),
    usage: used,
    model: typeof model === "string" ? model : config.model,
    finishReason: finish,
  };
}

/** Which of OpenAI's two APIs `config` calls: the path, the body for a request, the reply reader. */
function wireApi(config: ProviderConfig) {
  return usesResponsesApi(config)
    ? { path: "/responses", body: responsesBody, read: readResponsesReply }
    : { path: "/chat/completions", body: requestBody, read: readReply };
}

/** A ProviderClient for OpenAI (Chat Completions or Responses) and servers that speak Chat Completions. */
export function createOpenAiClient(config: ProviderConfig): ProviderClient {
  const baseUrl = config.baseUrl || PROVIDER_INFO.openai.defaultBaseUrl;
  const api = wireApi(config);
  const url = `${baseUrl.replace(/\/+$/, "")}${api.path}`;
  // Always a bearer header, as before (the SDK refused an empty key); Ollama ignores it.
  const apiKey = config.apiKey || "not-needed";
  return {
    provider: config.provider,
    model: config.model,
    async complete(request: CompletionRequest): Promise<CompletionResponse> {
      try {
        const reply = await postJson(url, apiKey, api.body(config.model, request), request.signal);
        return api.read(reply, request, config);
      } catch (error) {
        throw toLlmError(error, config);
      }
    },
  };
}
