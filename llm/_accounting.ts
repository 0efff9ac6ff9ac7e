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
 */
import type { ProviderName } from "../core/settings.ts";
import type { Store } from "../store/mod.ts";
import { BUDGET_OVERRUN, LlmError } from "./errors.ts";
import { costOf, type ModelPrice, priceFor } from "./prices.ts";
import type { CallMeta, CompletionRequest, CompletionResponse } from "./types.ts";

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
  request: Pick<CompletionRequest, "messages" | "schema">,
): number {
  const encoder = new TextEncoder();
  let bytes = 0;
  for (const m of request.messages) bytes += encoder.encode(m.content).length;
  let tokens = REQUEST_OVERHEAD_TOKENS + request.messages.length * MESSAGE_OVERHEAD_TOKENS;
  if (request.schema) {
    const { name, description = "", jsonSchema } = request.schema;
    bytes += encoder.encode(name + description + JSON.stringify(jsonSchema)).length;
    tokens += SCHEMA_OVERHEAD_TOKENS;
  }
  return tokens + Math.ceil(bytes / BYTES_PER_TOKEN_ESTIMATE);
}

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

/** Tokens and cost a run has spent so far. */
export interface RunUsage {
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

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

interface Row {
  model: string;
  usage?: CompletionResponse["usage"];
  costUsd: number;
  latencyMs: number;
  outcome: string;
  error: string;
}

export function createAccounting(options: AccountingOptions): Accounting {
  const { store, provider, maxCostUsd, maxTokens } = options;
  const memoryUsage = new Map<string, RunUsage>();
  const unpriced = new Set<string>();

  function runUsage(runId: string): RunUsage {
    if (!store) {
      return { ...(memoryUsage.get(runId) ?? { inputTokens: 0, outputTokens: 0, costUsd: 0 }) };
    }
    const t = store.llmCalls.totals({ runId });
    return { inputTokens: t.input_tokens, outputTokens: t.output_tokens, costUsd: t.cost_usd };
  }

  function record(meta: CallMeta, row: Row): void {
    const inputTokens = row.usage?.inputTokens ?? 0;
    const outputTokens = row.usage?.outputTokens ?? 0;
    if (store) {
      store.llmCalls.insert({
        run_id: meta.runId ?? null,
        task_id: meta.taskId ?? null,
        agent_id: meta.agentId ?? null,
        purpose: meta.purpose,
        provider,
        model: row.model,
        input_tokens: inputTokens,
        output_tokens: outputTokens,
        cost_usd: row.costUsd,
        latency_ms: Math.round(row.latencyMs),
        outcome: row.outcome,
        error: row.error,
      });
    } else if (meta.runId) {
      // Without a store, calls outside a run need no total: only runs have budgets.
      const total = runUsage(meta.runId);
      memoryUsage.set(meta.runId, {
        inputTokens: total.inputTokens + inputTokens,
        outputTokens: total.outputTokens + outputTokens,
        costUsd: total.costUsd + row.costUsd,
      });
    }
  }

  function failed(meta: CallMeta, error: LlmError, latencyMs = 0): LlmError {
    record(meta, {
      model: options.model,
      costUsd: 0,
      latencyMs,
      outcome: error.kind,
      error: error.message,
    });
    return error;
  }

  /** Tokens and USD held by each run's calls in flight. */
  const held = new Map<string, Set<Reservation>>();
  /** Callers waiting for a reservation of their run to be released. */
  const waiters = new Map<string, Set<() => void>>();

  function heldBy(runId: string): { tokens: number; usd: number; count: number } {
    let tokens = 0;
    let usd = 0;
    const set = held.get(runId) ?? new Set();
    for (const r of set) {
      tokens += r.heldTokens;
      usd += r.heldUsd;
    }
    return { tokens, usd, count: set.size };
  }

  function budgetError(meta: CallMeta, reason: string): LlmError {
    return failed(
      meta,
      new LlmError("budget_exceeded", provider, `Run ${meta.runId} ${reason}.`, {
        hint: "Raise the budget to continue, or start a smaller task.",
      }),
    );
  }

  /**
   * The output the budgets allow a call of `inputTokens` (Infinity when no
   * budget bounds it), or why not even a minimal reply fits.
   */
  function allowance(
    runId: string,
    inputTokens: number,
    price: ModelPrice | null,
  ): { output: number; reason: string } {
    const used = runUsage(runId);
    const inFlight = heldBy(runId);
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

  async function reserve(meta: CallMeta, request: CompletionRequest): Promise<Reservation> {
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
    if (!runId || (maxCostUsd <= 0 && maxTokens <= 0)) return none;
    const price = priceFor(provider, options.model);
    for (;;) {
      if (request.signal?.aborted) {
        throw failed(
          meta,
          new LlmError("cancelled", provider, `The ${provider} call was cancelled.`),
        );
      }
      const { output, reason } = allowance(runId, inputTokens, price);
      if (!reason) {
        if (output === Infinity) return none;
        const maxOutputTokens = Math.min(
          output,
          request.maxTokens ?? Infinity,
          outputCeiling(provider),
        );
        const reservation: Reservation = {
          request: { ...request, maxTokens: maxOutputTokens },
          maxOutputTokens,
          inputTokens,
          heldTokens: inputTokens + maxOutputTokens,
          heldUsd: price ? (inputTokens * price.input + maxOutputTokens * price.output) / 1e6 : 0,
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
      // Calls in flight may leave some of what they hold: wait for one to settle.
      if (heldBy(runId).count === 0) throw budgetError(meta, reason);
      await waitForRelease(runId, request.signal);
    }
  }

  /**
   * Why a reply overran what its call was allowed, or "" when it did not;
   * `costUsd` is the reply's cost, not yet recorded.
   */
  function overrun(
    meta: CallMeta,
    response: CompletionResponse,
    costUsd: number,
    reservation?: Reservation,
  ): string {
    if (!meta.runId) return "";
    const out = response.usage.outputTokens;
    // A cassette's replies are fixed: it cannot honour max_tokens, only the totals count.
    if (
      provider !== "replay" && reservation?.maxOutputTokens !== undefined &&
      out > reservation.maxOutputTokens
    ) {
      return `the reply reported ${out} output tokens where max_tokens allowed ` +
        `${reservation.maxOutputTokens}`;
    }
    const used = runUsage(meta.runId);
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

  function answered(
    meta: CallMeta,
    response: CompletionResponse,
    latencyMs: number,
    problem: string | null,
    reservation?: Reservation,
  ): number {
    const model = response.model || options.model;
    const price = costOf(provider, model, response.usage);
    if (!price.priced && !unpriced.has(model)) {
      unpriced.add(model);
      options.onWarning?.(`No price is known for model ${model}: its calls are counted as $0.`);
    }
    const why = overrun(meta, response, price.costUsd, reservation);
    // Recording the actual cost and releasing the hold happen with no await
    // between them, so no other call ever sees neither (or both).
    record(meta, {
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
  }

  return { runUsage, reserve, failed, answered };
}
