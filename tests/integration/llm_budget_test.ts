/**
 * Hard budgets through the real SDKs and their fakes: every budgeted request
 * carries the max_tokens its run can still pay for, a provider that honours
 * it never takes the recorded spend past the cap (not even four calls racing
 * for the last of a budget), and a reply that reports more than it was
 * allowed stops the call, and a whole run, at once with budget_overrun.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type FakeKind, type FakeServer, startFakeServer } from "../fakes/mod.ts";
import { rejection as rejectionOf } from "../helpers/assert.ts";
import { tempDir, testSettings } from "../helpers/temp.ts";
import { runCli } from "../helpers/cli.ts";
import {
  READ_BOTH_PLAN,
  startBrain,
  stepCallsFor,
  toolStep,
} from "../helpers/coordinator_brain.ts";
import { openStore } from "../../store/mod.ts";
import { createLlmService } from "../../llm/service.ts";
import { BUDGET_OVERRUN, LlmError } from "../../llm/errors.ts";
import { estimateInputTokens } from "../../llm/_accounting.ts";
import { priceFor } from "../../llm/prices.ts";
import type { ProviderName } from "../../core/settings.ts";
import type { CompletionRequest } from "../../llm/types.ts";

for (const name of ["LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING", "LANGSMITH_TRACING"]) {
  Deno.env.delete(name);
}

const KEY = "sk-fake-budget";
const rejection = (p: Promise<unknown>) => rejectionOf(p, LlmError);
const ask = (content: string): CompletionRequest => ({
  messages: [{ role: "system", content: "Answer at length." }, { role: "user", content }],
});

/** Each wire format: the provider it serves, its env, and where a request carries max_tokens. */
const WIRES: Record<FakeKind, {
  provider: ProviderName;
  model: string;
  env: (fake: FakeServer) => Record<string, string>;
  // deno-lint-ignore no-explicit-any -- provider request JSON
  maxTokens: (body: any) => number | undefined;
}> = {
  openai: {
    provider: "openai",
    model: "gpt-4o-mini",
    env: (f) => ({ OPENAI_API_KEY: KEY, OPENAI_BASE_URL: f.baseURL }),
    maxTokens: (b) => b.max_tokens ?? b.max_completion_tokens,
  },
  anthropic: {
    provider: "claude",
    model: "claude-3-5-haiku-latest",
    env: (f) => ({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: f.baseURL }),
    maxTokens: (b) => b.max_tokens,
  },
  gemini: {
    provider: "gemini",
    model: "gemini-2.5-flash",
    env: (f) => ({ GEMINI_API_KEY: KEY, GEMINI_BASE_URL: f.baseURL }),
    maxTokens: (b) => b.generationConfig?.maxOutputTokens,
  },
};

async function setup(kind: FakeKind, maxCostUsd: number, honourMaxTokens: boolean) {
  const wire = WIRES[kind];
  const dir = await tempDir();
  const fake = await startFakeServer(kind, { apiKey: KEY, honourMaxTokens });
  const settings = testSettings(dir.path, {
    CLOSED_CLAW_LLM_PROVIDER: wire.provider,
    CLOSED_CLAW_LLM_MODEL: wire.model,
    CLOSED_CLAW_LLM_MAX_RETRIES: "0",
    ...wire.env(fake),
  });
  const store = openStore(settings.dbPath);
  const llm = createLlmService({ settings, store, budget: { maxCostUsd } });
  return {
    wire,
    fake,
    store,
    llm,
    settings,
    spent: (runId: string) => store.llmCalls.totals({ runId }).cost_usd,
    async [Symbol.asyncDispose]() {
      store.close();
      await fake.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

/** 10,000 tokens of text: far more than a small budget pays for. */
const LONG = "lorem ipsum ".repeat(3334);

for (const kind of ["openai", "anthropic", "gemini"] as const) {
  Deno.test(`budget (${kind}): the request carries the max_tokens the budget pays for, and spend never passes the cap`, async () => {
    const cap = 0.002;
    await using t = await setup(kind, cap, true);
    t.fake.handle(() => ({ text: LONG }));
    const meta = { runId: "run_cap", purpose: "agent_step" };
    const request = ask("Write everything you know.");

    const first = await t.llm.complete(request, meta);
    const price = priceFor(t.wire.provider, t.wire.model)!;
    const input = estimateInputTokens(request);
    const expected = Math.floor(((cap - input * price.input / 1e6) * 1e6) / price.output);
    assert.equal(t.wire.maxTokens(t.fake.requests[0].body), expected);
    assert.equal(first.usage.outputTokens, expected, "the fake kept to it");

    // Keep calling until the run is refused: the recorded spend never passes the cap.
    let refused: LlmError | undefined;
    for (let i = 0; i < 20 && !refused; i++) {
      refused = await t.llm.complete(request, meta).then(() => undefined, (e) => e);
      assert.ok(t.spent("run_cap") <= cap, `spent ${t.spent("run_cap")} of ${cap}`);
    }
    assert.ok(refused instanceof LlmError);
    assert.equal(refused.kind, "budget_exceeded");
    assert.equal(refused.code, "llm_budget_exceeded");
    const sent = t.fake.requests.length;
    await rejection(t.llm.complete(request, meta));
    assert.equal(t.fake.requests.length, sent, "a refused call is never sent");
    for (const r of t.fake.requests) {
      assert.ok(t.wire.maxTokens(r.body)! >= 16, "every request sent could afford a reply");
    }
  });
}

Deno.test("budget: four parallel calls racing for the last of a budget never take spend past the cap", async () => {
  const cap = 0.001; // about 1,600 output tokens of gpt-4o-mini
  await using t = await setup("openai", cap, true);
  // 600 tokens a reply, slow enough for the four calls to overlap.
  t.fake.handle(() => ({ text: "word ".repeat(480), delayMs: 50 }));
  const meta = { runId: "run_race", purpose: "agent_step" };
  const results = await Promise.allSettled(
    [1, 2, 3, 4].map((n) => t.llm.complete(ask(`Part ${n}: write it all.`), meta)),
  );
  const spent = t.spent("run_race");
  assert.ok(spent <= cap, `spent $${spent} of $${cap}`);
  const ok = results.filter((r) => r.status === "fulfilled").length;
  const refused =
    results.filter((r) =>
      r.status === "rejected" && (r.reason as LlmError).kind === "budget_exceeded"
    ).length;
  assert.equal(ok + refused, 4, JSON.stringify(results.map((r) => r.status)));
  assert.ok(ok >= 2, "what one reply leaves goes to the next call");
  assert.ok(refused >= 1, "the call nothing is left for is refused");
  assert.equal(t.fake.requests.length, ok, "refused calls are never sent");
  // Each call sent was promised only what the ones before it left.
  const promised = t.fake.requests.map((r) => r.body.max_tokens as number);
  for (let i = 1; i < promised.length; i++) {
    assert.ok(promised[i] < promised[i - 1], JSON.stringify(promised));
  }
});

Deno.test("budget: a service shared by runs sees what another process spent on a run; a run's own service keeps its spend", async () => {
  const cap = 0.001;
  await using t = await setup("openai", cap, true);
  t.fake.handle(() => ({ text: "short answer" }));
  const meta = { runId: "run_shared", purpose: "agent_step" };
  await t.llm.complete(ask("First part."), meta);
  // Another process (a resume elsewhere) spends the rest of the run's budget.
  const elsewhere = {
    run_id: "run_shared",
    task_id: null,
    agent_id: null,
    purpose: "agent_step",
    provider: "openai",
    model: "gpt-4o-mini",
    input_tokens: 0,
    output_tokens: 2_000_000,
    cached_input_tokens: 0,
    cost_usd: 1.2,
    latency_ms: 1,
    outcome: "ok",
    error: "",
  };
  t.store.llmCalls.insert(elsewhere);
  assert.equal(t.llm.runUsage("run_shared").outputTokens > 1_000_000, true);
  await rejection(t.llm.complete(ask("Second part."), meta));
  assert.equal(t.fake.requests.length, 1, "the spent budget refuses the next call");
  // A service made for one run reads that run's spend once, then keeps it up to date itself.
  const own = createLlmService({
    settings: t.settings,
    store: t.store,
    budget: { maxCostUsd: cap },
    run: "run_own",
  });
  await own.complete(ask("One part."), { runId: "run_own", purpose: "agent_step" });
  const after = own.runUsage("run_own");
  assert.ok(after.outputTokens > 0, "its own calls count at once");
});

Deno.test("budget: a reply reporting far more usage than allowed stops with budget_overrun at once", async () => {
  await using t = await setup("openai", 0.0001, false);
  // This fake ignores max_tokens: one reply claims five million output tokens ($3).
  t.fake.handle(() => ({ text: "ok", usage: { input: 30, output: 5_000_000 } }));
  const meta = { runId: "run_over", purpose: "plan" };
  const overrun = await rejection(t.llm.complete(ask("hi"), meta));
  assert.equal(overrun.kind, "budget_exceeded", "stops the run like a spent budget");
  assert.equal(overrun.code, BUDGET_OVERRUN);
  assert.match(
    overrun.message,
    /budget_overrun.*reported 5000000 output tokens where max_tokens allowed \d+/,
  );
  assert.ok(t.fake.requests[0].body.max_tokens < 200, "the request said how much it could take");
  const rows = t.store.llmCalls.listForRun("run_over");
  assert.deepEqual(rows.map((r) => r.outcome), ["budget_overrun"]);
  assert.ok(rows[0].cost_usd > 2.9, "what the provider reported is what the run spent");
  const next = await rejection(t.llm.complete(ask("again"), meta));
  assert.equal(next.kind, "budget_exceeded");
  assert.equal(t.fake.requests.length, 1, "nothing more is sent");
});

Deno.test("budget: a run whose capsule gets an overrunning reply stops at once, resumable with a higher budget", async () => {
  await using dir = await tempDir();
  const { fake, env } = await startBrain(dir.path, {
    plan: () => READ_BOTH_PLAN,
    // The first step's reply claims five million output tokens: far past any max_tokens.
    agent: () => ({
      json: toolStep("file_io", { op: "read", path: "first.txt" }),
      usage: { input: 50, output: 5_000_000 },
    }),
  });
  try {
    await Deno.writeTextFile(join(dir.path, "ws", "first.txt"), "1");
    const result = await runCli(["run", "Read both files", "--max-cost-usd", "1", "--json"], {
      cwd: dir.path,
      env,
    });
    assert.equal(result.code, 1, result.stderr + result.stdout);
    const out = JSON.parse(result.stdout);
    assert.match(out.error, /^budget_exceeded: .*budget_overrun/);
    assert.match(out.error, /--max-cost-usd/);
    assert.equal(stepCallsFor(fake, "Read first.txt"), 1, "no step after the overrun");
    assert.equal(stepCallsFor(fake, "Read second.txt"), 0);
  } finally {
    await fake.close();
  }
});
