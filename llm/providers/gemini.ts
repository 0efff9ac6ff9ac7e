/**
 * `gemini`: @google/genai generateContent (API version v1beta). Structured
 * output is sent as `responseJsonSchema` with `responseMimeType: application/json`.
 * Native tools are `functionDeclarations` (`parametersJsonSchema`); an
 * assistant turn's tool calls are `functionCall` parts of a model turn and
 * their results `functionResponse` parts of one user turn. Gemini caches
 * prompt prefixes implicitly; the cached part is read back as `cachedInputTokens`.
 */
import { type Content, GoogleGenAI, type Part } from "@google/genai";
import type { ProviderConfig } from "../provider_config.ts";
import type {
  ChatMessage,
  CompletionRequest,
  CompletionResponse,
  ProviderClient,
  ToolCall,
  ToolDeclaration,
} from "../types.ts";
import { toLlmError } from "./_errors.ts";
import { wireSchema } from "./_schema.ts";

/**
 * The conversation as Gemini contents: assistant tool calls become
 * `functionCall` parts (after a text part when the turn has text), and
 * consecutive tool results one user turn of `functionResponse` parts
 * (`{ result: <content> }`, matched by name and, when known, id).
 */
export function geminiContents(messages: ChatMessage[]): Content[] {
  const contents: Content[] = [];
  let results: Part[] | undefined;
  for (const m of messages) {
    if (m.role === "system") continue;
    if (m.role === "tool") {
      const part: Part = {
        functionResponse: {
          ...(m.toolCallId ? { id: m.toolCallId } : {}),
          name: m.name ?? "",
          response: { result: m.content },
        },
      };
      if (results) results.push(part);
      else {
        results = [part];
        contents.push({ role: "user", parts: results });
      }
      continue;
    }
    results = undefined;
    if (m.role === "assistant" && m.toolCalls?.length) {
      contents.push({
        role: "model",
        parts: [
          ...(m.content !== "" ? [{ text: m.content }] : []),
          ...m.toolCalls.map((c) => ({
            functionCall: { ...(c.id ? { id: c.id } : {}), name: c.name, args: c.args },
          })),
        ],
      });
    } else {
      contents.push({
        role: m.role === "assistant" ? "model" : "user",
        parts: [{ text: m.content }],
      });
    }
  }
  return contents;
}

/** Tools as one Gemini tool of function declarations (without a `$schema` declaration). */
function geminiTools(tools: ToolDeclaration[]) {
  return [{
    functionDeclarations: tools.map((t) => ({
      name: t.name,
      description: t.description,
      parametersJsonSchema: wireSchema({ name: t.name, jsonSchema: t.parameters }),
    })),
  }];
}

/** A ProviderClient for Google's Gemini API. */
export function createGeminiClient(config: ProviderConfig): ProviderClient {
  // No retryOptions: the SDK then makes exactly one attempt; the service retries.
  const ai = new GoogleGenAI({
    apiKey: config.apiKey,
    httpOptions: { baseUrl: config.baseUrl, apiVersion: "v1beta", timeout: config.timeoutMs },
  });
  // Gemini's function calls usually carry no id: they get `call_<n>`, unique in this client.
  let generatedIds = 0;
  return {
    provider: config.provider,
    model: config.model,
    async complete(request: CompletionRequest): Promise<CompletionResponse> {
      const system = request.messages.filter((m) => m.role === "system").map((m) => m.content);
      const contents = geminiContents(request.messages);
      const tools = !request.schema && request.tools?.length ? request.tools : undefined;
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
            ...(tools ? { tools: geminiTools(tools) } : {}),
          },
        });
        const parts = response.candidates?.[0]?.content?.parts ?? [];
        // Read from the parts, not `response.text`, which warns about function-call parts.
        const text = parts.filter((p) => typeof p.text === "string" && !p.thought)
          .map((p) => p.text).join("");
        const toolCalls: ToolCall[] = parts.filter((p) => p.functionCall).map((p) => {
          const call = p.functionCall!;
          return {
            id: call.id || `call_${++generatedIds}`,
            name: call.name ?? "",
            args: call.args ?? {},
          };
        });
        const usage = response.usageMetadata;
        const cached = usage?.cachedContentTokenCount ?? 0;
        return {
          text,
          ...(toolCalls.length ? { toolCalls } : {}),
          usage: {
            // promptTokenCount includes the cached tokens.
            inputTokens: usage?.promptTokenCount ?? 0,
            // Thinking tokens are billed as output.
            outputTokens: (usage?.candidatesTokenCount ?? 0) + (usage?.thoughtsTokenCount ?? 0),
            ...(cached > 0 ? { cachedInputTokens: cached } : {}),
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
