/** LlmCallsRepo.usageByHour: tokens and cost per hour, by model or by agent (the overview's charts). */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../store/mod.ts";
import { tempDir } from "../helpers/temp.ts";

Deno.test("usageByHour sums tokens and cost per hour by model and by agent", async () => {
  await using dir = await tempDir();
  const store = openStore(join(dir.path, "u.db"));
  try {
    const call = (model: string, agent: string | null, tokens: number, cost: number) =>
      store.llmCalls.insert({
        run_id: "r1",
        task_id: null,
        agent_id: agent,
        purpose: "agent_step",
        provider: "openai",
        model,
        input_tokens: tokens,
        output_tokens: 1,
        cost_usd: cost,
        latency_ms: 1,
        outcome: "ok",
        error: "",
      });
    call("a", "agent-1", 10, 0.5);
    call("a", null, 20, 0.25);
    call("b", "agent-1", 30, 1);
    const hour = new Date().toISOString().slice(0, 13);
    const since = new Date(Date.now() - 3_600_000).toISOString();
    assert.deepEqual(store.llmCalls.usageByHour(since, "model"), [
      { hour, key: "openai/a", calls: 2, tokens: 32, cost_usd: 0.75 },
      { hour, key: "openai/b", calls: 1, tokens: 31, cost_usd: 1 },
    ]);
    assert.deepEqual(store.llmCalls.usageByHour(since, "agent"), [
      { hour, key: "agent-1", calls: 2, tokens: 42, cost_usd: 1.5 },
      { hour, key: "coordinator", calls: 1, tokens: 21, cost_usd: 0.25 },
    ]);
    assert.deepEqual(
      store.llmCalls.usageByHour(new Date(Date.now() + 60_000).toISOString(), "model"),
      [],
    );
  } finally {
    store.close();
  }
});
