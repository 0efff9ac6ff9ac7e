/** Pure parts of the LLM layer: prices, request hashes, strict schemas, SDK error mapping. */
import assert from "node:assert/strict";
import { costOf, priceFor } from "../../llm/prices.ts";
import { requestHash } from "../../llm/cassette.ts";
import { isStrictCompatible } from "../../llm/providers/openai.ts";
import { toLlmError } from "../../llm/providers/_errors.ts";
import type { ProviderConfig } from "../../llm/provider_config.ts";
import { llmOverrides } from "../../cli/llm_options.ts";
import { ClosedClawError } from "../../core/errors.ts";

Deno.test("prices: one table, dated snapshots and prefixes resolve, unknown models are null", () => {
  assert.deepEqual(priceFor("openai", "gpt-4o-mini"), { input: 0.15, output: 0.6 });
  assert.deepEqual(priceFor("openai", "gpt-4o-mini-2024-07-18"), { input: 0.15, output: 0.6 });
  assert.deepEqual(priceFor("claude", "claude-sonnet-4-5-20250929"), { input: 3, output: 15 });
  assert.deepEqual(priceFor("gemini", "models/gemini-2.5-flash"), { input: 0.3, output: 2.5 });
  assert.deepEqual(priceFor("openai-compatible", "openai/gpt-4o"), { input: 2.5, output: 10 });
  assert.equal(priceFor("openai-compatible", "my-finetune"), null);
  assert.deepEqual(priceFor("ollama", "llama3.1"), { input: 0, output: 0 });
  const usage = { inputTokens: 1_000_000, outputTokens: 500_000 };
  assert.deepEqual(costOf("openai", "gpt-4o", usage), { costUsd: 7.5, priced: true });
  assert.deepEqual(costOf("openai", "mystery", usage), { costUsd: 0, priced: false });
});

Deno.test("requestHash: messages and schema count, key order and the model do not", () => {
  const messages = [{ role: "user" as const, content: "hi" }];
  const a = requestHash({ messages, schema: { name: "s", jsonSchema: { type: "object", a: 1 } } });
  const b = requestHash({ messages, schema: { name: "s", jsonSchema: { a: 1, type: "object" } } });
  assert.equal(a, b);
  assert.notEqual(a, requestHash({ messages }));
  assert.notEqual(
    requestHash({ messages }),
    requestHash({ messages: [{ role: "user", content: "hi!" }] }),
  );
  assert.notEqual(
    requestHash({ messages }),
    requestHash({ messages: [{ role: "system", content: "hi" }] }),
  );
});

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

const config: ProviderConfig = {
  provider: "gemini",
  model: "gemini-2.5-flash",
  apiKey: "k",
  keySource: "GEMINI_API_KEY",
  baseUrl: "http://127.0.0.1:1234",
  timeoutMs: 1000,
  maxRetries: 1,
};

Deno.test("toLlmError: statuses, Retry-After (header or Gemini body), network and timeouts", () => {
  const withStatus = (status: number, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(extra.message as string ?? "boom"), { status, ...extra });

  const auth = toLlmError(withStatus(401), config);
  assert.equal(auth.kind, "auth");
  assert.match(auth.toLine(), /gemini refused the key \(HTTP 401\).*Check GEMINI_API_KEY/);

  const limited = toLlmError(
    withStatus(429, { headers: new Headers({ "retry-after": "3" }) }),
    config,
  );
  assert.equal(limited.retryAfterMs, 3000);
  assert.equal(limited.retryable, true);
  const body = JSON.stringify({ error: { details: [{ retryDelay: "2s" }] } });
  assert.equal(toLlmError(withStatus(429, { message: body }), config).retryAfterMs, 2000);

  assert.equal(toLlmError(withStatus(503), config).kind, "server_error");
  assert.equal(toLlmError(withStatus(400), config).kind, "bad_request");
  assert.match(toLlmError(withStatus(404), config).message, /has no model "gemini-2.5-flash"/);

  const network = toLlmError(new TypeError("fetch failed"), config);
  assert.equal(network.kind, "network");
  assert.match(network.message, /Cannot reach gemini at http:\/\/127\.0\.0\.1:1234/);
  const timeout = Object.assign(new Error("slow"), { name: "TimeoutError" });
  assert.equal(toLlmError(timeout, config).kind, "timeout");
  assert.equal(toLlmError(new SyntaxError("Unexpected token"), config).kind, "malformed");
});

Deno.test("llmOverrides: --llm-provider is checked and aliased; --llm-model is trimmed", () => {
  assert.deepEqual(
    llmOverrides({ options: { "llm-provider": "Anthropic", "llm-model": " m1 " } }),
    {
      provider: "claude",
      model: "m1",
    },
  );
  assert.deepEqual(llmOverrides({ options: {} }), {});
  assert.throws(
    () => llmOverrides({ options: { "llm-provider": "siemens" } }),
    (e: unknown) =>
      e instanceof ClosedClawError &&
      /Unknown LLM provider "siemens"\. Choose one of: openai, openai-compatible, ollama, claude, gemini, replay\./
        .test(e.toLine()),
  );
  assert.throws(() => llmOverrides({ options: { "llm-model": "two words" } }), /needs a model id/);
});
