/**
 * `openai`, `openai-compatible` and `ollama`: OpenAI's Chat Completions API
 * (`POST {baseUrl}/chat/completions`) called with plain `fetch`. The bodies
 * are the ones @langchain/openai's ChatOpenAI sent before it was replaced
 * (same keys, same order), without its per-call overhead. Structured output is
 * sent natively as `response_format: json_schema` (strict when the schema
 * allows it). Native tools are sent as `tools` of type `function` (their JSON
 * Schema unchanged, strict when it allows it); prompt caching is automatic on
 * OpenAI's side, and the cached part of the prompt is read back as
 * `cachedInputTokens`.
 */
import { PROVIDER_INFO, type ProviderConfig } from "../provider_config.ts";
import { LlmError } from "../errors.ts";
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

/**
 * OpenAI's strict mode needs every object closed and every property required;
 * schemas with optional fields are sent non-strict instead of being refused.
 */
export function isStrictCompatible(schema: unknown): boolean {
  if (Array.isArray(schema)) return schema.every(isStrictCompatible);
  if (!schema || typeof schema !== "object") return true;
  const node = schema as Record<string, unknown>;
  if (node.type === "object" && node.properties && typeof node.properties === "object") {
    const keys = Object.keys(node.properties);
    const required = Array.isArray(node.required) ? node.required : [];
    if (node.additionalProperties !== false) return false;
    if (!keys.every((k) => required.includes(k))) return false;
  }
  return Object.values(node).every(isStrictCompatible);
}

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
 * OpenAI's reasoning models (o1, o3, o4-mini, gpt-5 but not gpt-5-chat …):
 * they take `max_completion_tokens` instead of `max_tokens` and a `developer`
 * message in place of `system`. The same test as @langchain/openai 1.6, so
 * the requests did not change when it was replaced.
 */
function isReasoningModel(model: string): boolean {
  return /^o\d/.test(model) || /^gpt-[56](?!-chat)/.test(model);
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

/**
 * Reads a call's JSON arguments into an object. Arguments that are not a
 * JSON object come back as `{}` with `argsError` quoting the raw text; empty
 * arguments (some servers send "" for a tool without parameters) are `{}`.
 */
export function parseToolArgs(
  raw: unknown,
): { args: Record<string, unknown>; argsError?: string } {
  if (raw && typeof raw === "object" && !Array.isArray(raw)) {
    return { args: raw as Record<string, unknown> }; // a server that sent an object
  }
  const text = typeof raw === "string" ? raw : raw === undefined || raw === null ? "" : String(raw);
  if (text.trim() === "") return { args: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return {
      args: {},
      argsError: `The arguments are not valid JSON (${(error as Error).message}): ${text}`,
    };
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    return { args: {}, argsError: `The arguments are not a JSON object: ${text}` };
  }
  return { args: value as Record<string, unknown> };
}

/** The reply's tool calls, in the order the model made them (ids generated where missing). */
function readToolCalls(raw: unknown): ToolCall[] {
  if (!Array.isArray(raw)) return [];
  return (raw as RawToolCall[]).filter((c) => c?.function).map((c) => ({
    id: typeof c.id === "string" && c.id ? c.id : `call_${crypto.randomUUID().slice(0, 12)}`,
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

/**
 * Finish reasons that make a structured reply unusable, worded as the SDK's
 * `parse` worded them: it threw on them, so such a reply was `malformed`.
 */
const UNPARSABLE_FINISH = new Map([
  ["length", "Could not parse response content as the length limit was reached"],
  [
    "content_filter",
    "Could not parse response content as the request was rejected by the content filter",
  ],
]);

function malformed(config: ProviderConfig, problem: string): LlmError {
  const provider = config.provider;
  return new LlmError(
    "malformed",
    provider,
    `${provider} sent a reply that could not be read: ${problem}`,
  );
}

const tokenCount = (value: unknown) => typeof value === "number" && value > 0 ? value : 0;

/** The first choice of `reply` as a CompletionResponse; a reply without one is `malformed`. */
function readReply(
  reply: unknown,
  request: CompletionRequest,
  config: ProviderConfig,
): CompletionResponse {
  const { model, choices, usage } = (reply ?? {}) as ChatCompletion;
  const choice = Array.isArray(choices) ? choices[0] : undefined;
  if (!choice || typeof choice !== "object") throw malformed(config, "the reply has no choices[0]");
  const finish = typeof choice.finish_reason === "string" && choice.finish_reason
    ? choice.finish_reason
    : undefined;
  const unparsable = request.schema && finish ? UNPARSABLE_FINISH.get(finish) : undefined;
  if (unparsable) throw malformed(config, unparsable);
  const message = choice.message ?? {};
  const toolCalls = readToolCalls(message.tool_calls);
  // A refusal comes with null content: the text is then "" (the refusal is not read).
  const cached = tokenCount(usage?.prompt_tokens_details?.cached_tokens);
  return {
    text: typeof message.content === "string" ? message.content : "",
    ...(toolCalls.length ? { toolCalls } : {}),
    usage: {
      inputTokens: tokenCount(usage?.prompt_tokens),
      outputTokens: tokenCount(usage?.completion_tokens),
      ...(cached > 0 ? { cachedInputTokens: cached } : {}),
    },
    model: typeof model === "string" ? model : config.model,
    finishReason: finish,
  };
}

/** A ProviderClient for OpenAI and servers that speak its Chat Completions API. */
export function createOpenAiClient(config: ProviderConfig): ProviderClient {
  const baseUrl = config.baseUrl || PROVIDER_INFO.openai.defaultBaseUrl;
  const url = `${baseUrl.replace(/\/+$/, "")}/chat/completions`;
  // Always a bearer header, as before (the SDK refused an empty key); Ollama ignores it.
  const apiKey = config.apiKey || "not-needed";
  return {
    provider: config.provider,
    model: config.model,
    async complete(request: CompletionRequest): Promise<CompletionResponse> {
      try {
        const reply = await postJson(
          url,
          apiKey,
          requestBody(config.model, request),
          request.signal,
        );
        return readReply(reply, request, config);
      } catch (error) {
        throw toLlmError(error, config);
      }
    },
  };
}
