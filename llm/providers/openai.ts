/**
 * `openai`, `openai-compatible` and `ollama`: @langchain/openai's ChatOpenAI
 * pointed at the configured base URL. Structured output is sent natively as
 * `response_format: json_schema` (strict when the schema allows it).
 */
import { ChatOpenAI } from "@langchain/openai";
import type { ProviderConfig } from "../provider_config.ts";
import type {
  CompletionRequest,
  CompletionResponse,
  OutputSchema,
  ProviderClient,
} from "../types.ts";
import { toLlmError } from "./_errors.ts";
import { wireSchema } from "./_schema.ts";

const ROLE = { system: "system", user: "human", assistant: "ai" } as const;

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

/** A ProviderClient for OpenAI and servers that speak its Chat Completions API. */
export function createOpenAiClient(config: ProviderConfig): ProviderClient {
  return {
    provider: config.provider,
    model: config.model,
    async complete(request: CompletionRequest): Promise<CompletionResponse> {
      const chat = new ChatOpenAI({
        model: config.model,
        // The SDK refuses an empty key; local servers (Ollama) ignore it.
        apiKey: config.apiKey || "not-needed",
        configuration: { baseURL: config.baseUrl },
        maxRetries: 0, // the service retries, honouring Retry-After
        temperature: request.temperature,
        maxTokens: request.maxTokens,
      });
      try {
        const message = await chat.invoke(
          request.messages.map((m) => [ROLE[m.role], m.content] as [string, string]),
          {
            signal: request.signal,
            response_format: request.schema ? responseFormat(request.schema) : undefined,
          },
        );
        const usage = message.usage_metadata;
        const metadata = message.response_metadata ?? {};
        return {
          text: typeof message.content === "string" ? message.content : message.text,
          usage: { inputTokens: usage?.input_tokens ?? 0, outputTokens: usage?.output_tokens ?? 0 },
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
