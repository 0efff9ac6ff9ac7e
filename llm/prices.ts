/**
 * The one price table: USD per million input and output tokens, for the
 * default models and common ones. Local and replayed models cost nothing; an
 * unknown model is counted as $0 and `priceFor` says so (null).
 */
import type { ProviderName } from "../core/settings.ts";
import type { Usage } from "./types.ts";

/** Prices in USD per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
  /** Input tokens read from the prompt cache; `input` when the model has no cached price. */
  cachedInput?: number;
  /** Input tokens written to the prompt cache (Anthropic); `input` when unset. */
  cacheWrite?: number;
}

/**
 * List prices (standard tier, short prompts) as published by each provider.
 * Cached input, where published: OpenAI's automatic prompt cache reads at 50%
 * of input for the gpt-4o family, 25% for gpt-4.1 and o3/o4-mini, 10% for
 * gpt-5; Anthropic reads the cache at 10% of input and writes it (5-minute
 * TTL) at 125%; Gemini 2.5 (and 2.0 Flash) cached input at 25%.
 */
export const PRICES: Readonly<Record<string, ModelPrice>> = {
  "gpt-4o-mini": { input: 0.15, output: 0.6, cachedInput: 0.075 },
  "gpt-4o": { input: 2.5, output: 10, cachedInput: 1.25 },
  "gpt-4.1": { input: 2, output: 8, cachedInput: 0.5 },
  "gpt-4.1-mini": { input: 0.4, output: 1.6, cachedInput: 0.1 },
  "gpt-4.1-nano": { input: 0.1, output: 0.4, cachedInput: 0.025 },
  "gpt-5": { input: 1.25, output: 10, cachedInput: 0.125 },
  "gpt-5-mini": { input: 0.25, output: 2, cachedInput: 0.025 },
  "gpt-5-nano": { input: 0.05, output: 0.4, cachedInput: 0.005 },
  "o4-mini": { input: 1.1, output: 4.4, cachedInput: 0.275 },
  "o3": { input: 2, output: 8, cachedInput: 0.5 },
  "claude-3-5-haiku-latest": { input: 0.8, output: 4, cachedInput: 0.08, cacheWrite: 1 },
  "claude-3-5-haiku": { input: 0.8, output: 4, cachedInput: 0.08, cacheWrite: 1 },
  "claude-haiku-4-5": { input: 1, output: 5, cachedInput: 0.1, cacheWrite: 1.25 },
  "claude-3-7-sonnet-latest": { input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75 },
  "claude-sonnet-4-0": { input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75 },
  "claude-sonnet-4": { input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75 },
  "claude-sonnet-4-5": { input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75 },
  "claude-opus-4-0": { input: 15, output: 75, cachedInput: 1.5, cacheWrite: 18.75 },
  "claude-opus-4": { input: 15, output: 75, cachedInput: 1.5, cacheWrite: 18.75 },
  "claude-opus-4-1": { input: 15, output: 75, cachedInput: 1.5, cacheWrite: 18.75 },
  "gemini-2.5-flash": { input: 0.3, output: 2.5, cachedInput: 0.075 },
  "gemini-2.5-flash-lite": { input: 0.1, output: 0.4, cachedInput: 0.025 },
  "gemini-2.5-pro": { input: 1.25, output: 10, cachedInput: 0.31 },
  "gemini-2.0-flash": { input: 0.1, output: 0.4, cachedInput: 0.025 },
  "gemini-2.0-flash-lite": { input: 0.075, output: 0.3 },
};

/** Providers whose calls never cost money (a local server, or answers from a cassette). */
const FREE_PROVIDERS: ReadonlySet<ProviderName> = new Set(["ollama", "replay"]);

/**
 * The price of a model, or null when it is not in the table. Dated snapshots
 * (`claude-3-5-haiku-20241022`, `gpt-4o-2024-08-06`), `models/` prefixes and
 * router prefixes (`openai/gpt-4o-mini`) resolve to their base model.
 *
 * @example
 * ```ts
 * priceFor("openai", "gpt-4o-mini-2024-07-18"); // { input: 0.15, output: 0.6, cachedInput: 0.075 }
 * ```
 */
export function priceFor(provider: ProviderName, model: string): ModelPrice | null {
  if (FREE_PROVIDERS.has(provider)) return { input: 0, output: 0 };
  const name = model.trim().toLowerCase().replace(/^models\//, "").replace(/^[a-z0-9-]+\//, "");
  const undated = name.replace(/-(\d{8}|\d{4}-\d{2}-\d{2})$/, "");
  return PRICES[name] ?? PRICES[undated] ?? null;
}

/**
 * The cost of one call in USD; 0 (and `priced: false`) for a model not in the
 * table. Input read from the prompt cache is charged at the cached price,
 * input written to it at the write price, the rest at the input price.
 *
 * @example
 * ```ts
 * // 1M input tokens of which 800k cached: 200k × $2.5 + 800k × $1.25 per million.
 * costOf("openai", "gpt-4o", { inputTokens: 1e6, outputTokens: 0, cachedInputTokens: 8e5 });
 * // { costUsd: 1.5, priced: true }
 * ```
 */
export function costOf(
  provider: ProviderName,
  model: string,
  usage: Usage,
): { costUsd: number; priced: boolean } {
  const price = priceFor(provider, model);
  if (!price) return { costUsd: 0, priced: false };
  const cached = Math.min(Math.max(0, usage.cachedInputTokens ?? 0), usage.inputTokens);
  const written = Math.min(Math.max(0, usage.cacheWriteTokens ?? 0), usage.inputTokens - cached);
  const plain = usage.inputTokens - cached - written;
  const costUsd = (plain * price.input + cached * (price.cachedInput ?? price.input) +
    written * (price.cacheWrite ?? price.input) + usage.outputTokens * price.output) / 1e6;
  return { costUsd, priced: true };
}
