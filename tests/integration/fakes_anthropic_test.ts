/**
 * The fake Anthropic server (tests/fakes) driven by the real @anthropic-ai/sdk:
 * text, usage, streaming, forced tool_use, native structured output, error
 * statuses and retries (auth, list-models and timeouts: fakes_common_test.ts).
 */
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import { jsonSchemaOutputFormat } from "@anthropic-ai/sdk/helpers/json-schema";
import { lastUserText, promptText, startFakeServer } from "../fakes/mod.ts";
import { rejection } from "../helpers/assert.ts";

const KEY = "sk-ant-fake-test-key";
const MODEL = "claude-3-5-haiku-latest";

function client(baseURL: string, extra: Partial<ConstructorParameters<typeof Anthropic>[0]> = {}) {
  return new Anthropic({ baseURL, apiKey: KEY, maxRetries: 0, ...extra });
}

const hello = {
  model: MODEL,
  max_tokens: 256,
  system: "Be brief.",
  messages: [{ role: "user" as const, content: "Hello" }],
};

Deno.test("anthropic fake: messages.create text reply with usage", async () => {
  await using fake = await startFakeServer("anthropic", { apiKey: KEY });
  fake.enqueue({ text: "Hi!", usage: { input: 11, output: 2 } });
  const msg = await client(fake.baseURL).messages.create(hello);
  assert.equal(msg.content[0].type, "text");
  assert.equal(msg.content[0].type === "text" ? msg.content[0].text : "", "Hi!");
  assert.equal(msg.usage.input_tokens, 11);
  assert.equal(msg.usage.output_tokens, 2);
  assert.equal(msg.stop_reason, "end_turn");
  assert.equal(msg.model, MODEL);

  const req = fake.requests[0];
  assert.equal(req.path, "/v1/messages");
  // SDK 1.x sends the key as a bearer token, not x-api-key.
  assert.equal(req.headers["authorization"], `Bearer ${KEY}`);
  assert.match(req.headers["anthropic-version"], /^\d{4}-\d{2}-\d{2}$/);
  assert.equal(req.stream, false);
  assert.equal(promptText(req), "Be brief.\nHello");
  assert.equal(lastUserText(req), "Hello");
});

Deno.test("anthropic fake: messages.stream assembles text and usage", async () => {
  await using fake = await startFakeServer("anthropic", { apiKey: KEY });
  fake.enqueue({ text: "A long streamed answer", usage: { input: 20, output: 6 } });
  const deltas: string[] = [];
  const stream = client(fake.baseURL).messages.stream(hello);
  stream.on("text", (t) => deltas.push(t));
  const msg = await stream.finalMessage();
  assert.ok(deltas.length >= 2, `expected several deltas, got ${deltas.length}`);
  assert.equal(deltas.join(""), "A long streamed answer");
  assert.equal(
    msg.content[0].type === "text" ? msg.content[0].text : "",
    "A long streamed answer",
  );
  assert.equal(msg.usage.input_tokens, 20);
  assert.equal(msg.usage.output_tokens, 6);
  assert.equal(msg.stop_reason, "end_turn");
  assert.equal(fake.requests[0].body.stream, true);

  // The raw event sequence, as create({ stream: true }) yields it.
  fake.enqueue({ text: "ok" });
  const raw = await client(fake.baseURL).messages.create({ ...hello, stream: true });
  const types: string[] = [];
  for await (const event of raw) {
    if (types.at(-1) !== event.type) types.push(event.type); // one entry per run of deltas
  }
  assert.deepEqual(types, [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
  ]);
});

const recordTool = {
  name: "record_review",
  description: "Record a review",
  input_schema: {
    type: "object" as const,
    properties: { title: { type: "string" }, score: { type: "number" } },
    required: ["title", "score"],
  },
};

Deno.test("anthropic fake: forced tool_choice returns json as tool_use input", async () => {
  await using fake = await startFakeServer("anthropic", { apiKey: KEY });
  const params = {
    ...hello,
    tools: [recordTool],
    tool_choice: { type: "tool" as const, name: "record_review" },
  };
  fake.enqueue({ json: { title: "Dune", score: 9 } });
  const msg = await client(fake.baseURL).messages.create(params);
  assert.equal(msg.stop_reason, "tool_use");
  const block = msg.content[0];
  assert.equal(block.type, "tool_use");
  if (block.type === "tool_use") {
    assert.equal(block.name, "record_review");
    assert.deepEqual(block.input, { title: "Dune", score: 9 });
    assert.match(block.id, /^toolu_/);
  }
  assert.equal(fake.requests[0].body.tool_choice.name, "record_review");

  // Streamed: the input arrives as input_json_delta pieces.
  fake.enqueue({ json: { title: "Emma", score: 7 } });
  const streamed = await client(fake.baseURL).messages.stream(params).finalMessage();
  const first = streamed.content[0];
  assert.deepEqual(first.type === "tool_use" ? first.input : null, { title: "Emma", score: 7 });

  // Explicit tool calls next to text.
  fake.enqueue({ text: "Let me look.", toolCalls: [{ name: "record_review", args: { x: 1 } }] });
  const mixed = await client(fake.baseURL).messages.create({ ...hello, tools: [recordTool] });
  assert.deepEqual(mixed.content.map((b) => b.type), ["text", "tool_use"]);
});

Deno.test("anthropic fake: output_config json_schema is sent and parsed from text", async () => {
  await using fake = await startFakeServer("anthropic", { apiKey: KEY });
  fake.enqueue({ json: { answer: 4 } });
  const msg = await client(fake.baseURL).messages.parse({
    ...hello,
    output_config: {
      format: jsonSchemaOutputFormat({
        type: "object",
        properties: { answer: { type: "number" } },
        required: ["answer"],
        additionalProperties: false,
      }),
    },
  });
  assert.deepEqual(msg.parsed_output, { answer: 4 });
  const format = fake.requests[0].body.output_config.format;
  assert.equal(format.type, "json_schema");
  assert.deepEqual(format.schema.required, ["answer"]);
});

Deno.test("anthropic fake: 429 with retry-after, 500, malformed and no script reject", async () => {
  await using fake = await startFakeServer("anthropic", { apiKey: KEY });
  const c = client(fake.baseURL);
  fake.enqueue({ status: 429, retryAfterSec: 7 });
  const limited = await rejection(c.messages.create(hello));
  assert.ok(limited instanceof Anthropic.RateLimitError);
  assert.equal(limited.status, 429);
  assert.equal((limited.headers as Headers).get("retry-after"), "7");
  assert.equal((limited.error as { error: { type: string } }).error.type, "rate_limit_error");
  assert.match(String(limited.requestID), /^req_fake_/);

  fake.enqueue({ status: 500 });
  const failed = await rejection(c.messages.create(hello));
  assert.ok(failed instanceof Anthropic.InternalServerError);
  assert.equal(failed.status, 500);

  fake.enqueue({ status: 529 });
  const overloaded = await rejection(c.messages.create(hello));
  assert.equal(overloaded.status, 529);
  assert.equal((overloaded.error as { error: { type: string } }).error.type, "overloaded_error");

  fake.enqueue({ malformed: true });
  const bad = await rejection(c.messages.create(hello));
  assert.equal(bad.status, undefined);

  fake.enqueue({ malformed: true });
  // logLevel "off" keeps the SDK from printing the unparsable chunk.
  const quiet = client(fake.baseURL, { logLevel: "off" });
  await rejection(quiet.messages.stream(hello).finalMessage());

  const none = await rejection(c.messages.create(hello));
  assert.equal(none.status, 500);
  assert.match(none.message, /no scripted reply/);
});

Deno.test("anthropic fake: the SDK retries a 429 after its retry-after", async () => {
  await using fake = await startFakeServer("anthropic", { apiKey: KEY });
  // The SDK ignores `retry-after: 0` (falls back to ~0.5 s backoff) but
  // honours any positive value, fractions included.
  fake.enqueue({ status: 429, retryAfterSec: 0.05 }, { text: "fine now" });
  const msg = await client(fake.baseURL, { maxRetries: 1 }).messages.create(hello);
  assert.equal(msg.content[0].type === "text" ? msg.content[0].text : "", "fine now");
  assert.equal(fake.requests.length, 2);
  assert.equal(fake.requests[1].headers["x-stainless-retry-count"], "1");
});
