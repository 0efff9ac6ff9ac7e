/**
 * `claude`: @anthropic-ai/sdk Messages API. Structured output is a forced
 * tool call whose input schema is the requested JSON Schema.
 */
import Anthropic from "@anthropic-ai/sdk";
import type { ProviderConfig } from "../provider_config.ts";
import type { CompletionRequest, CompletionResponse, ProviderClient } from "../types.ts";
import { toLlmError } from "./_errors.ts";
import { wireSchema } from "./_schema.ts";

/** Anthropic requires max_tokens; this is used when the request sets none. */
const DEFAULT_MAX_TOKENS = 4096;

/** A ProviderClient for Anthropic's Claude models. */
export function createAnthropicClient(config: ProviderConfig): ProviderClient {
  const client = new Anthropic({
    apiKey: config.apiKey,
    baseURL: config.baseUrl,
    maxRetries: 0, // the service retries, honouring Retry-After
    timeout: config.timeoutMs,
  });
  return {
    provider: config.provider,
    model: config.model,
    async complete(request: CompletionRequest): Promise<CompletionResponse> {
      const system = request.messages.filter((m) => m.role === "system").map((m) => m.content);
      const turns = request.messages.filter((m) => m.role !== "system").map((m) => ({
        role: m.role as "user" | "assistant",
        content: m.content,
      }));
      const schema = request.schema;
      try {
        const message = await client.messages.create({
          model: config.model,
          max_tokens: request.maxTokens ?? DEFAULT_MAX_TOKENS,
          ...(system.length ? { system: system.join("\n\n") } : {}),
          messages: turns,
          ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
          ...(schema
            ? {
              tools: [{
                name: schema.name,
                description: schema.description ?? `Reply with a ${schema.name} object.`,
                input_schema: wireSchema(schema) as Anthropic.Tool.InputSchema,
              }],
              tool_choice: { type: "tool" as const, name: schema.name },
            }
            : {}),
        }, { signal: request.signal });
        const toolUse = message.content.find((b) => b.type === "tool_use");
        const text = schema && toolUse
          ? JSON.stringify(toolUse.input)
          : message.content.map((b) => (b.type === "text" ? b.text : "")).join("");
        return {
          text,
          usage: {
            inputTokens: message.usage.input_tokens,
            outputTokens: message.usage.output_tokens,
          },
          model: message.model,
          finishReason: message.stop_reason ?? undefined,
        };
      } catch (error) {
        throw toLlmError(error, config);
      }
    },
  };
}
