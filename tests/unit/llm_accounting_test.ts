/**
 * Hard budgets on their own (no store, no provider): what a call reserves,
 * the max_tokens it is given, when it is refused before anything is sent,
 * how parallel calls share the last of a budget, and when a reply is an
 * overrun.
 */
import assert from "node:assert/strict";
import {
  createAccounting,
  estimateInputTokens,
  MIN_OUTPUT_TOKENS,
  outputCeiling,
} from "../../llm/_accounting.ts";
import { BUDGET_OVERRUN, LlmError } from "../../llm/errors.ts";
import type { CompletionRequest, CompletionResponse } from "../../llm/types.ts";
import { rejection } from "../helpers/assert.ts";

// gpt-4o-mini: $0.15 per million input tokens, $0.60 per million output tokens.
const IN = 0.15 / 1e6;
const OUT = 0.6 / 1e6;
const meta = { runId: "r1", purpose: "plan" };
const ask = (content: string): CompletionRequest => ({ messages: [{ role: "user", content }] });

function accounting(maxCostUsd: number, maxTokens = 0, model = "gpt-4o-mini") {
  const warnings: string[] = [];
  const acc = createAccounting({
    provider: "openai",
    model,
    maxCostUsd,
    maxTokens,
    onWarning: (line) => warnings.push(line),
  });
  return { acc, warnings };
}

const reply = (input: number, output: number): CompletionResponse => ({
  text: "x",
  usage: { inputTokens: input, outputTokens: output },
  model: "gpt-4o-mini",
});

Deno.test("the input estimate is conservative: at least one token per 3 UTF-8 bytes, plus framing", () => {
  const english = "The quick brown fox jumps over the lazy dog. ".repeat(20);
  const tokens = estimateInputTokens(ask(english));
  // Real tokenizers average about 4 characters a token for English.
  assert.ok(tokens >= Math.ceil(english.length / 3), String(tokens));
  // Multi-byte text counts by bytes, not characters.
  const cjk = "漢字".repeat(100);
  assert.ok(estimateInputTokens(ask(cjk)) >= 200);
  const schema = { name: "plan", jsonSchema: { type: "object", properties: {} } };
  assert.ok(estimateInputTokens({ ...ask("hi"), schema }) > estimateInputTokens(ask("hi")) + 100);
});

Deno.test("the input estimate counts declared tools and the tool calls and results of the history", () => {
  const parameters = { type: "object", properties: { path: { type: "string" } } };
  const description = "Read a file of the workspace. ".repeat(20);
  const tools = [{ name: "read_file", description, parameters }];
  assert.ok(
    estimateInputTokens({ ...ask("hi"), tools }) >=
      estimateInputTokens(ask("hi")) + Math.ceil(description.length / 3),
  );
  const args = { path: "x".repeat(600) };
  const history = {
    messages: [
      { role: "user" as const, content: "read it" },
      {
        role: "assistant" as const,
        content: "",
        toolCalls: [{ id: "c1", name: "read_file", args }],
      },
      { role: "tool" as const, content: "ok", toolCallId: "c1", name: "read_file" },
    ],
  };
  assert.ok(estimateInputTokens(history) >= 200, "the call's arguments are counted");
});

Deno.test("a call's max_tokens is what the cost budget has left at the model's output price", async () => {
  const { acc } = accounting(0.001);
  const request = ask("plan the work");
  const input = estimateInputTokens(request);
  const hold = await acc.reserve(meta, request);
  const expected = Math.floor(((0.001 - input * IN) * 1e6) / 0.6);
  assert.equal(hold.request.maxTokens, expected);
  assert.equal(hold.maxOutputTokens, expected);
  assert.ok(Math.abs(hold.heldUsd - (input * IN + expected * OUT)) < 1e-12);
  assert.ok(hold.heldUsd <= 0.001);
  hold.release();
});

Deno.test("a large budget asks for no more than the provider's output ceiling, nor than the request", async () => {
  const { acc } = accounting(100);
  const big = await acc.reserve(meta, ask("hi"));
  assert.equal(big.request.maxTokens, outputCeiling("openai"));
  big.release();
  const small = await acc.reserve(meta, { ...ask("hi"), maxTokens: 50 });
  assert.equal(small.request.maxTokens, 50);
  small.release();
});

Deno.test("without a budget the request goes out unchanged and nothing is held", async () => {
  const { acc } = accounting(0);
  const request = ask("hi");
  const hold = await acc.reserve(meta, request);
  assert.equal(hold.request, request);
  assert.equal(hold.request.maxTokens, undefined);
  // Calls outside a run are never budgeted.
  const outside = await accounting(0.001).acc.reserve({ purpose: "setup" }, request);
  assert.equal(outside.request.maxTokens, undefined);
});

Deno.test("a call that cannot fit even a minimal reply is refused with budget_exceeded", async () => {
  // The input alone (about 20 tokens at $0.15/M) leaves less than 16 output tokens.
  const { acc } = accounting(0.000005);
  const refused = await rejection(acc.reserve(meta, ask("hi")), LlmError);
  assert.equal(refused.kind, "budget_exceeded");
  assert.equal(refused.code, "llm_budget_exceeded");
  assert.match(refused.message, /Run r1 has spent \$0\.0000 of its \$0\.000005 budget/);
  assert.match(refused.message, /this call needs up to \$/);
});

Deno.test("parallel calls reserve atomically: the last of a budget is never promised twice", async () => {
  const budget = 0.0001; // about 160 output tokens of gpt-4o-mini
  const { acc } = accounting(budget);
  const first = await acc.reserve(meta, ask("one"));
  // The first call holds everything; the next ones wait instead of sharing it.
  let settled = 0;
  const waiting = [acc.reserve(meta, ask("two")), acc.reserve(meta, ask("three"))].map((p) =>
    p.then((h) => (settled++, h), (e) => (settled++, Promise.reject(e)))
  );
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(settled, 0, "nothing is left while the first call holds the rest");
  // The reply uses a fraction of what it held: the rest goes to one of the next calls.
  acc.answered(meta, reply(10, 40), 1, null, first);
  const winner = await Promise.race(waiting);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(settled, 1, "the other still waits: the winner holds what was freed");
  const spent = acc.runUsage("r1").costUsd;
  assert.ok(spent + winner.heldUsd <= budget + 1e-12, "spend plus holds stay within the cap");
  // The winner's reply uses all it was allowed: the last call is refused, not sent.
  acc.answered(meta, reply(10, winner.maxOutputTokens!), 1, null, winner);
  const results = await Promise.allSettled(waiting);
  const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
  assert.equal((refused.reason as LlmError).kind, "budget_exceeded");
  assert.ok(acc.runUsage("r1").costUsd <= budget, String(acc.runUsage("r1").costUsd));
});

Deno.test("a waiting call is refused once calls in flight settle and still nothing fits", async () => {
  const { acc } = accounting(0.00003); // about 45 output tokens
  const first = await acc.reserve(meta, ask("one"));
  const second = rejection(acc.reserve(meta, ask("two")), LlmError);
  acc.answered(meta, reply(20, first.maxOutputTokens!), 1, null, first);
  assert.equal((await second).kind, "budget_exceeded");
});

Deno.test("a reply with more output than max_tokens allowed is an overrun, recorded then thrown", () => {
  const { acc } = accounting(10);
  return acc.reserve(meta, ask("hi")).then((hold) => {
    const limit = hold.maxOutputTokens!;
    let thrown: unknown;
    try {
      acc.answered(meta, reply(10, limit + 1), 1, null, hold);
    } catch (error) {
      thrown = error;
    }
    assert.ok(thrown instanceof LlmError);
    assert.equal(thrown.kind, "budget_exceeded", "the run stops as on a spent budget");
    assert.equal(thrown.code, BUDGET_OVERRUN);
    assert.match(thrown.message, /budget_overrun/);
    assert.match(thrown.message, new RegExp(`reported ${limit + 1} output tokens`));
    assert.equal(acc.runUsage("r1").outputTokens, limit + 1, "the spend is still recorded");
  });
});

Deno.test("a reply that takes the recorded spend past the cap is an overrun", async () => {
  const { acc } = accounting(0.001);
  const hold = await acc.reserve(meta, ask("hi"));
  // Within max_tokens, but far more input than was sent.
  assert.throws(
    () => acc.answered(meta, reply(1_000_000, 1), 1, null, hold),
    (e: unknown) => e instanceof LlmError && e.code === BUDGET_OVERRUN,
  );
  // The next call is refused before anything is sent.
  assert.equal(
    (await rejection(acc.reserve(meta, ask("again")), LlmError)).kind,
    "budget_exceeded",
  );
});

Deno.test("a token budget bounds output the same way", async () => {
  const { acc } = accounting(0, 500);
  const request = ask("count to ten");
  const hold = await acc.reserve(meta, request);
  assert.equal(hold.request.maxTokens, 500 - estimateInputTokens(request));
  acc.answered(meta, reply(30, 460), 1, null, hold);
  const refused = await rejection(acc.reserve(meta, request), LlmError);
  assert.match(
    refused.message,
    /has used 490 of its 500 tokens \(CLOSED_CLAW_MAX_TOKENS_PER_RUN\)/,
  );
});

Deno.test("an unpriced model warns once, is bounded only by a token budget", async () => {
  const { acc, warnings } = accounting(0.001, 0, "mystery-model");
  const free = await acc.reserve(meta, ask("hi"));
  assert.equal(free.request.maxTokens, undefined, "no price: the cost budget cannot bound it");
  const unpriced = { ...reply(10, 10_000), model: "mystery-model" };
  acc.answered(meta, unpriced, 1, null, free);
  acc.answered(meta, unpriced, 1, null, free);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /No price is known for model mystery-model/);

  const tokens = accounting(0.001, 300, "mystery-model").acc;
  const bounded = await tokens.reserve(meta, ask("hi"));
  assert.equal(bounded.request.maxTokens, 300 - estimateInputTokens(ask("hi")));
  assert.ok(bounded.request.maxTokens! >= MIN_OUTPUT_TOKENS);
});
