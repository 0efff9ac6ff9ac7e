/**
 * Budget checks, pure: a request's estimated input, the output a run's
 * budgets still allow a call, and whether a reply overran what it was
 * allowed. llm/_accounting.ts describes how the budget holds.
 */
import type { ProviderName } from "../core/settings.ts";
import type { ModelPrice } from "./prices.ts";
import type { CompletionRequest, CompletionResponse } from "./types.ts";

/** Input tokens are estimated as UTF-8 bytes divided by this (real tokenizers average ~4). */
export const BYTES_PER_TOKEN_ESTIMATE = 3;
/** Tokens added per message for its role and framing. */
export const MESSAGE_OVERHEAD_TOKENS = 8;
/** Tokens added once per request, and once more for a schema (tool or format framing). */
export const REQUEST_OVERHEAD_TOKENS = 16;
export const SCHEMA_OVERHEAD_TOKENS = 400;
/** The smallest reply worth paying for: with less budget left than this, the call is refused. */
export const MIN_OUTPUT_TOKENS = 16;
/**
 * The most output a budget-bounded call asks for, so a large budget never
 * sends a `max_tokens` the model refuses. Claude's is the 4096 its client
 * sends when nothing is set.
 */
export function outputCeiling(provider: ProviderName): number {
  return provider === "claude" ? 4096 : 16_384;
}

/**
 * A conservative estimate of the input tokens of a request.
 *
 * @example
 * ```ts
 * estimateInputTokens({ messages: [{ role: "user", content: "hello" }] }); // 26
 * ```
 */
export function estimateInputTokens(
  request: Pick<CompletionRequest, "messages" | "schema" | "tools">,
): number {
  const encoder = new TextEncoder();
  const size = (text: string) => encoder.encode(text).length;
  let bytes = 0;
  for (const m of request.messages) {
    bytes += size(m.content);
    // Tool calls travel as their arguments' JSON; a result's id and name ride along.
    if (m.toolCalls) bytes += size(JSON.stringify(m.toolCalls));
    if (m.toolCallId) bytes += size(m.toolCallId + (m.name ?? ""));
  }
  let tokens = REQUEST_OVERHEAD_TOKENS + request.messages.length * MESSAGE_OVERHEAD_TOKENS;
  if (request.schema) {
    const { name, description = "", jsonSchema } = request.schema;
    bytes += size(name + description + JSON.stringify(jsonSchema));
    tokens += SCHEMA_OVERHEAD_TOKENS;
  }
  // Declared tools are part of the prompt the provider bills.
  for (const tool of request.tools ?? []) {
    bytes += size(tool.name + tool.description + JSON.stringify(tool.parameters));
    tokens += SCHEMA_OVERHEAD_TOKENS;
  }
  return tokens + Math.ceil(bytes / BYTES_PER_TOKEN_ESTIMATE);
}

/** Tokens and cost a run has spent so far. */
export interface RunUsage {
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

/** A run's hard limits; 0 means no limit. */
export interface BudgetLimits {
  maxCostUsd: number;
  maxTokens: number;
}

/** What the run's calls in flight hold. */
export interface InFlight {
  tokens: number;
  usd: number;
  count: number;
}

/**
 * The output the budgets allow a call of `inputTokens` (Infinity when no
 * budget bounds it), or why not even a minimal reply fits.
 */
export function allowance(
  limits: BudgetLimits,
  used: RunUsage,
  inFlight: InFlight,
  inputTokens: number,
  price: ModelPrice | null,
): { output: number; reason: string } {
  const { maxTokens, maxCostUsd } = limits;
  const note = inFlight.count ? ` (${inFlight.count} call(s) in flight hold the rest)` : "";
  let output = Infinity;
  if (maxTokens > 0) {
    const usedTokens = used.inputTokens + used.outputTokens;
    const left = maxTokens - usedTokens - inFlight.tokens - inputTokens;
    output = Math.min(output, left);
    if (left < MIN_OUTPUT_TOKENS) {
      return {
        output,
        reason: `has used ${usedTokens} of its ${maxTokens} tokens ` +
          `(CLOSED_CLAW_MAX_TOKENS_PER_RUN)${note}; this call needs about ` +
          `${inputTokens + MIN_OUTPUT_TOKENS}`,
      };
    }
  }
  if (maxCostUsd > 0) {
    const spent = `has spent $${used.costUsd.toFixed(4)} of its $${maxCostUsd} budget ` +
      `(CLOSED_CLAW_MAX_COST_USD_PER_RUN or --max-cost-usd)${note}`;
    if (price && price.output > 0) {
      const left = maxCostUsd - used.costUsd - inFlight.usd - inputTokens * price.input / 1e6;
      const fits = Math.floor((left * 1e6) / price.output);
      output = Math.min(output, fits);
      if (fits < MIN_OUTPUT_TOKENS) {
        const needs = (inputTokens * price.input + MIN_OUTPUT_TOKENS * price.output) / 1e6;
        return {
          output,
          reason: `${spent}; this call needs up to $${needs.toFixed(6)}`,
        };
      }
    } else if (used.costUsd >= maxCostUsd) {
      // No price (or a free model): only what was recorded can be checked.
      return { output, reason: spent };
    }
  }
  return { output, reason: "" };
}

/** A reply to check against its run's budgets. */
export interface ReplyFacts {
  provider: ProviderName;
  response: CompletionResponse;
  /** The reply's cost, not yet recorded. */
  costUsd: number;
  /** The output its call was allowed, when a budget bounded it. */
  maxOutputTokens?: number;
}

/**
 * Why a reply overran what its call was allowed, or "" when it did not;
 * `used` is what the run had recorded before this reply.
 */
export function overrunReason(limits: BudgetLimits, used: RunUsage, reply: ReplyFacts): string {
  const { maxTokens, maxCostUsd } = limits;
  const { provider, response, costUsd, maxOutputTokens } = reply;
  const out = response.usage.outputTokens;
  // A cassette's replies are fixed: it cannot honour max_tokens, only the totals count.
  if (provider !== "replay" && maxOutputTokens !== undefined && out > maxOutputTokens) {
    return `the reply reported ${out} output tokens where max_tokens allowed ` +
      `${maxOutputTokens}`;
  }
  const spent = used.costUsd + costUsd;
  if (maxCostUsd > 0 && spent > maxCostUsd * (1 + 1e-9)) {
    return `the reply took the recorded spend to $${spent.toFixed(6)}, past the ` +
      `$${maxCostUsd} budget`;
  }
  const tokens = used.inputTokens + used.outputTokens + response.usage.inputTokens + out;
  if (maxTokens > 0 && tokens > maxTokens) {
    return `the reply took the run to ${tokens} tokens, past its ${maxTokens}-token budget`;
  }
  return "";
}
