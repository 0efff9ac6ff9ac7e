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
}

/** List prices (standard tier, short prompts) as published by each provider. */
export const PRICES: Readonly<Record<string, ModelPrice>> = {
  "gpt-4o-mini": { input: 0.15, output: 0.6 },
  "gpt-4o": { input: 2.5, output: 10 },
  "gpt-4.1": { input: 2, output: 8 },
  "gpt-4.1-mini": { input: 0.4, output: 1.6 },
  "gpt-4.1-nano": { input: 0.1, output: 0.4 },
  "gpt-5": { input: 1.25, output: 10 },
  "gpt-5-mini": { input: 0.25, output: 2 },
  "gpt-5-nano": { input: 0.05, output: 0.4 },
  "o4-mini": { input: 1.1, output: 4.4 },
  "o3": { input: 2, output: 8 },
  "claude-3-5-haiku-latest": { input: 0.8, output: 4 },
  "claude-3-5-haiku": { input: 0.8, output: 4 },
  "claude-haiku-4-5": { input: 1, output: 5 },
  "claude-3-7-sonnet-latest": { input: 3, output: 15 },
  "claude-sonnet-4-0": { input: 3, output: 15 },
  "claude-sonnet-4": { input: 3, output: 15 },
  "claude-sonnet-4-5": { input: 3, output: 15 },
  "claude-opus-4-0": { input: 15, output: 75 },
  "claude-opus-4": { input: 15, output: 75 },
  "claude-opus-4-1": { input: 15, output: 75 },
  "gemini-2.5-flash": { input: 0.3, output: 2.5 },
  "gemini-2.5-flash-lite": { input: 0.1, output: 0.4 },
  "gemini-2.5-pro": { input: 1.25, output: 10 },
  "gemini-2.0-flash": { input: 0.1, output: 0.4 },
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
 * priceFor("openai", "gpt-4o-mini-2024-07-18"); // { input: 0.15, output: 0.6 }
 * ```
 */
export function priceFor(provider: ProviderName, model: string): ModelPrice | null {
  if (FREE_PROVIDERS.has(provider)) return { input: 0, output: 0 };
  const name = model.trim().toLowerCase().replace(/^models\//, "").replace(/^[a-z0-9-]+\//, "");
  const undated = name.replace(/-(\d{8}|\d{4}-\d{2}-\d{2})$/, "");
  return PRICES[name] ?? PRICES[undated] ?? null;
}

/** The cost of one call in USD; 0 (and `priced: false`) for a model not in the table. */
export function costOf(
  provider: ProviderName,
  model: string,
  usage: Usage,
): { costUsd: number; priced: boolean } {
  const price = priceFor(provider, model);
  if (!price) return { costUsd: 0, priced: false };
  const costUsd = (usage.inputTokens * price.input + usage.outputTokens * price.output) / 1e6;
  return { costUsd, priced: true };
}
