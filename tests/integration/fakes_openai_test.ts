/**
 * The fake OpenAI server (tests/fakes) driven by the real @langchain/openai
 * ChatOpenAI and the openai SDK client it wraps: text, usage, streaming, tool
 * calls, structured output, error statuses and retries (auth, list-models and
 * timeouts: fakes_common_test.ts).
 */
import assert from "node:assert/strict";
import { ChatOpenAI, OpenAIClient } from "@langchain/openai";
import { z } from "zod";
import { lastUserText, promptText, startFakeServer } from "../fakes/mod.ts";
import { rejection } from "../helpers/assert.ts";

// LangSmith tracing would post runs to the internet; make sure it is off.
for (const name of ["LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING", "LANGSMITH_TRACING"]) {
  Deno.env.delete(name);
}

const KEY = "sk-fake-test-key";

function chat(baseURL: string, extra: Record<string, unknown> = {}) {
  return new ChatOpenAI({
    model: "gpt-4o-mini",
    apiKey: KEY,
    configuration: { baseURL },
    maxRetries: 0,
    ...extra,
  });
}

/** Concatenates a stream of message chunks into one. */
async function gather<T extends { concat(other: T): T }>(stream: AsyncIterable<T>) {
  let whole: T | undefined;
  for await (const chunk of stream) whole = whole ? whole.concat(chunk) : chunk;
  return whole;
}

Deno.test("openai fake: ChatOpenAI text reply with usage_metadata", async () => {
  await using fake = await startFakeServer("openai", { apiKey: KEY });
  fake.enqueue({ text: "Hello there", usage: { input: 12, output: 3 } });
  const msg = await chat(fake.baseURL).invoke([
    ["system", "You are terse."],
    ["human", "Say hi"],
  ]);
  assert.equal(msg.content, "Hello there");
  assert.deepEqual(
    {
      input: msg.usage_metadata?.input_tokens,
      output: msg.usage_metadata?.output_tokens,
      total: msg.usage_metadata?.total_tokens,
    },
    { input: 12, output: 3, total: 15 },
  );
  assert.equal(msg.response_metadata.finish_reason, "stop");

  assert.equal(fake.requests.length, 1);
  const req = fake.requests[0];
  assert.equal(req.path, "/v1/chat/completions");
  assert.equal(req.headers["authorization"], `Bearer ${KEY}`);
  assert.equal(req.model, "gpt-4o-mini");
  assert.equal(req.stream, false);
  assert.equal(promptText(req), "You are terse.\nSay hi");
  assert.equal(lastUserText(req), "Say hi");
});

Deno.test("openai fake: default usage counts and a handler answering by prompt", async () => {
  await using fake = await startFakeServer("openai");
  fake.handle((req, index) => ({ text: `#${index} echo: ${lastUserText(req)}` }));
  const model = chat(fake.baseURL);
  assert.equal((await model.invoke("ping")).content, "#0 echo: ping");
  const second = await model.invoke("pong");
  assert.equal(second.content, "#1 echo: pong");
  assert.ok((second.usage_metadata?.input_tokens ?? 0) > 0);
  assert.ok((second.usage_metadata?.output_tokens ?? 0) > 0);
});

Deno.test("openai fake: streaming text arrives in chunks, usage in the last one", async () => {
  await using fake = await startFakeServer("openai", { apiKey: KEY });
  fake.enqueue({ text: "The quick brown fox jumps", usage: { input: 9, output: 5 } });
  const stream = await chat(fake.baseURL).stream("Tell me about foxes");
  let text = "";
  let pieces = 0;
  let usage: { input_tokens: number; output_tokens: number } | undefined;
  for await (const chunk of stream) {
    if (typeof chunk.content === "string" && chunk.content !== "") {
      text += chunk.content;
      pieces++;
    }
    if (chunk.usage_metadata) usage = chunk.usage_metadata;
  }
  assert.equal(text, "The quick brown fox jumps");
  assert.ok(pieces >= 2, `expected several text chunks, got ${pieces}`);
  assert.equal(usage?.input_tokens, 9);
  assert.equal(usage?.output_tokens, 5);

  const body = fake.requests[0].body;
  assert.equal(body.stream, true);
  assert.deepEqual(body.stream_options, { include_usage: true });
  assert.equal(fake.requests[0].stream, true);
});

const weatherTool = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Weather for a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
    },
  },
};

Deno.test("openai fake: tool calls via bindTools, plain and streamed", async () => {
  await using fake = await startFakeServer("openai", { apiKey: KEY });
  const model = chat(fake.baseURL).bindTools([weatherTool]);
  fake.enqueue({ toolCalls: [{ name: "get_weather", args: { city: "Paris" }, id: "call_1" }] });
  const msg = await model.invoke("Weather in Paris?");
  assert.equal(msg.tool_calls?.length, 1);
  assert.equal(msg.tool_calls?.[0].name, "get_weather");
  assert.deepEqual(msg.tool_calls?.[0].args, { city: "Paris" });
  assert.equal(msg.tool_calls?.[0].id, "call_1");
  assert.equal(msg.response_metadata.finish_reason, "tool_calls");
  assert.equal(fake.requests[0].body.tools[0].function.name, "get_weather");

  fake.enqueue({
    toolCalls: [
      { name: "get_weather", args: { city: "Oslo" } },
      { name: "get_weather", args: { city: "Rome" } },
    ],
  });
  const whole = await gather(await model.stream("Weather in Oslo and Rome?"));
  assert.deepEqual(whole?.tool_calls?.map((c) => c.args), [{ city: "Oslo" }, { city: "Rome" }]);
});

Deno.test("openai fake: withStructuredOutput jsonSchema strict sends the schema, parses json", async () => {
  await using fake = await startFakeServer("openai", { apiKey: KEY });
  const schema = z.object({ title: z.string(), score: z.number() });
  const model = chat(fake.baseURL).withStructuredOutput(schema, {
    method: "jsonSchema",
    strict: true,
    name: "review",
  });
  fake.enqueue({ json: { title: "Dune", score: 9 } });
  const out = await model.invoke("Review Dune");
  assert.deepEqual(out, { title: "Dune", score: 9 });

  const format = fake.requests[0].body.response_format;
  assert.equal(format.type, "json_schema");
  assert.equal(format.json_schema.name, "review");
  assert.equal(format.json_schema.strict, true);
  assert.deepEqual(Object.keys(format.json_schema.schema.properties).sort(), ["score", "title"]);
  assert.equal(format.json_schema.schema.additionalProperties, false);
});

Deno.test("openai fake: 429 with Retry-After surfaces status 429 when retries are 0", async () => {
  await using fake = await startFakeServer("openai", { apiKey: KEY });
  fake.enqueue({ status: 429, retryAfterSec: 7 });
  const err = await rejection(chat(fake.baseURL).invoke("hi"));
  assert.equal(err.status, 429);
  assert.equal(err.lc_error_code, "MODEL_RATE_LIMIT");
  assert.equal((err.headers as Headers).get("retry-after"), "7");
  // @langchain/core's retry classifier stamps the hint on the error.
  assert.equal(err.retryAfterMs, 7000);
  assert.equal(fake.requests.length, 1);

  // Without Retry-After, LangChain classifies it as a capacity problem.
  fake.enqueue({ status: 429 });
  const bare = await rejection(chat(fake.baseURL).invoke("hi"));
  assert.equal(bare.status, 429);
  assert.equal(bare.rateLimitReason, "headerless_429");
});

Deno.test("openai fake: the openai client retries a 429 after Retry-After: 0", async () => {
  await using fake = await startFakeServer("openai", { apiKey: KEY });
  const client = new OpenAIClient({ apiKey: KEY, baseURL: fake.baseURL, maxRetries: 1 });
  fake.enqueue({ status: 429, retryAfterSec: 0 }, { text: "second time lucky" });
  const res = await client.chat.completions.create({
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: "hi" }],
  });
  assert.equal(res.choices[0].message.content, "second time lucky");
  assert.equal(
    res.usage?.total_tokens,
    (res.usage?.prompt_tokens ?? 0) + (res.usage?.completion_tokens ?? 0),
  );
  assert.equal(fake.requests.length, 2);
  assert.equal(fake.requests[1].headers["x-stainless-retry-count"], "1");
});

Deno.test("openai fake: 500, malformed JSON and a missing script all reject", async () => {
  await using fake = await startFakeServer("openai", { apiKey: KEY });
  const model = chat(fake.baseURL);
  fake.enqueue({ status: 500 });
  assert.equal((await rejection(model.invoke("hi"))).status, 500);

  fake.enqueue({ malformed: true });
  const bad = await rejection(model.invoke("hi"));
  assert.equal(bad.status, undefined);

  fake.enqueue({ malformed: true });
  // logLevel "off" keeps the SDK from printing the unparsable chunk.
  const quiet = chat(fake.baseURL, { configuration: { baseURL: fake.baseURL, logLevel: "off" } });
  await rejection((async () => {
    for await (const _ of await quiet.stream("hi")) { /* drain */ }
  })());

  const none = await rejection(model.invoke("hi"));
  assert.equal(none.status, 500);
  assert.match(none.message, /no scripted reply/);
});
