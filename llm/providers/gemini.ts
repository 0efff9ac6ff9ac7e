/**
 * `gemini`: @google/genai generateContent (API version v1beta). Structured
 * output is sent as `responseJsonSchema` with `responseMimeType: application/json`.
 */
import { GoogleGenAI } from "@google/genai";
import type { ProviderConfig } from "../provider_config.ts";
import type { CompletionRequest, CompletionResponse, ProviderClient } from "../types.ts";
import { toLlmError } from "./_errors.ts";
import { wireSchema } from "./_schema.ts";

/** A ProviderClient for Google's Gemini API. */
export function createGeminiClient(config: ProviderConfig): ProviderClient {
  // No retryOptions: the SDK then makes exactly one attempt; the service retries.
  const ai = new GoogleGenAI({
    apiKey: config.apiKey,
    httpOptions: { baseUrl: config.baseUrl, apiVersion: "v1beta", timeout: config.timeoutMs },
  });
  return {
    provider: config.provider,
    model: config.model,
    async complete(request: CompletionRequest): Promise<CompletionResponse> {
      const system = request.messages.filter((m) => m.role === "system").map((m) => m.content);
      const contents = request.messages.filter((m) => m.role !== "system").map((m) => ({
        role: m.role === "assistant" ? "model" : "user",
        parts: [{ text: m.content }],
      }));
      try {
        const response = await ai.models.generateContent({
          model: config.model,
          contents,
          config: {
            abortSignal: request.signal,
            ...(system.length ? { systemInstruction: system.join("\n\n") } : {}),
            ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
            ...(request.maxTokens !== undefined ? { maxOutputTokens: request.maxTokens } : {}),
            ...(request.schema
              ? {
                responseMimeType: "application/json",
                responseJsonSchema: wireSchema(request.schema),
              }
              : {}),
          },
        });
        const usage = response.usageMetadata;
        return {
          text: response.text ?? "",
          usage: {
            inputTokens: usage?.promptTokenCount ?? 0,
            // Thinking tokens are billed as output.
            outputTokens: (usage?.candidatesTokenCount ?? 0) + (usage?.thoughtsTokenCount ?? 0),
          },
          model: response.modelVersion ?? config.model,
          finishReason: response.candidates?.[0]?.finishReason,
        };
      } catch (error) {
        throw toLlmError(error, config);
      }
    },
  };
}
