/** The price table of the LLM layer. */
import assert from "node:assert/strict";
import { costOf, priceFor } from "../../llm/prices.ts";

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
