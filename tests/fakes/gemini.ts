/**
 * Gemini API wire format: `POST /{version}/models/{model}:generateContent`
 * (JSON) and `:streamGenerateContent?alt=sse` (SSE, each event a whole
 * GenerateContentResponse, no end sentinel), `GET /{version}/models`,
 * key in `x-goog-api-key` or `?key=`, errors as `{ error: { code, message, status } }`.
 * `{version}` may be v1beta (the REST docs' default), v1 (the
 * @google/genai default) or v1alpha.
 */
import {
  DEFAULT_MODELS,
  isRecord,
  joinTexts,
  jsonResponse,
  type RecordedRequest,
  splitText,
  type SseEvent,
  sseResponse,
  type WireFormat,
} from "./_server.ts";

const VERSION = "(?:v1|v1beta|v1alpha)";
const GENERATE = new RegExp(
  `^/${VERSION}/models/([^/:]+):(generateContent|streamGenerateContent)$`,
);
const LIST = new RegExp(`^/${VERSION}/models$`);
const GET = new RegExp(`^/${VERSION}/models/([^/:]+)$`);
let counter = 0;

/** The Gemini API (Google AI, not Vertex) wire format. */
export const geminiFormat: WireFormat = {
  kind: "gemini",
  baseURL: (origin) => origin,

  route(method, url) {
    const gen = GENERATE.exec(url.pathname);
    if (method === "POST" && gen) {
      return {
        type: "generate",
        stream: gen[2] === "streamGenerateContent",
        model: decodeURIComponent(gen[1]),
      };
    }
    if (method === "GET" && LIST.test(url.pathname)) return { type: "models" };
    const one = GET.exec(url.pathname);
    if (method === "GET" && one) return { type: "model", name: decodeURIComponent(one[1]) };
    return null;
  },

  apiKey: (req, url) => req.headers.get("x-goog-api-key") ?? url.searchParams.get("key"),

  // Streaming is chosen by the URL (`:streamGenerateContent`), never the body.
  bodyStreams: () => false,

  maxTokens(body) {
    const config = isRecord(body.generationConfig) ? body.generationConfig : {};
    return typeof config.maxOutputTokens === "number" ? config.maxOutputTokens : undefined;
  },
  cutFinishReason: "MAX_TOKENS",

  error(status, message, retryAfterSec) {
    const details: unknown[] = [];
    if (status === 401) {
      details.push({
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        reason: "API_KEY_INVALID",
        domain: "googleapis.com",
      });
    }
    // Gemini tells the retry delay in the body, not (only) in a header.
    if (retryAfterSec !== undefined) {
      details.push({
        "@type": "type.googleapis.com/google.rpc.RetryInfo",
        retryDelay: `${retryAfterSec}s`,
      });
    }
    return jsonResponse(status, {
      error: {
        code: status,
        message,
        status: statusName(status),
        ...(details.length > 0 ? { details } : {}),
      },
    });
  },

  success(reply, req, usage) {
    const responseId = `fake-${++counter}`;
    const text = reply.json !== undefined ? JSON.stringify(reply.json) : reply.text ?? "";
    const callParts = (reply.toolCalls ?? []).map((c) => ({
      functionCall: { ...(c.id ? { id: c.id } : {}), name: c.name, args: c.args ?? {} },
    }));
    const finishReason = reply.finishReason ?? "STOP";
    const modelVersion = req.model || "gemini-2.5-flash";
    const usageMetadata = {
      promptTokenCount: usage.input,
      candidatesTokenCount: usage.output,
      totalTokenCount: usage.input + usage.output,
      promptTokensDetails: [{ modality: "TEXT", tokenCount: usage.input }],
      // Included in promptTokenCount, as Gemini reports it.
      ...(usage.cached ? { cachedContentTokenCount: usage.cached } : {}),
    };
    const response = (parts: unknown[], last: boolean) => ({
      candidates: [{
        content: { parts, role: "model" },
        ...(last ? { finishReason } : {}),
        index: 0,
      }],
      // Intermediate chunks report the prompt only; the last one has the totals.
      usageMetadata: last
        ? usageMetadata
        : { promptTokenCount: usage.input, totalTokenCount: usage.input },
      modelVersion,
      responseId,
    });

    if (!req.stream) {
      const parts = [...(text !== "" ? [{ text }] : []), ...callParts];
      return jsonResponse(200, response(parts.length > 0 ? parts : [{ text: "" }], true));
    }
    // Text goes out in pieces; function calls arrive whole, in an event of
    // their own after the text, as Gemini sends them.
    const payloads: unknown[][] = splitText(text).map((piece) => [{ text: piece }]);
    if (callParts.length > 0) payloads.push(callParts);
    if (payloads.length === 0) payloads.push([{ text: "" }]);
    const events: SseEvent[] = payloads.map((parts, i) => ({
      data: response(parts, i === payloads.length - 1),
    }));
    return sseResponse(events, "\r\n");
  },

  malformed(req: RecordedRequest) {
    if (req.stream) return sseResponse([{ data: '{"candidates": [{"content": ' }], "\r\n");
    return new Response('{"candidates": [{"content": {"parts": [', {
      status: 200,
      headers: { "content-type": "application/json" },
    });
  },

  listModels: () => ({ models: DEFAULT_MODELS.gemini.map(modelEntry) }),

  getModel: (name) =>
    (DEFAULT_MODELS.gemini as readonly string[]).includes(name) ? modelEntry(name) : null,

  texts(body) {
    const system: string[] = [];
    const messages: { role: string; text: string }[] = [];
    if (!isRecord(body)) return { system, messages };
    const sys = partsText(body.systemInstruction);
    if (sys !== "") system.push(sys);
    for (const c of Array.isArray(body.contents) ? body.contents : []) {
      if (isRecord(c)) messages.push({ role: String(c.role ?? "user"), text: partsText(c) });
    }
    return { system, messages };
  },
};

function modelEntry(id: string) {
  return {
    name: `models/${id}`,
    version: "001",
    displayName: id,
    description: "Fake model served by tests/fakes.",
    inputTokenLimit: 1_048_576,
    outputTokenLimit: 65_536,
    supportedGenerationMethods: ["generateContent", "countTokens"],
  };
}

/** Text of a Content (`{role, parts}`); function responses count as their JSON. */
function partsText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!isRecord(content) || !Array.isArray(content.parts)) return "";
  return joinTexts(content.parts, (p) => {
    if (!isRecord(p)) return "";
    if (typeof p.text === "string") return p.text;
    if (isRecord(p.functionResponse)) return JSON.stringify(p.functionResponse.response ?? {});
    return "";
  });
}

/** google.rpc status names Gemini puts in `error.status`. */
function statusName(status: number): string {
  const names: Record<number, string> = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
  };
  return names[status] ?? (status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION");
}
