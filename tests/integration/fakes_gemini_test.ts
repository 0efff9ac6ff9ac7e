/**
 * The fake Gemini server (tests/fakes) driven by the real @google/genai:
 * text, usageMetadata, streaming, function calls, responseJsonSchema, error
 * statuses and retries (opt-in); auth, list-models and timeouts: fakes_common_test.ts.
 */
import assert from "node:assert/strict";
import { ApiError, GoogleGenAI, type HttpOptions } from "@google/genai";
import { lastUserText, promptText, startFakeServer } from "../fakes/mod.ts";
import { rejection } from "../helpers/assert.ts";

const KEY = "AIza-fake-test-key";
const MODEL = "gemini-2.5-flash";

// @google/genai 3.x defaults to API version "v1"; the REST docs (and the
// features we use) are v1beta, so pin it like production code should.
function genai(baseUrl: string, http: Partial<HttpOptions> = {}) {
  return new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl, apiVersion: "v1beta", ...http } });
}

async function drain(stream: Promise<AsyncGenerator<unknown>>): Promise<void> {
  for await (const _ of await stream) { /* drain */ }
}

Deno.test("gemini fake: generateContent text reply with usageMetadata", async () => {
  await using fake = await startFakeServer("gemini", { apiKey: KEY });
  fake.enqueue({ text: "Hello!", usage: { input: 8, output: 2 } });
  const res = await genai(fake.baseURL).models.generateContent({
    model: MODEL,
    contents: "Say hi",
    config: { systemInstruction: "Be brief." },
  });
  assert.equal(res.text, "Hello!");
  assert.equal(res.usageMetadata?.promptTokenCount, 8);
  assert.equal(res.usageMetadata?.candidatesTokenCount, 2);
  assert.equal(res.usageMetadata?.totalTokenCount, 10);
  assert.equal(res.candidates?.[0].finishReason, "STOP");

  const req = fake.requests[0];
  assert.equal(req.path, `/v1beta/models/${MODEL}:generateContent`);
  assert.equal(req.headers["x-goog-api-key"], KEY);
  assert.equal(req.model, MODEL);
  assert.equal(req.stream, false);
  assert.equal(promptText(req), "Be brief.\nSay hi");
  assert.equal(lastUserText(req), "Say hi");
});

Deno.test("gemini fake: SDK default API version is v1; ?key= also authenticates", async () => {
  await using fake = await startFakeServer("gemini", { apiKey: KEY });
  fake.enqueue({ text: "v1 ok" });
  const ai = new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: fake.baseURL } });
  const res = await ai.models.generateContent({ model: MODEL, contents: "hi" });
  assert.equal(res.text, "v1 ok");
  assert.equal(fake.requests[0].path, `/v1/models/${MODEL}:generateContent`);

  fake.enqueue({ text: "query key ok" });
  const raw = await fetch(`${fake.url}/v1beta/models/${MODEL}:generateContent?key=${KEY}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] }),
  });
  assert.equal(raw.status, 200);
  const body = await raw.json();
  assert.equal(body.candidates[0].content.parts[0].text, "query key ok");
});

Deno.test("gemini fake: generateContentStream yields text chunks, usage at the end", async () => {
  await using fake = await startFakeServer("gemini", { apiKey: KEY });
  fake.enqueue({ text: "Streaming from Gemini", usage: { input: 5, output: 4 } });
  const stream = await genai(fake.baseURL).models.generateContentStream({
    model: MODEL,
    contents: "stream please",
  });
  const pieces: string[] = [];
  let last: { candidatesTokenCount?: number; promptTokenCount?: number } | undefined;
  for await (const chunk of stream) {
    pieces.push(chunk.text ?? "");
    last = chunk.usageMetadata;
  }
  assert.ok(pieces.length >= 2, `expected several chunks, got ${pieces.length}`);
  assert.equal(pieces.join(""), "Streaming from Gemini");
  assert.equal(last?.promptTokenCount, 5);
  assert.equal(last?.candidatesTokenCount, 4);
  assert.equal(fake.requests[0].path, `/v1beta/models/${MODEL}:streamGenerateContent`);
  assert.equal(fake.requests[0].stream, true);
});

const weatherTool = {
  functionDeclarations: [{
    name: "get_weather",
    description: "Weather for a city",
    parametersJsonSchema: {
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
    },
  }],
};

Deno.test("gemini fake: function calls, plain and streamed", async () => {
  await using fake = await startFakeServer("gemini", { apiKey: KEY });
  const ai = genai(fake.baseURL);
  const params = {
    model: MODEL,
    contents: "Weather in Paris?",
    config: { tools: [weatherTool] },
  };
  fake.enqueue({ toolCalls: [{ name: "get_weather", args: { city: "Paris" } }] });
  const res = await ai.models.generateContent(params);
  assert.equal(res.functionCalls?.length, 1);
  assert.equal(res.functionCalls?.[0].name, "get_weather");
  assert.deepEqual(res.functionCalls?.[0].args, { city: "Paris" });
  assert.equal(fake.requests[0].body.tools[0].functionDeclarations[0].name, "get_weather");

  fake.enqueue({
    text: "Checking.",
    toolCalls: [{ name: "get_weather", args: { city: "Rome" } }],
  });
  const calls: unknown[] = [];
  let text = "";
  for await (const chunk of await ai.models.generateContentStream(params)) {
    // `.text` warns when a chunk has non-text parts, so read one or the other.
    if (chunk.functionCalls) calls.push(...chunk.functionCalls.map((c) => c.args));
    else text += chunk.text ?? "";
  }
  assert.deepEqual(calls, [{ city: "Rome" }]);
  assert.equal(text, "Checking.");
});

Deno.test("gemini fake: responseJsonSchema is sent and the json comes back as text", async () => {
  await using fake = await startFakeServer("gemini", { apiKey: KEY });
  const schema = {
    type: "object",
    properties: { title: { type: "string" }, score: { type: "number" } },
    required: ["title", "score"],
  };
  fake.enqueue({ json: { title: "Dune", score: 9 } });
  const res = await genai(fake.baseURL).models.generateContent({
    model: MODEL,
    contents: "Review Dune",
    config: { responseMimeType: "application/json", responseJsonSchema: schema },
  });
  assert.deepEqual(JSON.parse(res.text ?? ""), { title: "Dune", score: 9 });
  const generationConfig = fake.requests[0].body.generationConfig;
  assert.equal(generationConfig.responseMimeType, "application/json");
  assert.deepEqual(generationConfig.responseJsonSchema, schema);
});

Deno.test("gemini fake: 429 (no retry by default), 500, malformed and no script reject", async () => {
  await using fake = await startFakeServer("gemini", { apiKey: KEY });
  const ai = genai(fake.baseURL);
  const params = { model: MODEL, contents: "hi" };
  fake.enqueue({ status: 429, retryAfterSec: 7 });
  const limited = await rejection(ai.models.generateContent(params));
  assert.ok(limited instanceof ApiError);
  assert.equal(limited.status, 429);
  // ApiError has no headers: the retry delay is only readable from the body
  // (RetryInfo), which the SDK puts into the message as JSON.
  const body = JSON.parse(limited.message);
  assert.equal(body.error.status, "RESOURCE_EXHAUSTED");
  assert.equal(body.error.details[0].retryDelay, "7s");
  assert.equal(fake.requests.length, 1, "no retry without httpOptions.retryOptions");

  fake.enqueue({ status: 500 });
  assert.equal((await rejection(ai.models.generateContent(params))).status, 500);

  fake.enqueue({ status: 503 });
  assert.equal((await rejection(drain(ai.models.generateContentStream(params)))).status, 503);

  fake.enqueue({ malformed: true });
  const bad = await rejection(ai.models.generateContent(params));
  assert.equal(bad.status, undefined);

  fake.enqueue({ malformed: true });
  await rejection(drain(ai.models.generateContentStream(params)));

  const none = await rejection(ai.models.generateContent(params));
  assert.equal(none.status, 500);
  assert.match(none.message, /no scripted reply/);
});

Deno.test("gemini fake: retries only with httpOptions.retryOptions", async () => {
  await using fake = await startFakeServer("gemini", { apiKey: KEY });
  const ai = genai(fake.baseURL, { retryOptions: { attempts: 2, initialDelay: 0.01 } });
  fake.enqueue({ status: 429 }, { text: "second try" });
  const res = await ai.models.generateContent({ model: MODEL, contents: "hi" });
  assert.equal(res.text, "second try");
  assert.equal(fake.requests.length, 2);
});
