/**
 * Strict JSON schemas for OpenAI structured output; the request bodies and
 * errors of the client, on Chat Completions and (for codex and the `-pro`
 * models on OpenAI) the Responses API.
 */
import assert from "node:assert/strict";
import { LlmError } from "../../llm/errors.ts";
import type { ProviderConfig } from "../../llm/provider_config.ts";
import { createOpenAiClient, isStrictCompatible } from "../../llm/providers/openai.ts";
import type { CompletionRequest, ProviderClient } from "../../llm/types.ts";
import { rejection } from "../helpers/assert.ts";

Deno.test("isStrictCompatible: closed objects with every property required", () => {
  const closed = {
    type: "object",
    properties: {
      a: { type: "object", properties: { b: {} }, required: ["b"], additionalProperties: false },
    },
    required: ["a"],
    additionalProperties: false,
  };
  assert.equal(isStrictCompatible(closed), true);
  assert.equal(isStrictCompatible({ ...closed, required: [] }), false);
  assert.equal(
    isStrictCompatible({ ...closed, properties: { a: { type: "object", properties: { b: {} } } } }),
    false,
  );
});

/** A request the recording server received. */
interface Seen {
  path: string;
  headers: Headers;
  body: string;
}

/** A local server that records each request and answers with `reply`. */
async function withRecordingServer(
  reply: () => Response,
  run: (baseUrl: string, seen: Seen[]) => Promise<void>,
) {
  const seen: Seen[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    seen.push({ path, headers: req.headers, body: await req.text() });
    return reply();
  });
  try {
    await run(`http://127.0.0.1:${server.addr.port}/v1/`, seen);
  } finally {
    await server.shutdown();
  }
}

const okReply = () =>
  Response.json({
    model: "gpt-4o-mini-2024",
    choices: [{ message: { role: "assistant", content: "hi" }, finish_reason: "stop" }],
    usage: { prompt_tokens: 11, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 4 } },
  });

/** A client of `baseUrl`: OpenAI's gpt-4o-mini with the key "k", unless `config` says otherwise. */
const clientAt = (baseUrl: string, config: Partial<ProviderConfig> = {}) =>
  createOpenAiClient({
    provider: "openai",
    model: "gpt-4o-mini",
    apiKey: "k",
    baseUrl,
    ...config,
  } as ProviderConfig);

/** The LlmError a one-line question (plus `extra`) to `client` fails with. */
const failure = (client: ProviderClient, extra: Partial<CompletionRequest> = {}) =>
  rejection(client.complete({ messages: [{ role: "user", content: "x" }], ...extra }), LlmError);

const closedSchema = {
  type: "object",
  properties: { path: { type: "string" } },
  required: ["path"],
  additionalProperties: false,
};
const openSchema = { type: "object", properties: { q: { type: "string" } }, required: [] };
/** A closed (strict) tool and an open one, as declared in the body tests. */
const twoTools = [
  { name: "read_file", description: "Reads a file", parameters: closedSchema },
  { name: "search", description: "Searches", parameters: openSchema },
];

// The bodies below are the ones @langchain/openai 1.6's ChatOpenAI sent for the
// same requests (captured before it was replaced): same keys, same order.
Deno.test("openai client: a call with tools and a tool-call history sends ChatOpenAI's body", async () => {
  await withRecordingServer(okReply, async (baseUrl, seen) => {
    const client = clientAt(baseUrl, { apiKey: "sk-test" });
    const response = await client.complete({
      messages: [
        { role: "system", content: "You are a bot." },
        { role: "user", content: "Read a.txt" },
        {
          role: "assistant",
          content: "",
          toolCalls: [{ id: "call_1", name: "read_file", args: { path: "a.txt" } }],
        },
        { role: "tool", content: "hello", toolCallId: "call_1", name: "read_file" },
        { role: "assistant", content: "Done." },
      ],
      tools: twoTools,
      temperature: 0.2,
      maxTokens: 500,
    });
    const expected = {
      model: "gpt-4o-mini",
      temperature: 0.2,
      stream: false,
      tools: [
        {
          type: "function",
          function: {
            name: "read_file",
            description: "Reads a file",
            parameters: closedSchema,
            strict: true,
          },
        },
        {
          type: "function",
          function: { name: "search", description: "Searches", parameters: openSchema },
        },
      ],
      max_tokens: 500,
      messages: [
        { role: "system", content: "You are a bot." },
        { role: "user", content: "Read a.txt" },
        {
          role: "assistant",
          content: "",
          tool_calls: [{
            id: "call_1",
            type: "function",
            function: { name: "read_file", arguments: '{"path":"a.txt"}' },
          }],
        },
        { role: "tool", content: "hello", tool_call_id: "call_1" },
        { role: "assistant", content: "Done." },
      ],
    };
    assert.equal(seen.length, 1);
    assert.deepEqual(JSON.parse(seen[0].body), expected);
    assert.equal(seen[0].body, JSON.stringify(expected)); // the key order too
    assert.equal(seen[0].headers.get("authorization"), "Bearer sk-test");
    assert.equal(seen[0].headers.get("content-type"), "application/json");
    assert.equal(seen[0].headers.get("accept"), "application/json");
    assert.deepEqual(response, {
      text: "hi",
      usage: { inputTokens: 11, outputTokens: 5, cachedInputTokens: 4 },
      model: "gpt-4o-mini-2024",
      finishReason: "stop",
    });
  });
});

Deno.test("openai client: a schema call sends ChatOpenAI's response_format body", async () => {
  await withRecordingServer(okReply, async (baseUrl, seen) => {
    const client = clientAt(baseUrl, { apiKey: "" });
    await client.complete({
      messages: [{ role: "system", content: "Answer." }, { role: "user", content: "Where?" }],
      schema: {
        name: "answer",
        description: "The answer",
        jsonSchema: { $schema: "https://json-schema.org/draft/2020-12/schema", ...closedSchema },
      },
      tools: [{ name: "search", description: "Searches", parameters: openSchema }],
      temperature: 0,
      maxTokens: 300,
    });
    const expected = {
      model: "gpt-4o-mini",
      temperature: 0,
      stream: false,
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "answer",
          description: "The answer",
          schema: closedSchema,
          strict: true,
        },
      },
      max_tokens: 300,
      messages: [{ role: "system", content: "Answer." }, { role: "user", content: "Where?" }],
    };
    assert.deepEqual(JSON.parse(seen[0].body), expected);
    assert.equal(seen[0].body, JSON.stringify(expected));
    assert.equal(seen[0].headers.get("authorization"), "Bearer not-needed");
  });
});

Deno.test("openai client: reasoning models get max_completion_tokens and a developer message", async () => {
  await withRecordingServer(okReply, async (baseUrl, seen) => {
    const client = clientAt(baseUrl, { model: "o3-mini" });
    await client.complete({
      messages: [{ role: "system", content: "S" }, { role: "user", content: "U" }],
      maxTokens: 64,
    });
    assert.equal(
      seen[0].body,
      JSON.stringify({
        model: "o3-mini",
        stream: false,
        max_completion_tokens: 64,
        messages: [{ role: "developer", content: "S" }, { role: "user", content: "U" }],
      }),
    );
  });
});

Deno.test("openai client: a 429 with retry-after is rate_limited with its wait", async () => {
  const reply = () =>
    Response.json({ error: { message: "Rate limit reached", type: "requests" } }, {
      status: 429,
      headers: { "retry-after": "7" },
    });
  await withRecordingServer(reply, async (baseUrl) => {
    const client = clientAt(baseUrl);
    const error = await failure(client);
    assert.equal(error.kind, "rate_limited");
    assert.equal(error.status, 429);
    assert.equal(error.retryAfterMs, 7000);
  });
});

Deno.test("openai client: an error reply that echoes the key does not carry it on", async () => {
  const key = "sk-secret-key-0123456789";
  // A proxy that answers 400 with the request it got, headers and all.
  const reply = () =>
    new Response(`bad request; you sent: Authorization: Bearer ${key}`, {
      status: 400,
    });
  await withRecordingServer(reply, async (baseUrl) => {
    const client = clientAt(baseUrl, { apiKey: key });
    const error = await failure(client);
    assert.equal(error.kind, "bad_request");
    assert.ok(!error.message.includes(key), error.message);
    assert.match(error.message, /\[REDACTED\]/);
  });
});

Deno.test("openai client: a call aborted with a plain reason is cancelled, not a network error", async () => {
  const reply = () => Response.json({ choices: [] });
  await withRecordingServer(reply, async (baseUrl) => {
    const client = clientAt(baseUrl);
    const abort = new AbortController();
    abort.abort("not asked");
    const error = await failure(client, { signal: abort.signal });
    assert.equal(error.kind, "cancelled");
  });
});

Deno.test("openai client: a 2xx reply without choices or not JSON is malformed", async () => {
  for (const body of ['{"id":"x","choices":[]}', "<html>proxy</html>"]) {
    await withRecordingServer(() => new Response(body), async (baseUrl) => {
      const client = clientAt(baseUrl, { provider: "ollama", model: "llama3.1", apiKey: "" });
      const error = await failure(client);
      assert.equal(error.kind, "malformed");
    });
  }
});

// ---- The Responses API (codex and the -pro models on OpenAI) ----

/** A Responses reply: a `message` item with `text`, then the given `function_call` items. */
const responsesReply = (text: string, calls: Record<string, unknown>[] = []) => () =>
  Response.json({
    id: "resp_1",
    object: "response",
    model: "gpt-5-codex-2025",
    status: "completed",
    error: null,
    incomplete_details: null,
    output: [
      { id: "rs_1", type: "reasoning", summary: [] },
      {
        id: "msg_1",
        type: "message",
        role: "assistant",
        status: "completed",
        content: [
          { type: "output_text", text, annotations: [] },
          { type: "output_text", text: "!", annotations: [] },
        ],
      },
      ...calls.map((c) => ({ type: "function_call", status: "completed", ...c })),
    ],
    usage: {
      input_tokens: 40,
      input_tokens_details: { cached_tokens: 16 },
      output_tokens: 9,
      output_tokens_details: { reasoning_tokens: 4 },
      total_tokens: 49,
    },
  });

const codex = (baseUrl: string) => clientAt(baseUrl, { model: "gpt-5-codex", apiKey: "sk-test" });

Deno.test("openai client: codex with tools and a tool-call history sends a Responses body", async () => {
  const reply = responsesReply("Reading", [
    { id: "fc_9", call_id: "call_9", name: "read_file", arguments: '{"path":"b.txt"}' },
    { id: "fc_10", call_id: "call_10", name: "search", arguments: "{not json" },
  ]);
  await withRecordingServer(reply, async (baseUrl, seen) => {
    const response = await codex(baseUrl).complete({
      messages: [
        { role: "system", content: "You are a bot." },
        { role: "user", content: "Read a.txt" },
        {
          role: "assistant",
          content: "",
          toolCalls: [{ id: "call_1", name: "read_file", args: { path: "a.txt" } }],
        },
        { role: "tool", content: "hello", toolCallId: "call_1", name: "read_file" },
        {
          role: "assistant",
          content: "And b.txt.",
          toolCalls: [{ id: "call_2", name: "search", args: {} }],
        },
        { role: "tool", content: "none", toolCallId: "call_2", name: "search" },
        { role: "assistant", content: "Done." },
      ],
      tools: twoTools,
      temperature: 0.2,
      maxTokens: 500,
    });
    const expected = {
      input: [
        { type: "message", role: "developer", content: "You are a bot." },
        { type: "message", role: "user", content: "Read a.txt" },
        {
          type: "function_call",
          name: "read_file",
          arguments: '{"path":"a.txt"}',
          call_id: "call_1",
        },
        { type: "function_call_output", call_id: "call_1", output: "hello" },
        { type: "message", role: "assistant", content: "And b.txt." },
        { type: "function_call", name: "search", arguments: "{}", call_id: "call_2" },
        { type: "function_call_output", call_id: "call_2", output: "none" },
        { type: "message", role: "assistant", content: "Done." },
      ],
      model: "gpt-5-codex",
      stream: false,
      tools: [
        {
          type: "function",
          name: "read_file",
          description: "Reads a file",
          parameters: closedSchema,
          strict: true,
        },
        {
          type: "function",
          name: "search",
          description: "Searches",
          parameters: openSchema,
          strict: false,
        },
      ],
      max_output_tokens: 500,
      store: false,
    };
    assert.equal(seen.length, 1);
    assert.equal(seen[0].path, "/v1/responses");
    assert.deepEqual(JSON.parse(seen[0].body), expected);
    assert.equal(seen[0].body, JSON.stringify(expected)); // the key order too
    assert.equal(seen[0].headers.get("authorization"), "Bearer sk-test");
    // Text from the message's output_text parts; calls from function_call items, by call_id.
    const { toolCalls, ...rest } = response;
    assert.deepEqual(rest, {
      text: "Reading!",
      usage: { inputTokens: 40, outputTokens: 9, cachedInputTokens: 16 },
      model: "gpt-5-codex-2025",
      finishReason: "tool_calls",
    });
    assert.deepEqual(toolCalls?.[0], { id: "call_9", name: "read_file", args: { path: "b.txt" } });
    const { argsError, ...bad } = toolCalls?.[1] ?? {};
    assert.deepEqual(bad, { id: "call_10", name: "search", args: {} });
    assert.match(argsError ?? "", /^The arguments are not valid JSON .*: \{not json$/);
  });
});

Deno.test("openai client: a schema call on a -pro model sends text.format json_schema", async () => {
  await withRecordingServer(responsesReply('{"path":"a"}'), async (baseUrl, seen) => {
    const response = await clientAt(baseUrl, { model: "o3-pro", apiKey: "sk-test" }).complete({
      messages: [{ role: "system", content: "Answer." }, { role: "user", content: "Where?" }],
      schema: {
        name: "answer",
        description: "The answer",
        jsonSchema: { $schema: "https://json-schema.org/draft/2020-12/schema", ...closedSchema },
      },
      tools: [{ name: "search", description: "Searches", parameters: openSchema }],
      temperature: 0,
      maxTokens: 300,
    });
    const expected = {
      input: [
        { type: "message", role: "developer", content: "Answer." },
        { type: "message", role: "user", content: "Where?" },
      ],
      model: "o3-pro",
      stream: false,
      text: {
        format: {
          type: "json_schema",
          name: "answer",
          description: "The answer",
          schema: closedSchema,
          strict: true,
        },
      },
      max_output_tokens: 300,
      store: false,
    };
    assert.equal(seen[0].path, "/v1/responses");
    assert.equal(seen[0].body, JSON.stringify(expected));
    assert.equal(response.text, '{"path":"a"}!');
    assert.equal(response.finishReason, "stop");
  });
});

Deno.test("openai client: only OpenAI's Responses-only models go to /responses", async () => {
  const cases: [provider: string, model: string, path: string][] = [
    ["openai", "gpt-5-codex", "/v1/responses"],
    ["openai", "gpt-5.1-codex-max", "/v1/responses"],
    ["openai", "codex-mini-latest", "/v1/responses"],
    ["openai", "gpt-5.2-pro", "/v1/responses"],
    ["openai", "gpt-5-pro-2025-10-06", "/v1/responses"],
    ["openai", "o1-pro", "/v1/responses"],
    ["openai", "gpt-5.6-sol", "/v1/responses"],
    ["openai", "gpt-4o-mini", "/v1/chat/completions"],
    ["openai", "gpt-5", "/v1/chat/completions"],
    ["openai", "o3", "/v1/chat/completions"],
    ["openai-compatible", "gpt-5-codex", "/v1/chat/completions"],
    ["ollama", "qwen2.5-codex", "/v1/chat/completions"],
  ];
  for (const [provider, model, path] of cases) {
    const reply = path === "/v1/responses" ? responsesReply("hi") : okReply;
    await withRecordingServer(reply, async (baseUrl, seen) => {
      await clientAt(baseUrl, { provider, model } as Partial<ProviderConfig>).complete({
        messages: [{ role: "user", content: "x" }],
      });
      assert.equal(seen[0].path, path, `${provider} ${model}`);
    });
  }
});

Deno.test("openai client: a Responses reply without output, cut short or failed is an error", async () => {
  const cases: [body: unknown, schema: boolean, kind: string][] = [
    [{ id: "resp_1", object: "response" }, false, "malformed"],
    [{ output: "no" }, false, "malformed"],
    [
      { status: "incomplete", incomplete_details: { reason: "max_output_tokens" }, output: [] },
      true,
      "malformed",
    ],
    [
      { status: "incomplete", incomplete_details: { reason: "content_filter" }, output: [] },
      true,
      "malformed",
    ],
    [
      { status: "failed", error: { code: "server_error", message: "boom" }, output: [] },
      false,
      "server_error",
    ],
  ];
  for (const [body, schema, kind] of cases) {
    await withRecordingServer(() => Response.json(body), async (baseUrl) => {
      const error = await failure(
        codex(baseUrl),
        schema ? { schema: { name: "s", jsonSchema: closedSchema } } : {},
      );
      assert.equal(error.kind, kind, JSON.stringify(body));
    });
  }
});

Deno.test("openai client: an incomplete Responses reply without a schema keeps its text and says why", async () => {
  const reply = () =>
    Response.json({
      status: "incomplete",
      incomplete_details: { reason: "max_output_tokens" },
      output: [{ type: "message", content: [{ type: "output_text", text: "Half a" }] }],
      usage: { input_tokens: 3, output_tokens: 8 },
    });
  await withRecordingServer(reply, async (baseUrl) => {
    const response = await codex(baseUrl).complete({
      messages: [{ role: "user", content: "x" }],
      maxTokens: 8,
    });
    assert.deepEqual(response, {
      text: "Half a",
      usage: { inputTokens: 3, outputTokens: 8 },
      model: "gpt-5-codex",
      finishReason: "length",
    });
  });
});
