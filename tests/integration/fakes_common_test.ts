/**
 * The scenarios every fake server must pass the same way, one test per
 * scenario and a step per provider, each driven by that provider's real SDK:
 * list-models, a refused key, and a slow reply cut short by the client.
 * Provider-specific error shapes are checked by each provider's entry.
 */
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import { ApiError, GoogleGenAI, type HttpOptions } from "@google/genai";
import { ChatOpenAI, OpenAIClient } from "@langchain/openai";
import { type FakeKind, type FakeServer, startFakeServer } from "../fakes/mod.ts";
import { type ErrorRecord, rejection } from "../helpers/assert.ts";

// LangSmith tracing would post runs to the internet; make sure it is off.
for (const name of ["LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING", "LANGSMITH_TRACING"]) {
  Deno.env.delete(name);
}

interface CallOptions {
  apiKey?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** One provider's SDK, reduced to the calls the shared scenarios make. */
interface Provider {
  kind: FakeKind;
  key: string;
  wrongKey: string;
  model: string;
  /** How the models list names `model`. */
  listedName: string;
  generate(baseURL: string, options?: CallOptions): Promise<unknown>;
  listModels(baseURL: string, apiKey?: string): Promise<string[]>;
  getModel(baseURL: string, model: string): Promise<string | undefined>;
  /** The provider's own checks on a refused-key error. */
  checkRefused(err: ErrorRecord): void;
  checkTimedOut(err: ErrorRecord): void;
  checkAborted(err: ErrorRecord): void;
}

function anthropic(baseURL: string, options: CallOptions = {}) {
  return new Anthropic({
    baseURL,
    apiKey: options.apiKey ?? "sk-ant-fake-test-key",
    maxRetries: 0,
    ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
  });
}

// @google/genai 3.x defaults to API version "v1"; pin v1beta like production code.
function genai(baseUrl: string, options: CallOptions = {}) {
  const http: HttpOptions = { baseUrl, apiVersion: "v1beta" };
  if (options.timeoutMs) http.timeout = options.timeoutMs;
  return new GoogleGenAI({ apiKey: options.apiKey ?? "AIza-fake-test-key", httpOptions: http });
}

function openaiClient(baseURL: string, apiKey = "sk-fake-test-key") {
  return new OpenAIClient({ apiKey, baseURL, maxRetries: 0 });
}

const PROVIDERS: Provider[] = [
  {
    kind: "openai",
    key: "sk-fake-test-key",
    wrongKey: "sk-wrong",
    model: "gpt-4o-mini",
    listedName: "gpt-4o-mini",
    generate: (baseURL, options = {}) =>
      new ChatOpenAI({
        model: "gpt-4o-mini",
        apiKey: options.apiKey ?? "sk-fake-test-key",
        configuration: { baseURL },
        maxRetries: 0,
        ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
      }).invoke("hi", { signal: options.signal }),
    async listModels(baseURL, apiKey) {
      const ids: string[] = [];
      for await (const m of openaiClient(baseURL, apiKey).models.list()) ids.push(m.id);
      return ids;
    },
    getModel: async (baseURL, model) => (await openaiClient(baseURL).models.retrieve(model)).id,
    checkRefused(err) {
      assert.equal(err.lc_error_code, "MODEL_AUTHENTICATION");
      assert.equal((err.error as { code?: string }).code, "invalid_api_key");
    },
    checkTimedOut: (err) => assert.equal(err.name, "TimeoutError"),
    checkAborted: (err) => assert.match(`${err.name} ${err.message}`, /Abort|abort/),
  },
  {
    kind: "anthropic",
    key: "sk-ant-fake-test-key",
    wrongKey: "sk-ant-wrong",
    model: "claude-3-5-haiku-latest",
    listedName: "claude-3-5-haiku-latest",
    generate: (baseURL, options = {}) =>
      anthropic(baseURL, options).messages.create({
        model: "claude-3-5-haiku-latest",
        max_tokens: 256,
        messages: [{ role: "user", content: "Hello" }],
      }, { signal: options.signal }),
    async listModels(baseURL, apiKey) {
      const ids: string[] = [];
      for await (const m of anthropic(baseURL, { apiKey }).models.list()) ids.push(m.id);
      return ids;
    },
    getModel: async (baseURL, model) => (await anthropic(baseURL).models.retrieve(model)).id,
    checkRefused(err) {
      assert.ok(err instanceof Anthropic.AuthenticationError);
      assert.equal((err.error as { error: { type: string } }).error.type, "authentication_error");
    },
    checkTimedOut: (err) => assert.ok(err instanceof Anthropic.APIConnectionTimeoutError),
    checkAborted: (err) => assert.ok(err instanceof Anthropic.APIUserAbortError),
  },
  {
    kind: "gemini",
    key: "AIza-fake-test-key",
    wrongKey: "AIza-wrong",
    model: "gemini-2.5-flash",
    listedName: "models/gemini-2.5-flash",
    generate: (baseURL, options = {}) =>
      genai(baseURL, options).models.generateContent({
        model: "gemini-2.5-flash",
        contents: "hi",
        config: options.signal ? { abortSignal: options.signal } : {},
      }),
    async listModels(baseURL, apiKey) {
      const names: string[] = [];
      for await (const m of await genai(baseURL, { apiKey }).models.list()) {
        names.push(m.name ?? "");
      }
      return names;
    },
    getModel: async (baseURL, model) => (await genai(baseURL).models.get({ model })).name,
    checkRefused(err) {
      assert.ok(err instanceof ApiError);
      assert.equal(JSON.parse(err.message).error.status, "UNAUTHENTICATED");
    },
    checkTimedOut: (err) => assert.match(`${err.name} ${err.message}`, /abort|timeout/i),
    checkAborted: (err) => assert.match(`${err.name} ${err.message}`, /abort|timeout/i),
  },
];

/** Runs `scenario` once per provider, as a step, against a fresh fake. */
async function eachProvider(
  t: Deno.TestContext,
  scenario: (p: Provider, fake: FakeServer) => Promise<void>,
): Promise<void> {
  for (const p of PROVIDERS) {
    await t.step(p.kind, async () => {
      await using fake = await startFakeServer(p.kind, { apiKey: p.key });
      await scenario(p, fake);
    });
  }
}

Deno.test("fakes: list-models lists the default models and is not a model request", async (t) => {
  await eachProvider(t, async (p, fake) => {
    const names = await p.listModels(fake.baseURL);
    assert.ok(names.includes(p.listedName), names.join(","));
    assert.equal(await p.getModel(fake.baseURL, p.model), p.listedName);
    assert.equal(fake.requests.length, 0, "list-models is not a model request");
  });
});

Deno.test("fakes: a wrong key gets 401, for a model call and for list-models", async (t) => {
  await eachProvider(t, async (p, fake) => {
    fake.enqueue({ text: "never sent" });
    const err = await rejection(p.generate(fake.baseURL, { apiKey: p.wrongKey }));
    assert.equal(err.status, 401);
    p.checkRefused(err);
    assert.equal(fake.requests.length, 1, "refused requests are still recorded");
    assert.equal((await rejection(p.listModels(fake.baseURL, p.wrongKey))).status, 401);
  });
});

Deno.test("fakes: a slow reply trips the client timeout and abort; close is prompt", async (t) => {
  for (const p of PROVIDERS) {
    await t.step(p.kind, async () => {
      const fake = await startFakeServer(p.kind, { apiKey: p.key });
      try {
        fake.enqueue({ text: "too late", delayMs: 5_000 }, { text: "too late", delayMs: 5_000 });
        const started = Date.now();
        p.checkTimedOut(await rejection(p.generate(fake.baseURL, { timeoutMs: 200 })));
        const signal = AbortSignal.timeout(200);
        p.checkAborted(await rejection(p.generate(fake.baseURL, { signal })));
        assert.ok(Date.now() - started < 3_000, "the calls did not wait for the fake");
      } finally {
        const closing = Date.now();
        await fake.close();
        assert.ok(Date.now() - closing < 2_000, "close() cut the pending delays short");
      }
    });
  }
});
