/**
 * Anthropic Messages wire format: `POST /v1/messages` (JSON, or named SSE
 * events message_start → content_block_* → message_delta → message_stop),
 * `GET /v1/models`, `x-api-key: <key>` or `Authorization: Bearer <key>`, errors as
 * `{ type: "error", error: { type, message }, request_id }`.
 */
import {
  DEFAULT_MODELS,
  type FakeReply,
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

let counter = 0;

type Block =
  | { type: "text"; text: string; citations: null }
  | { type: "tool_use"; id: string; name: string; input: unknown };

/** The Anthropic Messages wire format. */
export const anthropicFormat: WireFormat = {
  kind: "anthropic",
  baseURL: (origin) => origin,

  route: v1Routes("/v1/messages"),

  // The API documents `x-api-key`; @anthropic-ai/sdk 1.x sends the key as
  // `Authorization: Bearer <key>` instead, and the API takes both.
  apiKey(req) {
    const auth = req.headers.get("authorization") ?? "";
    return req.headers.get("x-api-key") ??
      (auth.startsWith("Bearer ") ? auth.slice("Bearer ".length) : null);
  },

  bodyStreams: (body) => body.stream === true,

  maxTokens: (body) => typeof body.max_tokens === "number" ? body.max_tokens : undefined,
  cutFinishReason: "max_tokens",

  error(status, message) {
    const requestId = `req_fake_${++counter}`;
    return jsonResponse(
      status,
      { type: "error", error: { type: errorType(status), message }, request_id: requestId },
      { "request-id": requestId },
    );
  },

  success(reply, req, usage) {
    const id = `msg_fake_${++counter}`;
    const blocks = contentBlocks(reply, req.body);
    const stopReason = reply.finishReason ??
      (blocks.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn");
    // Anthropic's input_tokens leaves out the tokens read from or written to the cache.
    const cached = usage.cached ?? 0;
    const written = usage.cacheWrite ?? 0;
    const fullUsage = {
      input_tokens: Math.max(0, usage.input - cached - written),
      output_tokens: usage.output,
      cache_creation_input_tokens: written,
      cache_read_input_tokens: cached,
      cache_creation: { ephemeral_5m_input_tokens: written, ephemeral_1h_input_tokens: 0 },
      server_tool_use: null,
      service_tier: "standard",
    };
    const message = {
      id,
      type: "message",
      role: "assistant",
      model: req.model || "claude-3-5-haiku-latest",
      content: blocks,
      stop_reason: stopReason,
      stop_sequence: null,
      usage: fullUsage,
    };
    const headers = { "request-id": `req_fake_${counter}` };
    if (!req.stream) return jsonResponse(200, message, headers);

    // message_start carries the input tokens; message_delta the final counts.
    const events: SseEvent[] = [{
      event: "message_start",
      data: {
        type: "message_start",
        message: {
          ...message,
          content: [],
          stop_reason: null,
          usage: { ...fullUsage, output_tokens: 1 },
        },
      },
    }, { event: "ping", data: { type: "ping" } }];
    blocks.forEach((block, index) => {
      const start = block.type === "text" ? { ...block, text: "" } : { ...block, input: {} };
      events.push({
        event: "content_block_start",
        data: { type: "content_block_start", index, content_block: start },
      });
      const pieces = block.type === "text"
        ? splitText(block.text).map((text) => ({ type: "text_delta", text }))
        : splitText(JSON.stringify(block.input ?? {}), 2).map((partial_json) => ({
          type: "input_json_delta",
          partial_json,
        }));
      for (const delta of pieces) {
        events.push({
          event: "content_block_delta",
          data: { type: "content_block_delta", index, delta },
        });
      }
      events.push({ event: "content_block_stop", data: { type: "content_block_stop", index } });
    });
    events.push({
      event: "message_delta",
      data: {
        type: "message_delta",
        delta: { stop_reason: stopReason, stop_sequence: null },
        usage: {
          input_tokens: fullUsage.input_tokens,
          output_tokens: usage.output,
          cache_creation_input_tokens: written,
          cache_read_input_tokens: cached,
        },
      },
    });
    events.push({ event: "message_stop", data: { type: "message_stop" } });
    const res = sseResponse(events);
    res.headers.set("request-id", headers["request-id"]);
    return res;
  },

  malformed(req: RecordedRequest) {
    if (req.stream) {
      return sseResponse([{ event: "message_start", data: '{"type": "message_start", "mess' }]);
    }
    return new Response('{"id": "msg_broken", "type": "message", "content": [', {
      status: 200,
      headers: { "content-type": "application/json" },
    });
  },

  listModels() {
    const data = DEFAULT_MODELS.anthropic.map(modelEntry);
    return { data, has_more: false, first_id: data[0].id, last_id: data[data.length - 1].id };
  },

  getModel: (name) =>
    (DEFAULT_MODELS.anthropic as readonly string[]).includes(name) ? modelEntry(name) : null,

  texts(body) {
    const system: string[] = [];
    const messages: { role: string; text: string }[] = [];
    if (!isRecord(body)) return { system, messages };
    const sys = contentText(body.system);
    if (sys !== "") system.push(sys);
    for (const m of Array.isArray(body.messages) ? body.messages : []) {
      if (isRecord(m)) messages.push({ role: String(m.role ?? ""), text: contentText(m.content) });
    }
    return { system, messages };
  },
};

/**
 * The content blocks for a reply. `json` becomes the input of the forced tool
 * (tool_choice `{type:"tool", name}`, or `{type:"any"}` with a single tool),
 * as Claude answers then; otherwise it is the text.
 */
function contentBlocks(reply: FakeReply, body: Record<string, unknown>): Block[] {
  const blocks: Block[] = [];
  const forced = forcedTool(body);
  const calls = [...(reply.toolCalls ?? [])];
  let text = reply.text ?? "";
  if (reply.json !== undefined) {
    if (forced) calls.unshift({ name: forced, args: reply.json });
    else text = JSON.stringify(reply.json);
  }
  if (text !== "" || calls.length === 0) blocks.push({ type: "text", text, citations: null });
  calls.forEach((c, i) => {
    blocks.push({
      type: "tool_use",
      id: c.id ?? `toolu_fake_${counter}_${i}`,
      name: c.name,
      input: c.args ?? {},
    });
  });
  return blocks;
}

function forcedTool(body: Record<string, unknown>): string | null {
  const choice = body.tool_choice;
  if (!isRecord(choice)) return null;
  if (choice.type === "tool" && typeof choice.name === "string") return choice.name;
  const tools = Array.isArray(body.tools) ? body.tools : [];
  if (choice.type === "any" && tools.length === 1 && isRecord(tools[0])) {
    return typeof tools[0].name === "string" ? tools[0].name : null;
  }
  return null;
}

function modelEntry(id: string) {
  return {
    type: "model",
    id,
    display_name: id,
    created_at: "2025-01-01T00:00:00Z",
    max_input_tokens: 200_000,
    max_tokens: 64_000,
  };
}

/** A string, or blocks: text, and tool_result whose content is a string or blocks. */
function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return joinTexts(content, (b) => {
    if (!isRecord(b)) return "";
    if (b.type === "text" && typeof b.text === "string") return b.text;
    if (b.type === "tool_result") return contentText(b.content);
    return "";
  });
}

/** Anthropic's error `type` for a status. */
function errorType(status: number): string {
  const types: Record<number, string> = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
  };
  return types[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
}
