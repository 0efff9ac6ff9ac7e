/** The price table of the LLM layer. */
import assert from "node:assert/strict";
import { costOf, priceFor } from "../../llm/prices.ts";

Deno.test("prices: one table, dated snapshots and prefixes resolve, unknown models are null", () => {
  const mini = { input: 0.15, output: 0.6, cachedInput: 0.075 };
  assert.deepEqual(priceFor("openai", "gpt-4o-mini"), mini);
  assert.deepEqual(priceFor("openai", "gpt-4o-mini-2024-07-18"), mini);
  assert.deepEqual(priceFor("claude", "claude-sonnet-4-5-20250929"), {
    input: 3,
    output: 15,
    cachedInput: 0.3,
    cacheWrite: 3.75,
  });
  assert.deepEqual(priceFor("gemini", "models/gemini-2.5-flash"), {
    input: 0.3,
    output: 2.5,
    cachedInput: 0.075,
  });
  assert.deepEqual(priceFor("openai-compatible", "openai/gpt-4o"), {
    input: 2.5,
    output: 10,
    cachedInput: 1.25,
  });
  assert.equal(priceFor("openai-compatible", "my-finetune"), null);
  assert.deepEqual(priceFor("ollama", "llama3.1"), { input: 0, output: 0 });
  const usage = { inputTokens: 1_000_000, outputTokens: 500_000 };
  assert.deepEqual(costOf("openai", "gpt-4o", usage), { costUsd: 7.5, priced: true });
  assert.deepEqual(costOf("openai", "mystery", usage), { costUsd: 0, priced: false });
});

Deno.test("costOf: cached input at the cached price, cache writes at the write price", () => {
  const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} != ${b}`);
  // gpt-4o: 1M input of which 800k cached = 200k × $2.5 + 800k × $1.25 (50%).
  const cachedUsage = { inputTokens: 1e6, outputTokens: 0, cachedInputTokens: 8e5 };
  near(costOf("openai", "gpt-4o", cachedUsage).costUsd, 1.5);
  // gpt-4.1 reads the cache at 25% of input, gpt-5 at 10%.
  near(costOf("openai", "gpt-4.1", { ...cachedUsage, cachedInputTokens: 1e6 }).costUsd, 0.5);
  near(costOf("openai", "gpt-5", { ...cachedUsage, cachedInputTokens: 1e6 }).costUsd, 0.125);
  // Claude: reads at 10% of input, writes at 125%: 100k × 3 + 800k × 0.3 + 100k × 3.75 + 1M out × 15.
  near(
    costOf("claude", "claude-sonnet-4-5", {
      inputTokens: 1e6,
      outputTokens: 1e6,
      cachedInputTokens: 8e5,
      cacheWriteTokens: 1e5,
    }).costUsd,
    0.3 + 0.24 + 0.375 + 15,
  );
  // Gemini 2.5 Flash: cached at 25% of input.
  near(costOf("gemini", "gemini-2.5-flash", cachedUsage).costUsd, 0.06 + 0.06);
  // No cached price: cached tokens cost the input price; nonsense counts are clamped.
  near(costOf("gemini", "gemini-2.0-flash-lite", cachedUsage).costUsd, 0.075);
  near(
    costOf("openai", "gpt-4o", { inputTokens: 100, outputTokens: 0, cachedInputTokens: 500 })
      .costUsd,
    100 * 1.25 / 1e6,
  );
  assert.deepEqual(costOf("ollama", "llama3.1", cachedUsage), { costUsd: 0, priced: true });
});
