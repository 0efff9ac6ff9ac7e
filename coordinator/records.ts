/**
 * The audit stage: metrics for every agent the run used (usage, success,
 * latency, fitness), degradation of agents that keep failing, and the
 * `run_summary` audit event and run-log line.
 */
import type { Store } from "../store/mod.ts";
import { transaction } from "../store/db.ts";
import type { RunContext } from "./context.ts";
import type { AgentRunStats, RunState } from "./types.ts";

/** Agents with at least this many uses and a success rate below DEGRADE_RATE are degraded. */
export const DEGRADE_MIN_USES = 5;
export const DEGRADE_RATE = 0.2;

/**
 * An agent's fitness: completion 0.40, tool efficiency 0.25 (0.5 without
 * calls), verification 0.20, speed 0.15 (`min(1, 30000/latency)`).
 */
export function fitnessOf(stats: AgentRunStats): number {
  const completion = stats.subtasks ? stats.succeeded / stats.subtasks : 0;
  const efficiency = stats.tool_calls ? stats.tool_ok / stats.tool_calls : 0.5;
  const meanLatency = stats.subtasks ? stats.latency_ms / stats.subtasks : 0;
  const speed = meanLatency > 0 ? Math.min(1, 30_000 / meanLatency) : 0.5;
  return 0.4 * completion + 0.25 * efficiency + 0.2 * completion + 0.15 * speed;
}

/** EMA of fitness across runs: `0.6·old + 0.4·new`, or `new` the first time. */
export function blendFitness(old: number, fresh: number): number {
  return old === 0 ? fresh : 0.6 * old + 0.4 * fresh;
}

/** How many model calls a run made. */
export interface ModelCallCounts {
  /** Every llm_calls row of the run (each attempt, repairs included). */
  total: number;
  /**
   * Those made before the run's first tool call, not counting the agent step
   * that asked for it; null before any tool call (and for older runs).
   */
  before_first_tool: number | null;
}

/** A run's model calls in all and before its first tool call; `state` defaults to the stored one. */
export function modelCallCounts(
  store: Store,
  runId: string,
  state: RunState | null = store.runs.loadState<RunState>(runId),
): ModelCallCounts {
  return {
    total: store.llmCalls.totals({ runId }).calls,
    before_first_tool: state?.model_calls_before_first_tool ?? null,
  };
}

/** Records metrics for every agent used, degrades failing ones, and writes the summaries. */
export function auditRun(ctx: RunContext): void {
  const { state, store } = ctx;
  state.audited_stats ??= {};
  // One transaction: the agents' metrics and the summary land together, at the cost of one commit.
  transaction(store.db, () => {
    recordAgentMetrics(ctx);
    recordSummary(ctx);
  });
  // Only once written (committed, or part of the caller's transaction): a failed audit is done
  // again, whole, when the run resumes.
  state.audited_stats = structuredClone(state.agent_stats);
}

/**
 * The audit and the checkpoint `checkpointed` writes, in one transaction:
 * after a crash both are there or neither, so a resumed run never counts an
 * agent's uses twice. When they cannot be written, the state is as before.
 */
export function auditCommitted(ctx: RunContext, checkpointed: () => void): void {
  const s = ctx.state;
  const before = { stage: s.stage, audited: s.audited_stats };
  try {
    transaction(ctx.store.db, () => {
      auditRun(ctx);
      checkpointed();
    });
  } catch (error) {
    s.stage = before.stage;
    s.audited_stats = before.audited;
    throw error;
  }
}

/** Usage, fitness and degradation for every agent the run used since it was last audited. */
function recordAgentMetrics(ctx: RunContext): void {
  const { state, store } = ctx;
  const audited = state.audited_stats ?? {};
  for (const [agentId, stats] of Object.entries(state.agent_stats)) {
    // A resumed run was audited before: record only the uses since then.
    const before = audited[agentId];
    const uses = stats.subtasks - (before?.subtasks ?? 0);
    const successes = stats.succeeded - (before?.succeeded ?? 0);
    if (uses <= 0) continue;
    const meanLatency = stats.latency_ms / stats.subtasks;
    for (let i = 0; i < uses; i++) {
      store.agents.recordUsage(agentId, i < successes, meanLatency);
    }
    const row = store.agents.get(agentId);
    if (!row) continue;
    store.agents.setFitness(agentId, blendFitness(row.fitness_score, fitnessOf(stats)));
    if (
      row.status === "active" && row.usage_count >= DEGRADE_MIN_USES &&
      row.success_rate < DEGRADE_RATE
    ) {
      store.agents.setStatus(agentId, "degraded");
      ctx.index.setStatus(agentId, "degraded");
      ctx.log.emit("agent_degraded", {
        agent_id: agentId,
        usage_count: row.usage_count,
        success_rate: row.success_rate,
      });
    }
  }
}

/** The `run_summary` audit event and run-log line. */
function recordSummary(ctx: RunContext): void {
  const { state, store } = ctx;
  const agentsUsed = Object.keys(state.agent_stats);
  store.audit.record("run_summary", {
    status: state.response_status,
    error: state.response_error,
    approvals: state.approvals,
    tool_event_count: state.tool_event_count,
    model_calls_before_first_tool: state.model_calls_before_first_tool ?? null,
    agents_used: agentsUsed,
  }, { runId: state.run_id, agentId: agentsUsed[0] });
  ctx.log.emit("run_summary", {
    status: state.response_status,
    agent_id: agentsUsed[0] ?? "unknown",
    response_result: state.response_result.slice(0, 3000),
    response_error: state.response_error,
    agents_used: agentsUsed.slice(0, 20),
    created_agents: state.created_agents.slice(0, 10),
    approval_count: state.approvals.length,
    tool_event_count: state.tool_event_count,
    model_calls_before_first_tool: state.model_calls_before_first_tool ?? null,
  });
}
