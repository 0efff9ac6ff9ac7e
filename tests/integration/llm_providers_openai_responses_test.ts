/**
 * OpenAI's Responses-only models (codex, the `-pro` ones) through the LLM
 * service and the OpenAI client against the fake OpenAI server's
 * `/v1/responses`: a native tool-call round trip, usage, a 429's Retry-After,
 * a schema reply cut at the output limit, and the fake itself checked against
 * the openai SDK and LangChain's ChatOpenAI (which sent these models there too).
 */
import assert from "node:assert/strict";
import { ChatOpenAI, OpenAIClient } from "@langchain/openai";
import { type FakeServer, requestTexts, startFakeServer } from "../fakes/mod.ts";
import { rejection } from "../helpers/assert.ts";
import { tempDir, testSettings } from "../helpers/temp.ts";
import { createLlmService } from "../../llm/service.ts";
import { LlmError } from "../../llm/errors.ts";
import type { CompletionRequest, LlmService, ToolDeclaration } from "../../llm/types.ts";

for (const name of ["LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING", "LANGSMITH_TRACING"]) {
  Deno.env.delete(name);
}

const KEY = "fake-key-123";
const MODEL = "gpt-5-codex";

/** An LLM service on provider `openai`, model gpt-5-codex, pointed at a fresh fake. */
async function withCodex(
  retries: number,
  body: (llm: LlmService, fake: FakeServer) => Promise<void>,
) {
  await using dir = await tempDir();
  await using fake = await startFakeServer("openai", { apiKey: KEY });
  const settings = testSettings(dir.path, {
    CLOSED_CLAW_LLM_PROVIDER: "openai",
    CLOSED_CLAW_LLM_MODEL: MODEL,
    CLOSED_CLAW_LLM_MAX_RETRIES: String(retries),
    OPENAI_API_KEY: KEY,
    OPENAI_BASE_URL: fake.baseURL,
  });
  await body(createLlmService({ settings, timing: { retryBaseMs: 10 } }), fake);
}

const readFile: ToolDeclaration = {
  name: "read_file",
  description: "Read a file.",
  parameters: {
    type: "object",
    properties: { path: { type: "string" } },
    required: ["path"],
    additionalProperties: false,
  },
};
const meta = { purpose: "agent_step" };
const ask: CompletionRequest = {
  messages: [
    { role: "system", content: "You are a careful agent." },
    { role: "user", content: "What does notes.txt say?" },
  ],
  tools: [readFile],
  temperature: 0.3, // not sent: codex refuses it (the fake too)
};

Deno.test("openai responses: a native tool-call round trip over /v1/responses", async () => {
  await withCodex(0, async (llm, fake) => {
    fake.enqueue(
      {
        toolCalls: [{ id: "call_r1", name: "read_file", args: { path: "notes.txt" } }],
        usage: { input: 120, output: 14, cached: 64 },
      },
      { text: "notes.txt says hello.", usage: { input: 150, output: 6 } },
    );
    const first = await llm.complete(ask, meta);
    assert.deepEqual(first.toolCalls, [
      { id: "call_r1", name: "read_file", args: { path: "notes.txt" } },
    ]);
    assert.equal(first.text, "");
    assert.equal(first.finishReason, "tool_calls");
    assert.deepEqual(first.usage, { inputTokens: 120, outputTokens: 14, cachedInputTokens: 64 });
    assert.equal(first.model, MODEL);

    const second = await llm.complete({
      ...ask,
      messages: [
        ...ask.messages,
        { role: "assistant", content: "", toolCalls: first.toolCalls },
        { role: "tool", content: "hello", toolCallId: "call_r1", name: "read_file" },
      ],
    }, meta);
    assert.equal(second.text, "notes.txt says hello.");
    assert.equal(second.finishReason, "stop");
    assert.equal(second.toolCalls, undefined);
    assert.deepEqual(second.usage, { inputTokens: 150, outputTokens: 6 });

    assert.deepEqual(fake.requests.map((r) => r.path), ["/v1/responses", "/v1/responses"]);
    const [body1, body2] = fake.requests.map((r) => r.body);
    assert.deepEqual(body1.tools.map((t: { name: string }) => t.name), ["read_file"]);
    assert.equal(body1.store, false);
    assert.equal(body1.temperature, undefined);
    // The call and its result went back as items (the fake refuses an output without its call).
    assert.deepEqual(body2.input.slice(2), [
      {
        type: "function_call",
        name: "read_file",
        arguments: '{"path":"notes.txt"}',
        call_id: "call_r1",
      },
      { type: "function_call_output", call_id: "call_r1", output: "hello" },
    ]);
    assert.deepEqual(requestTexts(fake.requests[1]).messages.at(-1), {
      role: "tool",
      text: "hello",
    });
  });
});

Deno.test("openai responses: a 429 with Retry-After is rate_limited; with retries it is waited out", async () => {
  await withCodex(0, async (llm, fake) => {
    fake.enqueue({ status: 429, retryAfterSec: 7 });
    const error = await rejection(llm.complete(ask, meta), LlmError);
    assert.equal(error.kind, "rate_limited");
    assert.equal(error.status, 429);
    assert.equal(error.retryAfterMs, 7000);
    assert.equal(fake.requests[0].path, "/v1/responses");
  });
  await withCodex(2, async (llm, fake) => {
    fake.enqueue({ status: 429, retryAfterSec: 0 }, { text: "second time" });
    assert.equal((await llm.complete(ask, meta)).text, "second time");
    assert.equal(fake.requests.length, 2);
  });
});

Deno.test("openai responses: a schema reply cut at max_output_tokens is malformed, billed and not asked again", async () => {
  await withCodex(2, async (llm, fake) => {
    fake.enqueue({
      json: { answer: "a long answ" },
      finishReason: "length",
      usage: { input: 1200, output: 5 },
    });
    const meta = { purpose: "agent_step", runId: "run-cut" };
    const error = await rejection(
      llm.complete({
        messages: [{ role: "user", content: "Answer in JSON." }],
        schema: {
          name: "answer",
          jsonSchema: {
            type: "object",
            properties: { answer: { type: "string" } },
            required: ["answer"],
            additionalProperties: false,
          },
        },
        maxTokens: 5,
      }, meta),
      LlmError,
    );
    assert.equal(error.kind, "malformed");
    assert.match(error.message, /length limit was reached/);
    // The same request would be cut again: it is not retried, and what it used counts.
    assert.equal(fake.requests.length, 1);
    assert.deepEqual(
      [llm.runUsage("run-cut").inputTokens, llm.runUsage("run-cut").outputTokens],
      [1200, 5],
    );
    const body = fake.requests[0].body;
    assert.equal(body.max_output_tokens, 5);
    assert.equal(body.text.format.type, "json_schema");
    assert.equal(body.text.format.strict, true);
  });
});

Deno.test("openai responses: the fake refuses what OpenAI refuses", async () => {
  await using fake = await startFakeServer("openai");
  const client = new OpenAIClient({ apiKey: KEY, baseURL: fake.baseURL, maxRetries: 0 });
  const refused = async (body: Record<string, unknown>) =>
    (await rejection(client.post("/responses", { body }))).message as string;
  assert.match(
    await refused({ model: MODEL, messages: [] }),
    /^400 Unknown parameter: 'messages'/,
  );
  assert.match(
    await refused({
      model: MODEL,
      input: [{ type: "function_call_output", call_id: "call_x", output: "hi" }],
    }),
    /No tool call found for function call output with call_id call_x/,
  );
  assert.match(
    await refused({ model: MODEL, input: "hi", temperature: 0 }),
    /'temperature' is not supported with this model/,
  );
  assert.match(
    await refused({
      model: MODEL,
      input: "hi",
      tools: [{ type: "function", function: { name: "read_file" } }],
    }),
    /Missing required parameter: 'tools\[0\]\.name'/,
  );
  assert.equal(fake.requests.length, 4);
});

Deno.test("openai responses: the openai SDK and ChatOpenAI read the fake's replies", async () => {
  await using fake = await startFakeServer("openai", { apiKey: KEY });
  fake.enqueue({ text: "Hello", usage: { input: 10, output: 2, cached: 4 } });
  const client = new OpenAIClient({ apiKey: KEY, baseURL: fake.baseURL, maxRetries: 0 });
  const res = await client.responses.create({ model: MODEL, input: "Say hello", store: false });
  assert.equal(res.output_text, "Hello");
  assert.equal(res.status, "completed");
  assert.equal(res.usage?.input_tokens_details.cached_tokens, 4);

  // ChatOpenAI 1.6 sent codex here too: the fake takes its bodies and it reads the calls back.
  fake.enqueue({ toolCalls: [{ id: "call_c", name: "read_file", args: { path: "a" } }] });
  const chat = new ChatOpenAI({
    model: MODEL,
    apiKey: KEY,
    configuration: { baseURL: fake.baseURL },
    maxRetries: 0,
  });
  const msg = await chat.bindTools([{
    type: "function",
    function: { name: "read_file", description: "Read", parameters: readFile.parameters },
  }]).invoke("Read a");
  assert.deepEqual(msg.tool_calls?.map((c) => [c.id, c.name, c.args]), [
    ["call_c", "read_file", { path: "a" }],
  ]);
  assert.deepEqual(fake.requests.map((r) => r.path), ["/v1/responses", "/v1/responses"]);
});
