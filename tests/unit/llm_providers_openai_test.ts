/** Strict JSON schemas for OpenAI structured output; the request bodies and errors of the client. */
import assert from "node:assert/strict";
import { LlmError } from "../../llm/errors.ts";
import type { ProviderConfig } from "../../llm/provider_config.ts";
import { createOpenAiClient, isStrictCompatible } from "../../llm/providers/openai.ts";

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

/** A local server that records each request and answers with `reply`. */
async function withRecordingServer(
  reply: () => Response,
  run: (baseUrl: string, seen: { headers: Headers; body: string }[]) => Promise<void>,
) {
  const seen: { headers: Headers; body: string }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    seen.push({ headers: req.headers, body: await req.text() });
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

const closedSchema = {
  type: "object",
  properties: { path: { type: "string" } },
  required: ["path"],
  additionalProperties: false,
};
const openSchema = { type: "object", properties: { q: { type: "string" } }, required: [] };

// The bodies below are the ones @langchain/openai 1.6's ChatOpenAI sent for the
// same requests (captured before it was replaced): same keys, same order.
Deno.test("openai client: a call with tools and a tool-call history sends ChatOpenAI's body", async () => {
  await withRecordingServer(okReply, async (baseUrl, seen) => {
    const client = createOpenAiClient({
      provider: "openai",
      model: "gpt-4o-mini",
      apiKey: "sk-test",
      baseUrl,
    } as ProviderConfig);
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
      tools: [
        { name: "read_file", description: "Reads a file", parameters: closedSchema },
        { name: "search", description: "Searches", parameters: openSchema },
      ],
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
    const client = createOpenAiClient({
      provider: "openai",
      model: "gpt-4o-mini",
      apiKey: "",
      baseUrl,
    } as ProviderConfig);
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
    const client = createOpenAiClient({
      provider: "openai",
      model: "o3-mini",
      apiKey: "k",
      baseUrl,
    } as ProviderConfig);
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
    const client = createOpenAiClient({
      provider: "openai",
      model: "gpt-4o-mini",
      apiKey: "k",
      baseUrl,
    } as ProviderConfig);
    const error = await client.complete({ messages: [{ role: "user", content: "x" }] }).then(
      () => assert.fail("expected an error"),
      (e) => e,
    );
    assert.ok(error instanceof LlmError);
    assert.equal(error.kind, "rate_limited");
    assert.equal(error.status, 429);
    assert.equal(error.retryAfterMs, 7000);
  });
});

Deno.test("openai client: a 2xx reply without choices or not JSON is malformed", async () => {
  for (const body of ['{"id":"x","choices":[]}', "<html>proxy</html>"]) {
    await withRecordingServer(() => new Response(body), async (baseUrl) => {
      const client = createOpenAiClient({
        provider: "ollama",
        model: "llama3.1",
        apiKey: "",
        baseUrl,
      } as ProviderConfig);
      const error = await client.complete({ messages: [{ role: "user", content: "x" }] }).then(
        () => assert.fail("expected an error"),
        (e) => e,
      );
      assert.ok(error instanceof LlmError);
      assert.equal(error.kind, "malformed");
    });
  }
});
