/**
 * Recording: every attempt of one provider becomes an llm_calls row or, with
 * no store, part of a per-run total kept in memory.
 */
import type { ProviderName } from "../core/settings.ts";
import type { Store } from "../store/mod.ts";
import type { LlmError } from "./errors.ts";
import { costOf } from "./prices.ts";
import type { RunUsage } from "./_budget.ts";
import type { CallMeta, CompletionResponse } from "./types.ts";

/** One attempt, as recorded. */
export interface UsageRow {
  model: string;
  usage?: CompletionResponse["usage"];
  costUsd: number;
  latencyMs: number;
  outcome: string;
  error: string;
}

export interface UsageLedgerOptions {
  /** Where rows go; without it only per-run totals are kept, in memory. */
  store?: Store;
  provider: ProviderName;
  /** The configured model, named on rows of calls that got no reply. */
  model: string;
  /**
   * The one run the ledger's service serves (the coordinator makes a service
   * per run): its stored totals are read once and then kept as calls are
   * recorded. Any other run's are read from the store each time, since
   * another process may have added to them.
   */
  run?: string;
}

export interface UsageLedger {
  /** What the run has recorded so far. */
  runUsage(runId: string): RunUsage;
  record(meta: CallMeta, row: UsageRow): void;
  /** Records a failed attempt and hands the error back, so callers can `throw failed(...)`. */
  failed(meta: CallMeta, error: LlmError, latencyMs?: number): LlmError;
}

export function createUsageLedger(options: UsageLedgerOptions): UsageLedger {
  const { store, provider } = options;
  const memoryUsage = new Map<string, RunUsage>();
  // The served run's stored totals, once read (budgets ask before every call).
  // While its owner runs it, every model call of the run goes through here.
  let kept: RunUsage | undefined;

  function stored(runId: string): RunUsage {
    const t = store!.llmCalls.totals({ runId });
    return { inputTokens: t.input_tokens, outputTokens: t.output_tokens, costUsd: t.cost_usd };
  }

  function runUsage(runId: string): RunUsage {
    if (!store) {
      return { ...(memoryUsage.get(runId) ?? { inputTokens: 0, outputTokens: 0, costUsd: 0 }) };
    }
    if (runId !== options.run) return stored(runId);
    kept ??= stored(runId);
    return { ...kept };
  }

  function record(meta: CallMeta, row: UsageRow): void {
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
        cached_input_tokens: row.usage?.cachedInputTokens ?? 0,
        cost_usd: row.costUsd,
        latency_ms: Math.round(row.latencyMs),
        outcome: row.outcome,
        error: row.error,
      });
      if (kept && meta.runId === options.run) {
        kept.inputTokens += inputTokens;
        kept.outputTokens += outputTokens;
        kept.costUsd += row.costUsd;
      }
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
    // A reply that came but could not be used is billed all the same: it counts.
    const usage = error.usage;
    record(meta, {
      model: options.model,
      usage,
      costUsd: usage ? costOf(provider, options.model, usage).costUsd : 0,
      latencyMs,
      outcome: error.kind,
      error: error.message,
    });
    return error;
  }

  return { runUsage, record, failed };
}
