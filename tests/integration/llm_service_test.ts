/**
 * The LLM service around a real provider SDK and its fake: timeouts, the
 * persisted circuit breaker, budgets, llm_calls accounting, record/replay,
 * cancellation, and the Ollama fallback when no key is configured.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { z } from "zod";
import { startFakeServer } from "../fakes/mod.ts";
import { rejection as rejectionOf } from "../helpers/assert.ts";
import { tempDir, testSettings } from "../helpers/temp.ts";
import { openStore } from "../../store/mod.ts";
import { createLlmService, type LlmServiceOptions } from "../../llm/service.ts";
import { resolveLlm } from "../../llm/detect.ts";
import { probeProvider } from "../../llm/probe.ts";
import { resolveProviderConfig } from "../../llm/provider_config.ts";
import { BUDGET_OVERRUN, LlmError } from "../../llm/errors.ts";
import { endpointKey } from "../../llm/breaker.ts";
import { ClosedClawError } from "../../core/errors.ts";

for (const name of ["LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING", "LANGSMITH_TRACING"]) {
  Deno.env.delete(name);
}

const KEY = "sk-fake";
const user = (content: string) => ({ messages: [{ role: "user" as const, content }] });

/** Awaits a rejection that must be an LlmError. */
const rejection = (p: Promise<unknown>) => rejectionOf(p, LlmError);

/** A temp dir, a store, an OpenAI fake, and settings pointing at it. */
async function setup(env: Record<string, string> = {}) {
  const dir = await tempDir();
  const fake = await startFakeServer("openai", { apiKey: KEY });
  const settings = testSettings(dir.path, {
    OPENAI_API_KEY: KEY,
    OPENAI_BASE_URL: fake.baseURL,
    CLOSED_CLAW_LLM_MAX_RETRIES: "0",
    ...env,
  });
  const store = openStore(settings.dbPath);
  const service = (extra: Partial<LlmServiceOptions> = {}) =>
    createLlmService({ settings, store, timing: { retryBaseMs: 10 }, ...extra });
  return {
    dir,
    fake,
    settings,
    store,
    service,
    async [Symbol.asyncDispose]() {
      store.close();
      await fake.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

Deno.test("llm service: every attempt is written to llm_calls with tokens, cost and outcome", async () => {
  await using t = await setup({ CLOSED_CLAW_LLM_MAX_RETRIES: "1" });
  t.fake.enqueue({ status: 500 }, { text: "ok", usage: { input: 2000, output: 1000 } });
  const meta = { runId: "run_1", taskId: "t1", agentId: "a1", purpose: "plan" };
  const reply = await t.service().complete(user("plan it"), meta);
  assert.equal(reply.text, "ok");
  const rows = t.store.llmCalls.listForRun("run_1");
  assert.deepEqual(rows.map((r) => r.outcome), ["server_error", "ok"]);
  const ok = rows[1];
  assert.equal(ok.task_id, "t1");
  assert.equal(ok.agent_id, "a1");
  assert.equal(ok.purpose, "plan");
  assert.equal(ok.provider, "openai");
  assert.equal(ok.model, "gpt-4o-mini");
  assert.equal(ok.input_tokens, 2000);
  assert.equal(ok.output_tokens, 1000);
  // gpt-4o-mini: $0.15 / M input, $0.60 / M output.
  assert.ok(Math.abs(ok.cost_usd - 0.0009) < 1e-12, String(ok.cost_usd));
  assert.match(rows[0].error, /HTTP 500/);
  assert.deepEqual(t.service().runUsage("run_1"), {
    inputTokens: 2000,
    outputTokens: 1000,
    costUsd: ok.cost_usd,
  });
});

Deno.test("llm service: a slow reply times out, and is retried", async () => {
  await using t = await setup({ CLOSED_CLAW_LLM_MAX_RETRIES: "1" });
  t.fake.enqueue({ text: "late", delayMs: 3000 }, { text: "quick" });
  const llm = t.service({ timing: { timeoutMs: 150, retryBaseMs: 10 } });
  assert.equal((await llm.complete(user("hi"), { runId: "r", purpose: "x" })).text, "quick");
  const rows = t.store.llmCalls.listForRun("r");
  assert.equal(rows[0].outcome, "timeout");
  assert.match(rows[0].error, /did not answer within 0.15 s/);
});

Deno.test("llm service: the circuit opens after N failures and half-opens after the reset", async () => {
  await using t = await setup({ CLOSED_CLAW_CIRCUIT_BREAKER_FAILURES: "2" });
  const llm = t.service({ timing: { breakerResetSec: 0.3, retryBaseMs: 10 } });
  t.fake.enqueue({ status: 503 }, { status: 503 });
  assert.equal((await rejection(llm.complete(user("a"), { purpose: "x" }))).kind, "server_error");
  assert.equal((await rejection(llm.complete(user("b"), { purpose: "x" }))).kind, "server_error");
  const open = await rejection(llm.complete(user("c"), { purpose: "x" }));
  assert.equal(open.kind, "circuit_open");
  assert.match(open.message, /paused after 2 consecutive failures.*next trial call is allowed at/);
  assert.equal(t.fake.requests.length, 2, "an open circuit does not call the provider");
  // Persisted: another service on the same store sees the open circuit.
  const key = endpointKey("openai", t.fake.baseURL, "gpt-4o-mini");
  assert.equal(t.store.breakers.state(key, 0.3), "open");
  assert.equal(
    (await rejection(t.service().complete(user("d"), { purpose: "x" }))).kind,
    "circuit_open",
  );

  await new Promise((r) => setTimeout(r, 350));
  // Half-open: one trial call; its failure re-opens the circuit at once.
  t.fake.enqueue({ status: 503 });
  assert.equal((await rejection(llm.complete(user("e"), { purpose: "x" }))).kind, "server_error");
  assert.equal((await rejection(llm.complete(user("f"), { purpose: "x" }))).kind, "circuit_open");

  await new Promise((r) => setTimeout(r, 350));
  t.fake.enqueue({ text: "back" }, { text: "still back" });
  assert.equal((await llm.complete(user("g"), { purpose: "x" })).text, "back");
  assert.equal(t.store.breakers.state(key, 0.3), "closed");
  assert.equal((await llm.complete(user("h"), { purpose: "x" })).text, "still back");
});

Deno.test("llm service: the breaker counts failed calls, not their retried attempts", async () => {
  await using t = await setup({
    CLOSED_CLAW_CIRCUIT_BREAKER_FAILURES: "2",
    CLOSED_CLAW_LLM_MAX_RETRIES: "2",
  });
  const llm = t.service({ timing: { breakerResetSec: 60, retryBaseMs: 5 } });
  t.fake.enqueue({ status: 503 }, { status: 503 }, { status: 503 });
  const first = await rejection(llm.complete(user("a"), { purpose: "x" }));
  assert.equal(first.kind, "server_error", "the real cause, not a paused circuit");
  assert.equal(t.fake.requests.length, 3, "every retry was made");
  const key = endpointKey("openai", t.fake.baseURL, "gpt-4o-mini");
  assert.equal(t.store.breakers.state(key, 60), "closed", "one failed call so far");
  t.fake.enqueue({ status: 503 }, { status: 503 }, { status: 503 });
  assert.equal((await rejection(llm.complete(user("b"), { purpose: "x" }))).kind, "server_error");
  assert.equal(t.store.breakers.state(key, 60), "open");
  assert.equal((await rejection(llm.complete(user("c"), { purpose: "x" }))).kind, "circuit_open");
});

Deno.test("llm service: a run stops when its cost or token budget is spent", async () => {
  await using t = await setup({ CLOSED_CLAW_MAX_TOKENS_PER_RUN: "100" });
  t.fake.handle(() => ({ text: "ok", usage: { input: 1_000_000, output: 0 } }));
  const byCost = t.service({ budget: { maxCostUsd: 0.2, maxTokens: 0 } });
  await byCost.complete(user("1"), { runId: "costly", purpose: "plan" }); // $0.15
  // $0.30: the reply reports far more input than was sent, taking the spend past the cap.
  const overrun = await rejection(byCost.complete(user("2"), { runId: "costly", purpose: "plan" }));
  assert.equal(overrun.kind, "budget_exceeded");
  assert.equal(overrun.code, BUDGET_OVERRUN);
  const stopped = await rejection(byCost.complete(user("3"), { runId: "costly", purpose: "plan" }));
  assert.equal(stopped.kind, "budget_exceeded");
  assert.match(stopped.message, /Run costly has spent \$0\.3000 of its \$0\.2 budget/);
  assert.equal(t.fake.requests.length, 2, "the call over budget is never sent");
  const outcomes = t.store.llmCalls.listForRun("costly").map((r) => r.outcome);
  assert.deepEqual(outcomes, ["ok", "budget_overrun", "budget_exceeded"]);
  // Other runs have their own budget; calls without a run are not budgeted.
  await byCost.complete(user("4"), { runId: "fresh", purpose: "plan" });
  await byCost.complete(user("5"), { purpose: "setup" });

  // The token budget comes from CLOSED_CLAW_MAX_TOKENS_PER_RUN.
  const byTokens = t.service();
  const tokenOverrun = await rejection(
    byTokens.complete(user("6"), { runId: "tokens", purpose: "plan" }),
  );
  assert.equal(tokenOverrun.code, BUDGET_OVERRUN);
  const tokens = await rejection(
    byTokens.complete(user("7"), { runId: "tokens", purpose: "plan" }),
  );
  assert.match(
    tokens.message,
    /has used 1000000 of its 100 tokens \(CLOSED_CLAW_MAX_TOKENS_PER_RUN\)/,
  );
});

Deno.test("llm service: record then replay gives identical results; a changed call is named", async () => {
  await using t = await setup();
  const cassette = join(t.settings.cassettesDir, "run.json");
  const schema = z.object({ steps: z.array(z.string()) });
  t.fake.enqueue(
    { text: "Ready.", usage: { input: 5, output: 1 } },
    { json: { steps: ["read", "write"] } },
  );
  const recorder = t.service({ record: cassette });
  const recorded = [
    await recorder.complete(user("start"), { purpose: "classify" }),
    (await recorder.structured(schema, { ...user("plan"), schemaName: "plan" }, {
      purpose: "plan",
    })).value,
  ];

  const replayer = t.service({ replay: cassette });
  assert.equal(replayer.provider, "replay");
  const replayed = [
    await replayer.complete(user("start"), { purpose: "classify" }),
    (await replayer.structured(schema, { ...user("plan"), schemaName: "plan" }, {
      purpose: "plan",
    })).value,
  ];
  assert.deepEqual(
    { ...replayed[0], costUsd: undefined },
    { ...(recorded[0] as object), costUsd: undefined },
  );
  assert.deepEqual(replayed[1], recorded[1]);
  assert.equal(t.fake.requests.length, 2, "the replay never called the provider");

  // The replay provider is also selected by settings.
  const bySettings = createLlmService({
    settings: testSettings(t.dir.path, {
      CLOSED_CLAW_LLM_PROVIDER: "replay",
      CLOSED_CLAW_REPLAY_CASSETTE: cassette,
    }),
  });
  assert.equal((await bySettings.complete(user("start"), { purpose: "classify" })).text, "Ready.");
  const mismatch = await rejection(
    bySettings.complete(user("plan this instead"), { purpose: "plan" }),
  );
  assert.equal(mismatch.kind, "replay_mismatch");
  assert.match(
    mismatch.message,
    /Replay mismatch at call 2 \(cassette call 2, purpose plan\): message 1 was expected as \(user\) "plan" but this run asked \(user\) "plan this instead"/,
  );
});

Deno.test("llm service: a cancelled call stops at once and is not retried", async () => {
  await using t = await setup({ CLOSED_CLAW_LLM_MAX_RETRIES: "3" });
  t.fake.enqueue({ text: "slow", delayMs: 3000 });
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  const error = await rejection(
    t.service().complete({ ...user("hi"), signal: controller.signal }, { purpose: "x" }),
  );
  assert.equal(error.kind, "cancelled");
  assert.equal(t.fake.requests.length, 1);
});

Deno.test("llm service: a missing key is one line naming the variable", async () => {
  await using dir = await tempDir();
  assert.throws(
    () => createLlmService({ settings: testSettings(dir.path) }),
    (e: unknown) =>
      e instanceof ClosedClawError && /set OPENAI_API_KEY/.test(e.message) &&
      /closed-claw setup.*deno task demo/.test(e.hint ?? ""),
  );
});

Deno.test("resolveLlm: with no key, a local Ollama server is used and the user told", async () => {
  await using dir = await tempDir();
  const settings = testSettings(dir.path, { CLOSED_CLAW_LLM_PROVIDER: "claude" });
  const ollama = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) =>
      new URL(req.url).pathname === "/api/tags"
        ? Response.json({ models: [{ name: "qwen2.5:7b" }] })
        : new Response("no", { status: 404 }),
  );
  try {
    const url = `http://127.0.0.1:${ollama.addr.port}`;
    const { config, notice } = await resolveLlm(settings, {}, { ollamaUrl: url });
    assert.equal(config.provider, "ollama");
    assert.equal(config.model, "qwen2.5:7b");
    assert.equal(config.baseUrl, `${url}/v1`);
    assert.match(
      notice ?? "",
      /No key for claude \(ANTHROPIC_API_KEY is not set\): using the local Ollama/,
    );
  } finally {
    await ollama.shutdown();
  }
  // Nothing answers: the missing-key error.
  await assert.rejects(
    resolveLlm(settings, {}, { ollamaUrl: "http://127.0.0.1:9", timeoutMs: 300 }),
    /No API key for claude: set ANTHROPIC_API_KEY/,
  );
  // A configured key is used as is.
  const withKey = testSettings(dir.path, {
    ANTHROPIC_API_KEY: "k",
    CLOSED_CLAW_LLM_PROVIDER: "claude",
  });
  assert.equal((await resolveLlm(withKey)).config.provider, "claude");
});

Deno.test("llm service: a call whose signal is already aborted never reaches the provider", async () => {
  await using dir = await tempDir();
  let calls = 0;
  // A client that ignores the signal, as a replayed cassette does.
  const client = {
    provider: "openai" as const,
    model: "m",
    complete: () => {
      calls++;
      return Promise.resolve({
        text: "answered",
        usage: { inputTokens: 1, outputTokens: 1 },
        model: "m",
      });
    },
  };
  const llm = createLlmService({ settings: testSettings(dir.path), client });
  const error = await rejection(
    llm.complete({ ...user("hi"), signal: AbortSignal.abort() }, { runId: "r", purpose: "x" }),
  );
  assert.equal(error.kind, "cancelled");
  assert.equal(calls, 0);
});

Deno.test("llm service: a base URL that is not http(s) is one line before any call", async () => {
  await using dir = await tempDir();
  const settings = testSettings(dir.path, {
    CLOSED_CLAW_LLM_PROVIDER: "openai-compatible",
    CLOSED_CLAW_LLM_BASE_URL: "127.0.0.1:8000/v1",
  });
  assert.throws(
    () => createLlmService({ settings }),
    (e: unknown) =>
      e instanceof ClosedClawError && e.code === "llm_base_url_invalid" &&
      /base URL "127\.0\.0\.1:8000\/v1" is not an http:\/\/ or https:\/\/ URL\. Fix CLOSED_CLAW_LLM_BASE_URL/
        .test(e.toLine()),
  );
  const probe = await probeProvider(resolveProviderConfig(settings));
  assert.equal(probe.status, "error");
  assert.match(probe.detail, /is not an http:\/\/ or https:\/\/ URL/);
  // openai-compatible has no default: a missing base URL says what to set.
  const unset = testSettings(dir.path, { CLOSED_CLAW_LLM_PROVIDER: "openai-compatible" });
  const missing = await probeProvider(resolveProviderConfig(unset));
  assert.equal(missing.status, "error");
  assert.equal(missing.detail, "The openai-compatible provider needs a base URL.");
  assert.match(missing.fix ?? "", /Set CLOSED_CLAW_LLM_BASE_URL/);
  assert.throws(() => createLlmService({ settings: unset }), /needs a base URL/);
});
