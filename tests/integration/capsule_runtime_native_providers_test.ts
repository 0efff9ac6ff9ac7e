/**
 * Native tool calling end to end, for every provider: a real capsule, the
 * coordinator's hooks, the LLM service and the provider's own SDK against its
 * fake server. The model answers with three calls at once (two reads and one
 * the host refuses), then with plain text; the capsule runs the reads, the
 * host refuses the third, and the provider gets all three results back in
 * its own wire shape.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type FakeKind, startFakeServer } from "../fakes/mod.ts";
import { capsuleFixture, eventsOfType } from "../fixtures/capsule_harness.ts";
import { runContext, runState } from "../helpers/run_context.ts";
import { createLlmService } from "../../llm/service.ts";
import { capsuleHooks } from "../../coordinator/capsule_hooks.ts";
import { RunLog } from "../../coordinator/run_log.ts";
import { openStore } from "../../store/mod.ts";
import type { Subtask } from "../../coordinator/types.ts";

const KEY = "fake-key-123";

const PROVIDERS: {
  provider: string;
  fake: FakeKind;
  env: (base: string) => Record<string, string>;
  /** A model other than the provider's default. */
  model?: string;
}[] = [
  { provider: "openai", fake: "openai", env: (b) => ({ OPENAI_API_KEY: KEY, OPENAI_BASE_URL: b }) },
  // A Responses-only model: the whole loop over OpenAI's Responses API.
  {
    provider: "openai",
    fake: "openai",
    env: (b) => ({ OPENAI_API_KEY: KEY, OPENAI_BASE_URL: b }),
    model: "gpt-5-codex",
  },
  { provider: "ollama", fake: "openai", env: (b) => ({ CLOSED_CLAW_LLM_BASE_URL: b }) },
  {
    provider: "claude",
    fake: "anthropic",
    env: (b) => ({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: b }),
  },
  { provider: "gemini", fake: "gemini", env: (b) => ({ GEMINI_API_KEY: KEY, GEMINI_BASE_URL: b }) },
];

for (const p of PROVIDERS) {
  const through = p.model ? `${p.provider} ${p.model}` : p.provider;
  Deno.test(`native tools through ${through}: two parallel reads and a refused call, then the answer`, async () => {
    await using fake = await startFakeServer(
      p.fake,
      p.provider === "ollama" ? {} : { apiKey: KEY },
    );
    await using fx = await capsuleFixture({
      tools: ["file_io"],
      env: {
        CLOSED_CLAW_LLM_PROVIDER: p.provider,
        ...(p.model ? { CLOSED_CLAW_LLM_MODEL: p.model } : {}),
        ...p.env(fake.baseURL),
      },
    });
    Deno.writeTextFileSync(join(fx.workspace, "a.txt"), "ALPHA-1");
    Deno.writeTextFileSync(join(fx.workspace, "b.txt"), "BRAVO-2");
    fake.enqueue({
      toolCalls: [
        { name: "file_io", args: { op: "read", path: "a.txt" } },
        { name: "file_io", args: { op: "read", path: "b.txt" } },
        { name: "file_io", args: { op: "read", path: "/etc/shadow" } },
      ],
    });
    fake.enqueue({ text: "a.txt says ALPHA-1 and b.txt says BRAVO-2." });

    const store = openStore(fx.settings.dbPath);
    const log = new RunLog(fx.settings.runLogsDir, "run1");
    try {
      store.runs.create({ run_id: "run1", task: "read" });
      const llm = createLlmService({ settings: fx.settings });
      const ctx = runContext({ settings: fx.settings, store, log, llm, state: runState() });
      const subtask = { task_id: "t1" } as Subtask;
      const result = await fx.run({
        task: "Read a.txt and b.txt.",
        hooks: capsuleHooks(ctx, subtask, fx.manifest, undefined),
        timeoutMs: 60_000,
      });
      assert.equal(result.status, "ok", `${result.error_code}: ${result.error_message}`);
      assert.equal(result.result, "a.txt says ALPHA-1 and b.txt says BRAVO-2.");
      const decided = eventsOfType(fx.events, "tool_decided");
      assert.deepEqual(decided.map((d) => d.allowed), [true, true, false]);
      assert.equal(eventsOfType(fx.events, "tool_done").length, 2);

      const [ask, answer] = fake.requests;
      if (p.model) assert.equal(ask.path, "/v1/responses");
      // The capsule's tools were declared natively (no JSON-step schema).
      const declared = JSON.stringify(ask.body);
      assert.match(declared, /"file_io"/);
      assert.doesNotMatch(declared, /agent_step|args_json/);
      // All three results went back, the refusal among them.
      const sent = JSON.stringify(answer.body);
      assert.match(sent, /ALPHA-1/);
      assert.match(sent, /BRAVO-2/);
      assert.match(sent, /host refused this file_io call/);
    } finally {
      log.close();
      store.close();
    }
  });
}
