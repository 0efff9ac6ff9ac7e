/**
 * What resuming a run needs beyond starting one: refusing a budget that is
 * already spent, and putting failed work back in the queue.
 */
import { ClosedClawError } from "../core/errors.ts";
import type { LlmService } from "../llm/types.ts";
import type { CoordinatorDeps, RunState } from "./types.ts";

/**
 * A resumed run is the same run, so what it spent before counts against its
 * budget. When nothing is left, refuse at once (before any model call or
 * capsule) and say how to raise it; the run stays as it was.
 */
export function refuseSpentBudget(
  deps: CoordinatorDeps,
  llm: LlmService,
  runId: string,
  maxCostUsd: number | undefined,
): void {
  const used = llm.runUsage(runId);
  const budget = maxCostUsd ?? deps.settings.maxCostUsdPerRun;
  if (budget > 0 && used.costUsd >= budget) {
    throw new ClosedClawError(
      "budget_exceeded",
      `Run ${runId} has already spent $${used.costUsd.toFixed(4)} of its $${budget} budget.`,
      {
        hint: `Pass a higher budget: \`closed-claw resume ${runId} --max-cost-usd <usd>\` ` +
          "(or raise CLOSED_CLAW_MAX_COST_USD_PER_RUN).",
      },
    );
  }
  const tokens = used.inputTokens + used.outputTokens;
  const maxTokens = deps.settings.maxTokensPerRun;
  if (maxTokens > 0 && tokens >= maxTokens) {
    throw new ClosedClawError(
      "budget_exceeded",
      `Run ${runId} has already used ${tokens} of its ${maxTokens} tokens.`,
      { hint: "Raise CLOSED_CLAW_MAX_TOKENS_PER_RUN, then resume it." },
    );
  }
}

/** Puts failed and cancelled work back in the queue and rewinds to the first unfinished phase. */
export function reopenFailed(state: RunState): void {
  const reopen = (pool: RunState["discovery_subtask_pool"]) => {
    for (const t of pool) {
      if (t.status === "failed" || t.status === "cancelled") {
        t.status = t.depends_on.length ? "waiting" : "pending";
        t.attempts = 0;
        t.error = "";
      }
    }
  };
  const discoveryOpen = state.discovery_subtask_pool.some((t) => t.status !== "completed");
  reopen(state.discovery_subtask_pool);
  reopen(state.execution_subtask_pool);
  state.response_status = null;
  state.response_error = "";
  const planned = state.discovery_subtask_pool.length + state.execution_subtask_pool.length > 0;
  if (!planned) state.stage = "classified";
  else if (discoveryOpen) state.stage = "planned";
  else if (state.execution_subtask_pool.length === 0) state.stage = "discovery_done";
  else if (["execution_done", "validated", "audited", "synthesized"].includes(state.stage)) {
    state.stage = "execution_planned";
  }
}
