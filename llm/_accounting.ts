/**
 * Metering for one provider: every attempt becomes an llm_calls row (or, with
 * no store, a per-run total in memory), answered calls are priced, and a run
 * that has spent its cost or token budget is refused before its next call.
 */
import type { ProviderName } from "../core/settings.ts";
import type { Store } from "../store/mod.ts";
import { LlmError } from "./errors.ts";
import { costOf } from "./prices.ts";
import type { CallMeta, CompletionResponse } from "./types.ts";

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
  /** Throws (and records) `budget_exceeded` when the call's run has no budget left. */
  checkBudget(meta: CallMeta): void;
  /** Records a failed attempt and hands the error back, so callers can `throw failed(...)`. */
  failed(meta: CallMeta, error: LlmError, latencyMs?: number): LlmError;
  /**
   * Records an answered attempt, `problem` saying why its reply did not
   * validate (null when it did); returns what the call cost in USD.
   */
  answered(
    meta: CallMeta,
    response: CompletionResponse,
    latencyMs: number,
    problem: string | null,
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

  function checkBudget(meta: CallMeta): void {
    if (!meta.runId) return;
    const used = runUsage(meta.runId);
    const tokens = used.inputTokens + used.outputTokens;
    let reason = "";
    if (maxCostUsd > 0 && used.costUsd >= maxCostUsd) {
      reason = `has spent $${used.costUsd.toFixed(4)} of its $${maxCostUsd} budget ` +
        "(CLOSED_CLAW_MAX_COST_USD_PER_RUN or --max-cost-usd)";
    } else if (maxTokens > 0 && tokens >= maxTokens) {
      reason = `has used ${tokens} of its ${maxTokens} tokens (CLOSED_CLAW_MAX_TOKENS_PER_RUN)`;
    }
    if (reason) {
      throw failed(
        meta,
        new LlmError("budget_exceeded", provider, `Run ${meta.runId} ${reason}.`, {
          hint: "Raise the budget to continue, or start a smaller task.",
        }),
      );
    }
  }

  function answered(
    meta: CallMeta,
    response: CompletionResponse,
    latencyMs: number,
    problem: string | null,
  ): number {
    const model = response.model || options.model;
    const price = costOf(provider, model, response.usage);
    if (!price.priced && !unpriced.has(model)) {
      unpriced.add(model);
      options.onWarning?.(`No price is known for model ${model}: its calls are counted as $0.`);
    }
    record(meta, {
      model,
      usage: response.usage,
      costUsd: price.costUsd,
      latencyMs,
      outcome: problem === null ? "ok" : "invalid_output",
      error: problem ?? "",
    });
    return price.costUsd;
  }

  return { runUsage, checkBudget, failed, answered };
}
