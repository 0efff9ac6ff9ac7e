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

export function createUsageLedger(options: UsageLedgerOptions): UsageLedger {
  const { store, provider } = options;
  const memoryUsage = new Map<string, RunUsage>();

  function runUsage(runId: string): RunUsage {
    if (!store) {
      return { ...(memoryUsage.get(runId) ?? { inputTokens: 0, outputTokens: 0, costUsd: 0 }) };
    }
    const t = store.llmCalls.totals({ runId });
    return { inputTokens: t.input_tokens, outputTokens: t.output_tokens, costUsd: t.cost_usd };
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
