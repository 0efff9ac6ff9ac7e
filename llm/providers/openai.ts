/**
 * `openai`, `openai-compatible` and `ollama`: @langchain/openai's ChatOpenAI
 * pointed at the configured base URL. Structured output is sent natively as
 * `response_format: json_schema` (strict when the schema allows it). Native
 * tools are sent as `tools` of type `function` (their JSON Schema unchanged,
 * strict when it allows it); prompt caching is automatic on OpenAI's side,
 * and the cached part of the prompt is read back as `cachedInputTokens`.
 */
import { ChatOpenAI } from "@langchain/openai";
import type { ProviderConfig } from "../provider_config.ts";
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

/**
 * The `response_format` for a schema. The SDK would JSON.parse the reply and
 * throw away text that is not JSON; the (non-enumerable, never sent) parser
 * brand below makes it hand the text back untouched, so the service's
 * validator sees it and can ask for a repair.
 */
function responseFormat(schema: OutputSchema) {
  const format = {
    type: "json_schema" as const,
    json_schema: {
      name: schema.name,
      description: schema.description,
      schema: wireSchema(schema),
      strict: isStrictCompatible(schema.jsonSchema),
    },
  };
  return Object.defineProperties(format, {
    $brand: { value: "auto-parseable-response-format", enumerable: false },
    $parseRaw: { value: () => null, enumerable: false },
  });
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
 * A message as LangChain's message-like object: assistant tool calls become
 * the AIMessage's `tool_calls` (sent as OpenAI `tool_calls` with their ids),
 * a tool result a ToolMessage (sent as role `tool` with its `tool_call_id`).
 */
function messageLike(m: ChatMessage) {
  switch (m.role) {
    case "system":
      return { role: "system", content: m.content };
    case "user":
      return { role: "user", content: m.content };
    case "assistant":
      return m.toolCalls?.length
        ? {
          role: "assistant",
          content: m.content,
          tool_calls: m.toolCalls.map((c) => ({
            id: c.id,
            name: c.name,
            args: c.args,
            type: "tool_call" as const,
          })),
        }
        : { role: "assistant", content: m.content };
    case "tool":
      // No `name`: OpenAI's tool messages have none, and strict servers refuse it.
      return { role: "tool", content: m.content, tool_call_id: m.toolCallId ?? "" };
  }
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

/**
 * The reply's tool calls, in the order the model made them, read from the
 * raw `tool_calls` (LangChain splits valid and invalid ones into two lists).
 */
function readToolCalls(
  raw: unknown,
  parsed: { id?: string; name: string; args: Record<string, unknown> }[] | undefined,
): ToolCall[] {
  const calls: ToolCall[] = Array.isArray(raw)
    ? (raw as RawToolCall[]).filter((c) => c?.function).map((c) => ({
      id: typeof c.id === "string" ? c.id : "",
      name: String(c.function?.name ?? ""),
      ...parseToolArgs(c.function?.arguments),
    }))
    : (parsed ?? []).map((c) => ({ id: c.id ?? "", name: c.name, args: c.args ?? {} }));
  return calls.map((c) => c.id ? c : { ...c, id: `call_${crypto.randomUUID().slice(0, 12)}` });
}

/** Chat models kept per client (a budget that shrinks `maxTokens` call by call makes new ones). */
const MAX_CACHED_CHATS = 16;

/** A ProviderClient for OpenAI and servers that speak its Chat Completions API. */
export function createOpenAiClient(config: ProviderConfig): ProviderClient {
  // One chat model per temperature and token cap, made on first use: building
  // one (and its HTTP client) costs about as much as the call itself.
  const chats = new Map<string, ChatOpenAI>();
  const chatFor = (temperature?: number, maxTokens?: number) => {
    const key = `${temperature}|${maxTokens}`;
    let chat = chats.get(key);
    if (chat) return chat;
    if (chats.size >= MAX_CACHED_CHATS) chats.clear();
    chat = new ChatOpenAI({
      model: config.model,
      // The SDK refuses an empty key; local servers (Ollama) ignore it.
      apiKey: config.apiKey || "not-needed",
      configuration: { baseURL: config.baseUrl },
      maxRetries: 0, // the service retries, honouring Retry-After
      temperature,
      maxTokens,
    });
    chats.set(key, chat);
    return chat;
  };
  return {
    provider: config.provider,
    model: config.model,
    async complete(request: CompletionRequest): Promise<CompletionResponse> {
      const chat = chatFor(request.temperature, request.maxTokens);
      try {
        const tools = !request.schema && request.tools?.length
          ? request.tools.map(functionTool)
          : undefined;
        const message = await chat.invoke(request.messages.map(messageLike), {
          signal: request.signal,
          response_format: request.schema ? responseFormat(request.schema) : undefined,
          ...(tools ? { tools } : {}),
        });
        const usage = message.usage_metadata;
        const cached = usage?.input_token_details?.cache_read ?? 0;
        const metadata = message.response_metadata ?? {};
        const toolCalls = readToolCalls(message.additional_kwargs?.tool_calls, message.tool_calls);
        return {
          text: typeof message.content === "string" ? message.content : message.text,
          ...(toolCalls.length ? { toolCalls } : {}),
          usage: {
            inputTokens: usage?.input_tokens ?? 0,
            outputTokens: usage?.output_tokens ?? 0,
            ...(cached > 0 ? { cachedInputTokens: cached } : {}),
          },
          model: typeof metadata.model_name === "string" ? metadata.model_name : config.model,
          finishReason: typeof metadata.finish_reason === "string"
            ? metadata.finish_reason
            : undefined,
        };
      } catch (error) {
        throw toLlmError(error, config);
      }
    },
  };
}
