/**
 * Circuit breakers are per endpoint (provider, base URL, model): a failing
 * server pauses only its own calls, a successful key probe clears it, and
 * `doctor` shows each open breaker with its endpoint and when it resets.
 */
import assert from "node:assert/strict";
import { startFakeServer } from "../fakes/mod.ts";
import { rejection as rejectionOf } from "../helpers/assert.ts";
import { tempDir, testSettings } from "../helpers/temp.ts";
import { runCli } from "../helpers/cli.ts";
import { openStore } from "../../store/mod.ts";
import { createLlmService } from "../../llm/service.ts";
import { endpointKey, openBreakers, parseEndpointKey } from "../../llm/breaker.ts";
import { LlmError } from "../../llm/errors.ts";
import { probeProvider } from "../../llm/probe.ts";
import { resolveProviderConfig } from "../../llm/provider_config.ts";

for (const name of ["LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING", "LANGSMITH_TRACING"]) {
  Deno.env.delete(name);
}

const KEY = "sk-fake-breaker";
const rejection = (p: Promise<unknown>) => rejectionOf(p, LlmError);
const hi = { messages: [{ role: "user" as const, content: "hi" }] };

Deno.test("breaker keys name the endpoint and read back", () => {
  const key = endpointKey("openai", "http://127.0.0.1:9/v1/", "gpt-4o-mini");
  assert.equal(key, "openai http://127.0.0.1:9/v1 gpt-4o-mini");
  assert.deepEqual(parseEndpointKey(key), {
    provider: "openai",
    baseUrl: "http://127.0.0.1:9/v1",
    model: "gpt-4o-mini",
  });
  assert.equal(endpointKey("openai", "", "gpt-4o"), "openai https://api.openai.com/v1 gpt-4o");
  const old = parseEndpointKey("claude");
  assert.deepEqual(old, { provider: "claude", baseUrl: "", model: "" });
  const now = Date.parse("2030-01-01T00:00:00Z");
  const [open] = openBreakers(
    [{
      provider: key,
      failure_count: 3,
      opened_at: "2030-01-01T00:00:00.000Z",
      last_failure_at: null,
      last_error: "HTTP 500",
    }],
    60,
    now + 15_000,
  );
  assert.equal(open.state, "open");
  assert.equal(open.resetsAt, "2030-01-01T00:01:00.000Z");
  assert.equal(open.resetsInSec, 45);
  assert.equal(open.label, "openai gpt-4o-mini at http://127.0.0.1:9/v1");
});

Deno.test("breaker: endpoint A failing opens only A; B of the same provider is still called; a probe clears A", async () => {
  await using dir = await tempDir();
  await using a = await startFakeServer("openai", { apiKey: KEY });
  await using b = await startFakeServer("openai", { apiKey: KEY });
  const settingsFor = (baseURL: string) =>
    testSettings(dir.path, {
      OPENAI_API_KEY: KEY,
      OPENAI_BASE_URL: baseURL,
      CLOSED_CLAW_LLM_MAX_RETRIES: "0",
      CLOSED_CLAW_CIRCUIT_BREAKER_FAILURES: "1",
      CLOSED_CLAW_CIRCUIT_BREAKER_RESET_SEC: "600",
    });
  const store = openStore(settingsFor(a.baseURL).dbPath);
  try {
    const llmA = createLlmService({ settings: settingsFor(a.baseURL), store });
    a.enqueue({ status: 503 });
    assert.equal((await rejection(llmA.complete(hi, { purpose: "x" }))).kind, "server_error");
    const paused = await rejection(llmA.complete(hi, { purpose: "x" }));
    assert.equal(paused.kind, "circuit_open");
    assert.equal(paused.provider, "openai");
    assert.match(
      paused.message,
      new RegExp(`Calls to openai gpt-4o-mini at ${a.baseURL} are paused`),
    );
    assert.equal(a.requests.length, 1, "an open circuit sends nothing to A");

    // Another process (a new service on the same registry) aimed at B is not paused.
    const llmB = createLlmService({ settings: settingsFor(b.baseURL), store });
    b.enqueue({ text: "B is fine" });
    assert.equal((await llmB.complete(hi, { purpose: "x" })).text, "B is fine");
    assert.equal(b.requests.length, 1, "the call to B went out");
    // Nor is another model at A.
    const keyA = endpointKey("openai", a.baseURL, "gpt-4o-mini");
    assert.equal(store.breakers.state(keyA, 600), "open");
    assert.equal(store.breakers.state(endpointKey("openai", a.baseURL, "gpt-4o"), 600), "closed");
    assert.deepEqual(store.breakers.listOpen().map((r) => r.provider), [keyA]);

    // A successful key probe of A clears A's breaker; calls go out again.
    const probe = await probeProvider(resolveProviderConfig(settingsFor(a.baseURL)), {
      breakers: store.breakers,
    });
    assert.equal(probe.status, "ok");
    assert.equal(probe.breakersCleared, 1);
    assert.match(probe.detail, /1 open circuit breaker\(s\) cleared/);
    assert.equal(store.breakers.state(keyA, 600), "closed");
    a.enqueue({ text: "A is back" });
    assert.equal((await llmA.complete(hi, { purpose: "x" })).text, "A is back");
  } finally {
    store.close();
  }
});

Deno.test("breaker: a failed probe clears nothing", async () => {
  await using dir = await tempDir();
  const settings = testSettings(dir.path, {
    OPENAI_API_KEY: KEY,
    OPENAI_BASE_URL: "http://127.0.0.1:9/v1",
  });
  const store = openStore(settings.dbPath);
  try {
    const key = endpointKey("openai", "http://127.0.0.1:9/v1", "gpt-4o-mini");
    store.breakers.recordFailure(key, "connection refused", 1);
    const probe = await probeProvider(resolveProviderConfig(settings), {
      timeoutMs: 2000,
      breakers: store.breakers,
    });
    assert.equal(probe.status, "unreachable");
    assert.equal(store.breakers.state(key, 600), "open");
  } finally {
    store.close();
  }
});

Deno.test("doctor shows each open breaker with its endpoint and reset time, and its probe clears the configured one", async () => {
  await using dir = await tempDir();
  await using healthy = await startFakeServer("openai", { apiKey: KEY });
  const env = {
    OPENAI_API_KEY: KEY,
    OPENAI_BASE_URL: healthy.baseURL,
    CLOSED_CLAW_CIRCUIT_BREAKER_RESET_SEC: "600",
  };
  const settings = testSettings(dir.path, env);
  const down = "http://127.0.0.1:9/v1";
  const store = openStore(settings.dbPath);
  try {
    store.breakers.recordFailure(endpointKey("openai", down, "gpt-4o-mini"), "HTTP 503", 1);
    store.breakers.recordFailure(endpointKey("openai", healthy.baseURL, "gpt-4o-mini"), "x", 1);
  } finally {
    store.close();
  }
  const result = await runCli(["doctor", "--json"], { cwd: dir.path, env });
  const report = JSON.parse(result.stdout);
  const lines = report.checks.filter((c: { name: string }) => c.name === "breaker");
  assert.equal(lines.length, 1, JSON.stringify(report.checks));
  assert.equal(lines[0].status, "warn");
  assert.match(
    lines[0].detail,
    new RegExp(
      `^openai gpt-4o-mini at http://127\\.0\\.0\\.1:9/v1: open after 1 consecutive failures ` +
        `\\(last: HTTP 503\\); resets at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\(in \\d+ s\\)$`,
    ),
  );
  const provider = report.checks.find((c: { name: string }) => c.name === "llm provider");
  assert.equal(provider.status, "ok", provider.detail);
  assert.match(provider.detail, /1 open circuit breaker\(s\) cleared/);

  const text = await runCli(["doctor"], { cwd: dir.path, env });
  assert.match(text.stdout, /breaker\s+openai gpt-4o-mini at http:\/\/127\.0\.0\.1:9\/v1: open/);
  assert.ok(!text.stdout.includes(healthy.baseURL + ": open"), "the probed endpoint was cleared");
});
