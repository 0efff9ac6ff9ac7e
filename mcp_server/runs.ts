/**
 * What the MCP tools show of runs and agents, and how they find a run: a
 * full id, a unique prefix of one, or `last` (the newest run).
 */
import { ClosedClawError } from "../core/errors.ts";
import { isRunId } from "../core/ids.ts";
import type { RunOutcome } from "../coordinator/types.ts";
import type { AgentRow, RunRow, Store } from "../store/mod.ts";
import { LookupRepo } from "../store/lookup_repo.ts";

export { scopedWorkspace } from "../coordinator/run_options.ts";

/**
 * The run `ref` names: an exact id, a unique prefix of one, or `last` (the
 * rules of the CLI's ids, with hints that name MCP tools). Throws one clear
 * error otherwise; an ambiguous prefix lists the runs it matches.
 *
 * @example
 * ```ts
 * findRun(store, "last").run_id; // the newest run's id
 * findRun(store, "3f2c9a").status;
 * ```
 */
export function findRun(store: Store, ref: string): RunRow {
  const wanted = ref.trim();
  const lookup = new LookupRepo(store.db);
  if (wanted === "last") {
    const newest = lookup.newestRunId();
    if (!newest) throw new ClosedClawError("run_not_found", "There are no runs yet.");
    return store.runs.get(newest)!;
  }
  if (!isRunId(wanted)) {
    throw new ClosedClawError("invalid_run_id", `"${wanted.slice(0, 100)}" is not a run id.`, {
      hint: "Pass a run id, a unique prefix of one, or `last`; list_runs shows them.",
    });
  }
  const exact = store.runs.get(wanted);
  if (exact) return exact;
  const found = lookup.runIdsWithPrefix(wanted, 6);
  if (found.length === 1) return store.runs.get(found[0].id)!;
  if (found.length > 1) {
    const shown = found.slice(0, 5).map((c) => c.id).join(", ");
    throw new ClosedClawError(
      "run_id_ambiguous",
      `"${wanted}" matches ${found.length > 5 ? "more than 5" : found.length} runs: ${shown}${
        found.length > 5 ? ", …" : ""
      }.`,
      { hint: "Give more of the id." },
    );
  }
  throw new ClosedClawError("run_not_found", `No run with id ${wanted}.`, {
    hint: "list_runs shows the runs.",
  });
}

/** A run as `list_runs` shows it: one line's worth of fields. */
export function runListItem(run: RunRow) {
  return {
    run_id: run.run_id,
    status: run.status,
    task: run.task.length > 200 ? `${run.task.slice(0, 199)}…` : run.task,
    created_at: run.created_at,
    finished_at: run.finished_at,
    cost_usd: run.cost_usd,
  };
}

/** A run as `get_run` shows it, with its pending approvals (decide them with approve/deny). */
export function runDetail(store: Store, run: RunRow) {
  return {
    run_id: run.run_id,
    status: run.status,
    task: run.task,
    stage: run.current_stage,
    result: run.result ?? "",
    error: run.error_message ?? "",
    usage: {
      input_tokens: run.input_tokens,
      output_tokens: run.output_tokens,
      cost_usd: run.cost_usd,
    },
    created_at: run.created_at,
    finished_at: run.finished_at,
    latency_ms: run.latency_ms,
    pending_approvals: store.approvals.listPending(run.run_id).map((a) => ({
      approval_id: a.approval_id,
      kind: a.kind,
      summary: String(a.request_data.summary ?? ""),
      expires_at: a.expires_at,
    })),
    log_uri: runLogUri(run.run_id),
  };
}

/** An agent as `list_agents` shows it. */
export function agentItem(agent: AgentRow) {
  return {
    agent_id: agent.agent_id,
    name: agent.name,
    description: agent.description,
    tools: agent.tools_allowlist,
    usage_count: agent.usage_count,
    last_used_at: agent.last_used_at,
  };
}

/** How a run ended, as `run_task` and `resume_run` return it. */
export function outcomeOf(outcome: RunOutcome) {
  return {
    run_id: outcome.runId,
    status: outcome.status,
    result: outcome.result,
    error: outcome.error,
    usage: {
      input_tokens: outcome.usage.inputTokens,
      output_tokens: outcome.usage.outputTokens,
      cost_usd: outcome.usage.costUsd,
    },
  };
}

/** The resource URI of a run's log. */
export function runLogUri(runId: string): string {
  return `closed-claw://runs/${runId}/log`;
}
