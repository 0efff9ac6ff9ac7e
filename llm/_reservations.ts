/**
 * Reservations: before a call is sent it holds its worst case on its run's
 * budget, synchronously, so parallel calls of one process never share the
 * same dollars. A call that does not fit waits for calls in flight to settle
 * and, if nothing is freed, is refused with `budget_exceeded`.
 */
import type { ProviderName } from "../core/settings.ts";
import { LlmError } from "./errors.ts";
import { priceFor } from "./prices.ts";
import {
  allowance,
  type BudgetLimits,
  estimateInputTokens,
  type InFlight,
  outputCeiling,
} from "./_budget.ts";
import type { UsageLedger } from "./_usage_ledger.ts";
import type { CallMeta, CompletionRequest } from "./types.ts";

/** A call's hold on its run's budget, from before it is sent until its reply is accounted. */
export interface Reservation {
  /** The request to send: `maxTokens` lowered to what the budget allows. */
  request: CompletionRequest;
  /** The output the reply may use, when a budget bounds it. */
  maxOutputTokens?: number;
  /** Estimated input tokens. */
  inputTokens: number;
  /** Tokens and USD held for the call (its worst case). */
  heldTokens: number;
  heldUsd: number;
  /** Gives the hold back (idempotent); `answered` and the call path call it. */
  release(): void;
}

export interface ReservationsOptions extends BudgetLimits {
  provider: ProviderName;
  /** The configured model, whose price bounds the output. */
  model: string;
  ledger: UsageLedger;
}

/** The holds of each run's calls in flight, and the callers waiting for one to be released. */
function createHolds() {
  const held = new Map<string, Set<Reservation>>();
  const waiters = new Map<string, Set<() => void>>();

  function heldBy(runId: string): InFlight {
    let tokens = 0;
    let usd = 0;
    const set = held.get(runId) ?? new Set();
    for (const r of set) {
      tokens += r.heldTokens;
      usd += r.heldUsd;
    }
    return { tokens, usd, count: set.size };
  }

  /** Holds `fields` for `runId` until the reservation is released. */
  function hold(runId: string, fields: Omit<Reservation, "release">): Reservation {
    const reservation: Reservation = {
      ...fields,
      release() {
        const set = held.get(runId);
        if (!set?.delete(reservation)) return;
        if (set.size === 0) held.delete(runId);
        for (const wake of [...(waiters.get(runId) ?? [])]) wake();
      },
    };
    const set = held.get(runId) ?? new Set();
    set.add(reservation);
    held.set(runId, set);
    return reservation;
  }

  function waitForRelease(runId: string, signal?: AbortSignal): Promise<void> {
    return new Promise((done) => {
      const set = waiters.get(runId) ?? new Set();
      waiters.set(runId, set);
      const wake = () => {
        set.delete(wake);
        signal?.removeEventListener("abort", wake);
        done();
      };
      set.add(wake);
      signal?.addEventListener("abort", wake, { once: true });
    });
  }

  return { heldBy, hold, waitForRelease };
}

/**
 * Returns `reserve`: it reserves a call's worst case on its run's budget and
 * bounds its output; throws (and records) `budget_exceeded` when not even a
 * minimal reply fits, after waiting for calls in flight to settle.
 */
export function createReservations(
  options: ReservationsOptions,
): (meta: CallMeta, request: CompletionRequest) => Promise<Reservation> {
  const { provider, ledger } = options;
  const holds = createHolds();

  return async function reserve(meta, request) {
    const inputTokens = estimateInputTokens(request);
    const none: Reservation = {
      request,
      inputTokens,
      heldTokens: 0,
      heldUsd: 0,
      release: () => {},
    };
    // Only runs have budgets.
    const runId = meta.runId;
    if (!runId || (options.maxCostUsd <= 0 && options.maxTokens <= 0)) return none;
    const price = priceFor(provider, options.model);
    for (;;) {
      if (request.signal?.aborted) {
        throw ledger.failed(
          meta,
          new LlmError("cancelled", provider, `The ${provider} call was cancelled.`),
        );
      }
      const inFlight = holds.heldBy(runId);
      const used = ledger.runUsage(runId);
      const { output, reason } = allowance(options, used, inFlight, inputTokens, price);
      if (!reason) {
        if (output === Infinity) return none;
        const maxOutputTokens = Math.min(
          output,
          request.maxTokens ?? Infinity,
          outputCeiling(provider),
        );
        return holds.hold(runId, {
          request: { ...request, maxTokens: maxOutputTokens },
          maxOutputTokens,
          inputTokens,
          heldTokens: inputTokens + maxOutputTokens,
          heldUsd: price ? (inputTokens * price.input + maxOutputTokens * price.output) / 1e6 : 0,
        });
      }
      // Calls in flight may leave some of what they hold: wait for one to settle.
      if (inFlight.count === 0) {
        throw ledger.failed(
          meta,
          new LlmError("budget_exceeded", provider, `Run ${runId} ${reason}.`, {
            hint: "Raise the budget to continue, or start a smaller task.",
          }),
        );
      }
      await holds.waitForRelease(runId, request.signal);
    }
  };
}
