/**
 * OpenAI Chat Completions wire format: `POST /v1/chat/completions` (JSON or
 * SSE with `data: [DONE]`), `GET /v1/models`, `Authorization: Bearer <key>`,
 * errors as `{ error: { message, type, param, code } }`. `POST /v1/responses`,
 * OpenAI's Responses API, answers the same scripts (openai_responses.ts).
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
  v1Routes,
  type WireFormat,
} from "./_server.ts";
import {
  isResponsesBody,
  RESPONSES_PATH,
  responsesMalformed,
  responsesRequestProblem,
  responsesSuccess,
  responsesTexts,
} from "./openai_responses.ts";

const CREATED = 1_700_000_000;
let counter = 0;

const chatRoutes = v1Routes("/v1/chat/completions");

/** The OpenAI-compatible wire format. */
export const openaiFormat: WireFormat = {
  kind: "openai",
  baseURL: (origin) => `${origin}/v1`,

  route: (method, url) =>
    method === "POST" && url.pathname === RESPONSES_PATH
      ? { type: "generate", stream: false }
      : chatRoutes(method, url),

  apiKey(req) {
    const auth = req.headers.get("authorization") ?? "";
    return auth.startsWith("Bearer ") ? auth.slice("Bearer ".length) : null;
  },

  bodyStreams: (body) => body.stream === true,

  maxTokens: (body) =>
    numberOr(body.max_completion_tokens) ?? numberOr(body.max_tokens) ??
      numberOr(body.max_output_tokens),
  cutFinishReason: "length",

  error(status, message) {
    const [type, code] = errorKind(status);
    return jsonResponse(
      status,
      { error: { message, type, param: null, code } },
      { "x-request-id": `req_fake_${++counter}` },
    );
  },

  validate: (req) => req.path === RESPONSES_PATH ? responsesRequestProblem(req.body) : undefined,

  success(reply, req, usage) {
    if (req.path === RESPONSES_PATH) return responsesSuccess(reply, req.body, usage);
    const id = `chatcmpl-fake-${++counter}`;
    const model = req.model || "gpt-4o-mini";
    const content = reply.json !== undefined ? JSON.stringify(reply.json) : reply.text ?? "";
    const calls = (reply.toolCalls ?? []).map((c, i) => ({
      id: c.id ?? `call_fake_${counter}_${i}`,
      type: "function" as const,
      function: { name: c.name, arguments: c.rawArguments ?? JSON.stringify(c.args ?? {}) },
    }));
    const finish = reply.finishReason ?? (calls.length > 0 ? "tool_calls" : "stop");
    const usageBody = {
      prompt_tokens: usage.input,
      completion_tokens: usage.output,
      total_tokens: usage.input + usage.output,
      prompt_tokens_details: { cached_tokens: usage.cached ?? 0, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    };
    const headers = { "x-request-id": `req_fake_${counter}` };

    if (!req.stream) {
      return jsonResponse(200, {
        id,
        object: "chat.completion",
        created: CREATED,
        model,
        choices: [{
          index: 0,
          message: {
            role: "assistant",
            // The real API sends null content when the turn is only tool calls.
            content: content === "" && calls.length > 0 ? null : content,
            refusal: null,
            annotations: [],
            ...(calls.length > 0 ? { tool_calls: calls } : {}),
          },
          logprobs: null,
          finish_reason: finish,
        }],
        usage: usageBody,
        service_tier: "default",
        system_fingerprint: "fp_fake",
      }, headers);
    }

    // With stream_options.include_usage every chunk carries `usage: null` and a
    // last chunk with empty `choices` carries the totals; without it, no usage.
    const includeUsage = isRecord(req.body.stream_options) &&
      req.body.stream_options.include_usage === true;
    const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({
      id,
      object: "chat.completion.chunk",
      created: CREATED,
      model,
      system_fingerprint: "fp_fake",
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(includeUsage ? { usage: null } : {}),
    });
    const events: SseEvent[] = [{ data: chunk({ role: "assistant", content: "", refusal: null }) }];
    for (const piece of splitText(content)) events.push({ data: chunk({ content: piece }) });
    calls.forEach((call, index) => {
      events.push({
        data: chunk({
          tool_calls: [{
            index,
            id: call.id,
            type: "function",
            function: { name: call.function.name, arguments: "" },
          }],
        }),
      });
      for (const piece of splitText(call.function.arguments, 2)) {
        events.push({ data: chunk({ tool_calls: [{ index, function: { arguments: piece } }] }) });
      }
    });
    events.push({ data: chunk({}, finish) });
    if (includeUsage) {
      events.push({
        data: {
          id,
          object: "chat.completion.chunk",
          created: CREATED,
          model,
          system_fingerprint: "fp_fake",
          choices: [],
          usage: usageBody,
        },
      });
    }
    events.push({ data: "[DONE]" });
    const res = sseResponse(events);
    res.headers.set("x-request-id", headers["x-request-id"]);
    return res;
  },

  malformed(req: RecordedRequest) {
    if (req.path === RESPONSES_PATH) return responsesMalformed();
    if (req.stream) return sseResponse([{ data: '{"id": "chatcmpl-broken", "choices": [' }]);
    return new Response('{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [', {
      status: 200,
      headers: { "content-type": "application/json" },
    });
  },

  listModels: () => ({ object: "list", data: DEFAULT_MODELS.openai.map(modelEntry) }),

  getModel: (name) =>
    (DEFAULT_MODELS.openai as readonly string[]).includes(name) ? modelEntry(name) : null,

  texts(body) {
    if (isResponsesBody(body)) return responsesTexts(body, contentText);
    const system: string[] = [];
    const messages: { role: string; text: string }[] = [];
    const list = isRecord(body) && Array.isArray(body.messages) ? body.messages : [];
    for (const m of list) {
      if (!isRecord(m)) continue;
      const role = String(m.role ?? "");
      const text = contentText(m.content);
      if (role === "system" || role === "developer") system.push(text);
      else messages.push({ role, text });
    }
    return { system, messages };
  },
};

function modelEntry(id: string) {
  return { id, object: "model", created: CREATED, owned_by: "openai" };
}

/** `content` is a string or an array of parts (`{type:"text", text}` among them). */
function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return joinTexts(content, (p) => (isRecord(p) && typeof p.text === "string" ? p.text : ""));
}

/** OpenAI's error `type` and `code` for a status. */
function errorKind(status: number): [string, string | null] {
  if (status === 401) return ["invalid_request_error", "invalid_api_key"];
  if (status === 403) return ["invalid_request_error", "unsupported_country_region_territory"];
  if (status === 404) return ["invalid_request_error", "model_not_found"];
  if (status === 429) return ["requests", "rate_limit_exceeded"];
  if (status >= 500) return ["server_error", null];
  return ["invalid_request_error", null];
}

/** `value` when it is a number. */
function numberOr(value: unknown): number | undefined {
  return typeof value === "number" ? value : undefined;
}
