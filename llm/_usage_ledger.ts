/**
 * Recording: every attempt of one provider becomes an llm_calls row or, with
 * no store, part of a per-run total kept in memory.
 */
import type { ProviderName } from "../core/settings.ts";
import type { Store } from "../store/mod.ts";
import type { LlmError } from "./errors.ts";
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
}

export interface UsageLedger {
  /** What the run has recorded so far. */
  runUsage(runId: string): RunUsage;
  record(meta: CallMeta, row: UsageRow): void;
  /** Records a failed attempt and hands the error back, so callers can `throw failed(...)`. */
  failed(meta: CallMeta, error: LlmError, latencyMs?: number): LlmError;
}

/** Runs whose stored totals one ledger keeps (a run's service serves one run; a library's may serve many). */
const MAX_KEPT_TOTALS = 64;

export function createUsageLedger(options: UsageLedgerOptions): UsageLedger {
  const { store, provider } = options;
  const memoryUsage = new Map<string, RunUsage>();
  // With a store, a run's totals are read from it once and then kept here as
  // this ledger records (budgets ask before every call). A run's model calls
  // all go through its owner's service, so no other writer adds to them meanwhile.
  const storedTotals = new Map<string, RunUsage>();

  function runUsage(runId: string): RunUsage {
    if (!store) {
      return { ...(memoryUsage.get(runId) ?? { inputTokens: 0, outputTokens: 0, costUsd: 0 }) };
    }
    let total = storedTotals.get(runId);
    if (!total) {
      const t = store.llmCalls.totals({ runId });
      total = { inputTokens: t.input_tokens, outputTokens: t.output_tokens, costUsd: t.cost_usd };
      if (storedTotals.size >= MAX_KEPT_TOTALS) {
        storedTotals.delete(storedTotals.keys().next().value!);
      }
      storedTotals.set(runId, total);
    }
    return { ...total };
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
      const total = meta.runId ? storedTotals.get(meta.runId) : undefined;
      if (total) {
        total.inputTokens += inputTokens;
        total.outputTokens += outputTokens;
        total.costUsd += row.costUsd;
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
    record(meta, {
      model: options.model,
      costUsd: 0,
      latencyMs,
      outcome: error.kind,
      error: error.message,
    });
    return error;
  }

  return { runUsage, record, failed };
}
