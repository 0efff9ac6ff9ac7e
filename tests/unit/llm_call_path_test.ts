/**
 * The retrying, circuit-breaking call path on its own, with an in-memory
 * provider: when a failure is retried or given up on, and which failures
 * count against the provider's breaker.
 */
import assert from "node:assert/strict";
import type { Accounting } from "../../llm/_accounting.ts";
import {
  createCallPath,
  isProviderFailure,
  MAX_BACKOFF_MS,
  retryWait,
} from "../../llm/_call_path.ts";
import { CircuitBreaker, MemoryBreakers } from "../../llm/breaker.ts";
import { LlmError, type LlmErrorKind } from "../../llm/errors.ts";
import type { ProviderConfig } from "../../llm/provider_config.ts";
import type { CompletionResponse, ProviderClient } from "../../llm/types.ts";

const error = (kind: LlmErrorKind, retryAfterMs?: number) =>
  new LlmError(kind, "openai", `${kind} happened`, { retryAfterMs });

const reply: CompletionResponse = {
  text: "hi",
  usage: { inputTokens: 3, outputTokens: 1 },
  model: "gpt-test",
};

/** A client that plays a script: an LlmError is thrown, a response returned. */
function scripted(...steps: (LlmError | CompletionResponse)[]) {
  let calls = 0;
  const client: ProviderClient = {
    provider: "openai",
    model: "gpt-test",
    complete() {
      const step = steps[calls++];
      if (!step) throw new Error("the script ran out");
      return step instanceof LlmError ? Promise.reject(step) : Promise.resolve(step);
    },
  };
  return { client, calls: () => calls };
}

/** Accounting that only remembers what it was told. */
function spyAccounting() {
  const rows: string[] = [];
  const accounting: Accounting = {
    runUsage: () => ({ inputTokens: 0, outputTokens: 0, costUsd: 0 }),
    reserve: (_meta, request) =>
      Promise.resolve({ request, inputTokens: 0, heldTokens: 0, heldUsd: 0, release: () => {} }),
    failed: (_meta, e) => {
      rows.push(e.kind);
      return e;
    },
    answered: (_meta, _response, _latency, problem) => {
      rows.push(problem === null ? "ok" : "invalid_output");
      return 0.5;
    },
  };
  return { accounting, rows };
}

function setup(maxRetries: number, ...steps: (LlmError | CompletionResponse)[]) {
  const backend = new MemoryBreakers();
  const { client, calls } = scripted(...steps);
  const { accounting, rows } = spyAccounting();
  const config: ProviderConfig = {
    provider: "openai",
    model: "gpt-test",
    apiKey: "sk-test",
    keySource: "OPENAI_API_KEY",
    baseUrl: "http://127.0.0.1:1",
    timeoutMs: 5_000,
    maxRetries,
  };
  const call = createCallPath({
    client,
    config,
    timeoutMs: 5_000,
    retryBaseMs: 1,
    // A threshold of 1: any failure that counts opens the circuit at once.
    breaker: new CircuitBreaker(backend, "openai", 1, 60),
    accounting,
  });
  return { call, calls, rows, state: () => backend.state("openai", 60) };
}

const meta = { purpose: "test" };
const ask = { messages: [{ role: "user" as const, content: "hi" }] };

Deno.test("retryWait: only retryable errors with retries left are retried", () => {
  assert.equal(retryWait(error("auth"), 0, 3, 100), undefined);
  assert.equal(retryWait(error("bad_request"), 0, 3, 100), undefined);
  assert.equal(retryWait(error("server_error"), 3, 3, 100), undefined, "retries spent");
  assert.notEqual(retryWait(error("server_error"), 2, 3, 100), undefined);
});

Deno.test("retryWait: Retry-After is honoured, but a wait over a minute gives up", () => {
  assert.equal(retryWait(error("rate_limited", 0), 0, 3, 100), 0);
  assert.equal(retryWait(error("rate_limited", 7_000), 0, 3, 100), 7_000);
  assert.equal(retryWait(error("rate_limited", 60_000), 0, 3, 100), 60_000);
  assert.equal(retryWait(error("rate_limited", 60_001), 0, 3, 100), undefined);
});

Deno.test("retryWait: backoff doubles per attempt, jittered in its upper half, and is capped", () => {
  for (let attempt = 0; attempt < 4; attempt++) {
    const ceiling = 100 * 2 ** attempt;
    for (let i = 0; i < 50; i++) {
      const wait = retryWait(error("network"), attempt, 10, 100)!;
      assert.ok(wait >= ceiling / 2 && wait <= ceiling, `attempt ${attempt}: ${wait}`);
    }
  }
  const late = retryWait(error("timeout"), 9, 10, 100)!;
  assert.ok(late >= MAX_BACKOFF_MS / 2 && late <= MAX_BACKOFF_MS, `capped: ${late}`);
});

Deno.test("isProviderFailure: an unhealthy provider counts, a refused key or a rate limit does not", () => {
  for (const kind of ["server_error", "network", "timeout", "malformed"] as const) {
    assert.ok(isProviderFailure(error(kind)), kind);
  }
  for (const kind of ["auth", "not_found", "bad_request", "rate_limited", "cancelled"] as const) {
    assert.ok(!isProviderFailure(error(kind)), kind);
  }
});

Deno.test("call path: failed attempts are retried and each is accounted, then the reply once", async () => {
  const t = setup(2, error("server_error"), error("malformed"), reply);
  const answer = await t.call(ask, meta);
  assert.equal(answer.response.text, "hi");
  assert.equal(answer.response.costUsd, 0.5, "the cost the accounting priced it at");
  assert.equal(answer.verdict, undefined, "no check, no verdict");
  assert.equal(t.calls(), 3);
  assert.deepEqual(t.rows, ["server_error", "malformed", "ok"]);
  assert.equal(t.state(), "closed", "retried attempts that end in a reply are not failures");
});

Deno.test("call path: a rate limit that outlasts the retries leaves the circuit closed", async () => {
  const t = setup(1, error("rate_limited"), error("rate_limited"));
  await assert.rejects(t.call(ask, meta), (e: LlmError) => e.kind === "rate_limited");
  assert.equal(t.calls(), 2);
  assert.equal(t.state(), "closed");
});

Deno.test("call path: a server error that outlasts the retries opens the circuit", async () => {
  const t = setup(1, error("server_error"), error("server_error"));
  await assert.rejects(t.call(ask, meta), (e: LlmError) => e.kind === "server_error");
  assert.equal(t.state(), "open");
  await assert.rejects(t.call(ask, meta), (e: LlmError) => e.kind === "circuit_open");
  assert.equal(t.calls(), 2, "an open circuit keeps the call from the provider");
  assert.deepEqual(t.rows, ["server_error", "server_error", "circuit_open"]);
});

Deno.test("call path: a Retry-After over a minute fails at once instead of waiting", async () => {
  const t = setup(3, error("rate_limited", 120_000));
  const started = performance.now();
  await assert.rejects(t.call(ask, meta), (e: LlmError) => e.kind === "rate_limited");
  assert.ok(performance.now() - started < 1_000);
  assert.equal(t.calls(), 1);
});

Deno.test("call path: a reply the check rejects is an answer accounted as invalid output", async () => {
  const t = setup(0, reply);
  const answer = await t.call(ask, meta, () => ({ ok: false, error: "not a number" }));
  assert.deepEqual(answer.verdict, { ok: false, error: "not a number" });
  assert.deepEqual(t.rows, ["invalid_output"]);
  assert.equal(t.state(), "closed", "a bad reply is the model's fault, not the provider's");
});
