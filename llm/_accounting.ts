/**
 * Metering for one provider: every attempt becomes an llm_calls row (or, with
 * no store, a per-run total in memory), answered calls are priced, and a run's
 * cost and token budgets are hard limits.
 *
 * How a budget holds: before a call is sent it **reserves** its worst case.
 * Its input is estimated from the request (UTF-8 bytes / 3 as tokens, plus a
 * few tokens per message and for a schema: more than any tokenizer counts
 * for ordinary text), and its output is bounded by setting the request's
 * `maxTokens` (the providers send it as `max_tokens`, `max_completion_tokens`
 * or `maxOutputTokens`) to what the budget has left after what the run has
 * spent and what calls in flight have reserved, at the model's prices
 * (llm/prices.ts). Reserving is synchronous, so parallel calls of one process
 * never share the same dollars. When not even {@link MIN_OUTPUT_TOKENS} fit,
 * the call waits for calls in flight to settle and, if nothing is freed, is
 * refused with `budget_exceeded` before anything is sent. When the reply
 * arrives its reservation is replaced by its actual cost. A reply that
 * reports more output than it was allowed, or that takes the recorded spend
 * past the cap, is recorded and then stops the run at once
 * ({@link BUDGET_OVERRUN}). A model with no price keeps its old treatment
 * (counted as $0, told once) and is bounded only by a token budget.
 *
 * The parts: `_usage_ledger.ts` records, `_reservations.ts` holds, `_budget.ts`
 * checks (pure); this module composes them and accounts replies.
 */
import type { ProviderName } from "../core/settings.ts";
import type { Store } from "../store/mod.ts";
import { BUDGET_OVERRUN, LlmError } from "./errors.ts";
import { costOf } from "./prices.ts";
import { overrunReason, type RunUsage } from "./_budget.ts";
import { createReservations, type Reservation } from "./_reservations.ts";
import { createUsageLedger, type UsageLedger } from "./_usage_ledger.ts";
import type { CallMeta, CompletionRequest, CompletionResponse } from "./types.ts";

export {
  BYTES_PER_TOKEN_ESTIMATE,
  estimateInputTokens,
  MESSAGE_OVERHEAD_TOKENS,
  MIN_OUTPUT_TOKENS,
  outputCeiling,
  REQUEST_OVERHEAD_TOKENS,
  SCHEMA_OVERHEAD_TOKENS,
} from "./_budget.ts";
export type { RunUsage } from "./_budget.ts";
export type { Reservation } from "./_reservations.ts";

export interface AccountingOptions {
  /** Where rows go; without it only per-run totals are kept, in memory. */
  store?: Store;
  provider: ProviderName;
  /** The configured model, named on rows of calls that got no reply. */
  model: string;
  /** 0 means no limit. */
  maxCostUsd: number;
  /** 0 means no limit. */
  maxTokens: number;
  /** Told once per model that has no price. */
  onWarning?: (line: string) => void;
  /** The one run the service serves, if any (see `UsageLedgerOptions.run`). */
  run?: string;
}

export interface Accounting {
  runUsage(runId: string): RunUsage;
  /**
   * Reserves the call's worst case on its run's budget and bounds its output;
   * throws (and records) `budget_exceeded` when not even a minimal reply
   * fits, after waiting for calls in flight to settle.
   */
  reserve(meta: CallMeta, request: CompletionRequest): Promise<Reservation>;
  /** Records a failed attempt and hands the error back, so callers can `throw failed(...)`. */
  failed(meta: CallMeta, error: LlmError, latencyMs?: number): LlmError;
  /**
   * Records an answered attempt, `problem` saying why its reply did not
   * validate (null when it did), and releases its reservation; returns what
   * the call cost in USD. Throws a `budget_exceeded` error with code
   * {@link BUDGET_OVERRUN} (after recording the reply) when the reply used
   * more than it was allowed.
   */
  answered(
    meta: CallMeta,
    response: CompletionResponse,
    latencyMs: number,
    problem: string | null,
    reservation?: Reservation,
  ): number;
}

export function createAccounting(options: AccountingOptions): Accounting {
  const ledger = createUsageLedger(options);
  return {
    runUsage: ledger.runUsage,
    reserve: createReservations({ ...options, ledger }),
    failed: ledger.failed,
    answered: createAnswered(options, ledger),
  };
}

/** Returns `answered`: prices a reply, records it, releases its hold, stops an overrun. */
function createAnswered(options: AccountingOptions, ledger: UsageLedger): Accounting["answered"] {
  const { provider } = options;
  const unpriced = new Set<string>();

  /** Why the reply overran what its call was allowed, or "" when it did not. */
  function overrun(
    meta: CallMeta,
    response: CompletionResponse,
    costUsd: number,
    reservation?: Reservation,
  ): string {
    if (!meta.runId) return "";
    return overrunReason(options, ledger.runUsage(meta.runId), {
      provider,
      response,
      costUsd,
      maxOutputTokens: reservation?.maxOutputTokens,
    });
  }

  return (meta, response, latencyMs, problem, reservation) => {
    const model = response.model || options.model;
    const price = costOf(provider, model, response.usage);
    if (!price.priced && !unpriced.has(model)) {
      unpriced.add(model);
      options.onWarning?.(`No price is known for model ${model}: its calls are counted as $0.`);
    }
    const why = overrun(meta, response, price.costUsd, reservation);
    // Recording the actual cost and releasing the hold happen with no await
    // between them, so no other call ever sees neither (or both).
    ledger.record(meta, {
      model,
      usage: response.usage,
      costUsd: price.costUsd,
      latencyMs,
      outcome: why ? "budget_overrun" : problem === null ? "ok" : "invalid_output",
      error: why || (problem ?? ""),
    });
    reservation?.release();
    if (why) {
      throw new LlmError(
        "budget_exceeded",
        provider,
        `Run ${meta.runId} overran its budget (budget_overrun): ${why}. The run stops here; ` +
          "resume it with a higher --max-cost-usd or CLOSED_CLAW_MAX_TOKENS_PER_RUN.",
        {
          code: BUDGET_OVERRUN,
          hint: "The provider reported more than the call was allowed (it may ignore max_tokens).",
        },
      );
    }
    return price.costUsd;
  };
}
