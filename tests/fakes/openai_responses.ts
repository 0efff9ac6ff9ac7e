/**
 * OpenAI's Responses API for the fake OpenAI server: `POST /v1/responses`
 * (JSON only, no streaming). Scripted replies are rendered as Responses
 * objects (`message` items with `output_text` parts, `function_call` items,
 * `status: "incomplete"` for a cut reply), and requests are checked the way
 * OpenAI checks them: unknown parameters, malformed input items and tools, a
 * `function_call_output` with no `function_call` before it, and `temperature`
 * for a model that refuses it are all a 400.
 */
import { type FakeReply, type FakeUsage, isRecord, jsonResponse } from "./_server.ts";

export const RESPONSES_PATH = "/v1/responses";

const CREATED = 1_700_000_000;
let counter = 0;

/** The top-level parameters `POST /v1/responses` takes (the openai SDK's `ResponseCreateParams`). */
const PARAMETERS = new Set([
  "background",
  "context_management",
  "conversation",
  "include",
  "input",
  "instructions",
  "max_output_tokens",
  "max_tool_calls",
  "metadata",
  "model",
  "parallel_tool_calls",
  "previous_response_id",
  "prompt",
  "prompt_cache_key",
  "prompt_cache_retention",
  "reasoning",
  "safety_identifier",
  "service_tier",
  "store",
  "stream",
  "stream_options",
  "temperature",
  "text",
  "tool_choice",
  "tools",
  "top_logprobs",
  "top_p",
  "truncation",
  "user",
]);

const ROLES = ["assistant", "system", "developer", "user"];

/** Input item types the fake understands (others OpenAI has are not used by our clients). */
const ITEM_TYPES = ["message", "function_call", "function_call_output", "reasoning"];

/** Models that refuse `temperature` (reasoning models, which every Responses-only model is). */
const refusesTemperature = (model: string) => /codex|-pro\b|^o\d|^gpt-5(?!-chat)/.test(model);

const missing = (param: string) => `Missing required parameter: '${param}'.`;
const invalidType = (param: string, expected: string) =>
  `Invalid type for '${param}': expected ${expected}.`;

/** Why OpenAI would refuse one input item (`at` is its index), if it would. */
function itemProblem(item: unknown, at: number, callIds: Set<string>): string | undefined {
  const where = `input[${at}]`;
  if (!isRecord(item)) return invalidType(where, "an object");
  const type = item.type ?? (item.role !== undefined ? "message" : undefined);
  if (typeof type !== "string" || !ITEM_TYPES.includes(type)) {
    return `Invalid value: '${String(type)}'. Supported values are: ${ITEM_TYPES.join(", ")}.`;
  }
  if (type === "message") {
    if (!ROLES.includes(String(item.role))) {
      return `Invalid value: '${String(item.role)}' for '${where}.role'. ` +
        `Supported values are: ${ROLES.join(", ")}.`;
    }
    if (typeof item.content !== "string" && !Array.isArray(item.content)) {
      return invalidType(`${where}.content`, "a string or an array of content parts");
    }
  }
  if (type === "function_call") {
    for (const key of ["call_id", "name", "arguments"]) {
      if (typeof item[key] !== "string") return missing(`${where}.${key}`);
    }
    callIds.add(item.call_id as string);
  }
  if (type === "function_call_output") {
    if (typeof item.call_id !== "string") return missing(`${where}.call_id`);
    if (typeof item.output !== "string" && !Array.isArray(item.output)) {
      return missing(`${where}.output`);
    }
    // With nothing stored server-side, the call it answers must come before it.
    if (!callIds.has(item.call_id)) {
      return `No tool call found for function call output with call_id ${item.call_id}.`;
    }
  }
  return undefined;
}

/** Why OpenAI would refuse the `tools` list, if it would (function tools are flat here). */
function toolsProblem(tools: unknown): string | undefined {
  if (tools === undefined) return undefined;
  if (!Array.isArray(tools)) return invalidType("tools", "an array");
  for (const [i, tool] of tools.entries()) {
    if (!isRecord(tool) || tool.type !== "function") continue;
    if (typeof tool.name !== "string") return missing(`tools[${i}].name`);
    if (tool.parameters !== null && !isRecord(tool.parameters)) {
      return missing(`tools[${i}].parameters`);
    }
  }
  return undefined;
}

/** Why OpenAI would refuse the `text` setting, if it would. */
function textProblem(text: unknown): string | undefined {
  if (text === undefined) return undefined;
  if (!isRecord(text)) return invalidType("text", "an object");
  const format = text.format;
  if (!isRecord(format) || format.type !== "json_schema") return undefined;
  if (typeof format.name !== "string") return missing("text.format.name");
  if (!isRecord(format.schema)) return missing("text.format.schema");
  return undefined;
}

/** Why OpenAI would refuse a `POST /v1/responses` body (a 400 with this text), if it would. */
export function responsesRequestProblem(body: Record<string, unknown>): string | undefined {
  const unknown = Object.keys(body).find((key) => !PARAMETERS.has(key));
  if (unknown) return `Unknown parameter: '${unknown}'.`;
  if (typeof body.model !== "string" || !body.model) return missing("model");
  if (body.stream === true) return "The fake OpenAI server does not stream /v1/responses.";
  if (body.temperature != null && refusesTemperature(body.model)) {
    return "Unsupported parameter: 'temperature' is not supported with this model.";
  }
  const input = body.input;
  if (typeof input !== "string" && !Array.isArray(input)) {
    return invalidType("input", "a string or an array of input items");
  }
  const callIds = new Set<string>();
  const items = Array.isArray(input) ? input : [];
  for (const [at, item] of items.entries()) {
    const problem = itemProblem(item, at, callIds);
    if (problem) return problem;
  }
  return toolsProblem(body.tools) ?? textProblem(body.text);
}

/** The `status` and `incomplete_details` for a scripted finish reason (`length`: cut at the limit). */
function completion(finishReason: string | undefined) {
  if (finishReason === "length" || finishReason === "max_output_tokens") {
    return { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } };
  }
  if (finishReason === "content_filter") {
    return { status: "incomplete", incomplete_details: { reason: "content_filter" } };
  }
  return { status: "completed", incomplete_details: null };
}

/** The reply's output items: its text as a `message` (unless it only calls tools), then its calls. */
function outputItems(reply: FakeReply, status: string) {
  const text = reply.json !== undefined ? JSON.stringify(reply.json) : reply.text ?? "";
  const calls = (reply.toolCalls ?? []).map((c, i) => ({
    id: `fc_fake_${counter}_${i}`,
    type: "function_call",
    status: "completed",
    arguments: c.rawArguments ?? JSON.stringify(c.args ?? {}),
    call_id: c.id ?? `call_fake_${counter}_${i}`,
    name: c.name,
  }));
  const message = {
    id: `msg_fake_${counter}`,
    type: "message",
    status,
    role: "assistant",
    content: [{ type: "output_text", annotations: [], logprobs: [], text }],
  };
  return text === "" && calls.length > 0 ? calls : [message, ...calls];
}

/** A scripted reply as a Responses object, echoing the request's settings as OpenAI does. */
export function responsesSuccess(
  reply: FakeReply,
  body: Record<string, unknown>,
  usage: FakeUsage,
): Response {
  const id = `resp_fake_${++counter}`;
  const { status, incomplete_details } = completion(reply.finishReason);
  return jsonResponse(200, {
    id,
    object: "response",
    created_at: CREATED,
    status,
    background: false,
    error: null,
    incomplete_details,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model: typeof body.model === "string" && body.model ? body.model : "gpt-5-codex",
    output: outputItems(reply, status),
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    service_tier: "default",
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: body.text ?? { format: { type: "text" } },
    tool_choice: body.tool_choice ?? "auto",
    tools: body.tools ?? [],
    top_p: 1,
    truncation: "disabled",
    usage: {
      input_tokens: usage.input,
      input_tokens_details: { cached_tokens: usage.cached ?? 0 },
      output_tokens: usage.output,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: usage.input + usage.output,
    },
    user: null,
    metadata: {},
  }, { "x-request-id": `req_fake_resp_${counter}` });
}

/** A 200 reply whose body does not parse. */
export function responsesMalformed(): Response {
  return new Response('{"id": "resp_broken", "object": "response", "output": [', {
    status: 200,
    headers: { "content-type": "application/json" },
  });
}

/** Whether a request body is a Responses one (it has `input`, Chat Completions has `messages`). */
export function isResponsesBody(body: unknown): body is Record<string, unknown> {
  return isRecord(body) && body.input !== undefined && body.messages === undefined;
}

/**
 * The prompt texts of a Responses body: `instructions` and system/developer
 * messages are the system texts; a `function_call_output` is a `tool` message.
 */
export function responsesTexts(
  body: Record<string, unknown>,
  contentText: (content: unknown) => string,
): { system: string[]; messages: { role: string; text: string }[] } {
  const system: string[] = typeof body.instructions === "string" ? [body.instructions] : [];
  const messages: { role: string; text: string }[] = [];
  const items = typeof body.input === "string"
    ? [{ role: "user", content: body.input }]
    : Array.isArray(body.input)
    ? body.input
    : [];
  for (const item of items) {
    if (!isRecord(item)) continue;
    if (item.type === "function_call_output") {
      messages.push({ role: "tool", text: contentText(item.output) });
    } else if (item.type === "function_call") {
      // A turn's calls are its assistant message (one per turn, as in Chat Completions).
      if (messages.at(-1)?.role !== "assistant") messages.push({ role: "assistant", text: "" });
    } else if ((item.type ?? "message") === "message") {
      const role = String(item.role ?? "");
      const text = contentText(item.content);
      if (role === "system" || role === "developer") system.push(text);
      else messages.push({ role, text });
    }
  }
  return { system, messages };
}
