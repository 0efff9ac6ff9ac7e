/**
 * A failure in one line a person can act on: what failed, in plain words,
 * and the fix. Used by the terminal's live view and summary and by the
 * dashboard. Pure: only the error text is read.
 */

/** Known failure codes (the start of the error text) and what to do about them. */
const FIXES: [RegExp, string, string][] = [
  [
    /^agent_create_denied/,
    "the new agent was not approved",
    "answer 'yes' or 'always' when asked, or run with --create-approval-mode approve",
  ],
  [
    /^agent_reuse_denied/,
    "the agent was not approved for this subtask",
    "answer 'yes' or 'always' when asked (`closed-claw approvals rules` lists standing rules)",
  ],
  [
    /^max_agents_per_run_exceeded/,
    "the run used all the agents it may",
    "raise CLOSED_CLAW_MAX_AGENTS_PER_RUN, then `closed-claw resume <run_id>`",
  ],
  [
    /^budget_exceeded/,
    "the run's budget ran out",
    "`closed-claw resume <run_id> --max-cost-usd <usd>` with a higher budget",
  ],
  [
    /^dependency_failed/,
    "a subtask it depends on failed",
    "fix that subtask's failure first (see its row)",
  ],
  [/^dependency_cancelled/, "a subtask it depends on was cancelled", "resume the run"],
  [/^cancelled_by_user/, "cancelled", "`closed-claw resume <run_id>` continues it"],
  [
    /^capsule_timeout|timed out after/,
    "the agent ran out of time",
    "raise CLOSED_CLAW_AGENT_TIMEOUT_SEC, then resume",
  ],
  [
    /^limit_[a-z_]+/,
    "a resource limit was hit",
    "raise the agent's limits in its manifest (`closed-claw agent <id>` shows them)",
  ],
  [
    /^capsule_spawn_failed/,
    "the agent's process did not start",
    "run `closed-claw doctor`",
  ],
  [
    /^(judge_unavailable|judge_failed)/,
    "the answer could not be checked",
    "check the model with `closed-claw doctor`, then resume",
  ],
  [
    /^all_tool_calls_failed/,
    "every tool call failed",
    "see the tool errors in `closed-claw runlog <run_id>`",
  ],
  [
    /unsandboxed|bubblewrap|bwrap/,
    "programs need the sandbox",
    "install bubblewrap, or set CLOSED_CLAW_ALLOW_UNSANDBOXED_EXEC=true",
  ],
];

/**
 * The stage a run failed in: a `<phase>_phase_failed` error names its phase
 * (discovery or execution), whatever stage the run's row last recorded.
 *
 * @example
 * ```ts
 * failedStage("discovery_phase_failed", "execute"); // "discovery"
 * ```
 */
export function failedStage(
  error: string | null | undefined,
  recorded: string | null,
): string | null {
  const phase = /^(discovery|execution)_phase_failed/.exec(error ?? "")?.[1];
  return phase ?? recorded;
}

/** A failure's plain reason and its fix (`<run_id>` filled in when known). */
export function failureHint(error: string, runId?: string): { reason: string; fix: string } {
  const text = error.trim() || "subtask_failed";
  const phase = /^(discovery|execution)_phase_failed/.exec(text)?.[1];
  const known = FIXES.find(([pattern]) => pattern.test(text));
  const hint = phase
    ? {
      reason: `${phase === "execution" ? "an" : "a"} ${phase} subtask failed`,
      fix: "see that subtask's line, then `closed-claw resume <run_id>`",
    }
    : known
    ? { reason: known[1], fix: known[2] }
    : { reason: "", fix: "see `closed-claw runlog <run_id>`, then `closed-claw resume <run_id>`" };
  const fill = (t: string) => runId ? t.replaceAll("<run_id>", runId) : t;
  return { reason: hint.reason, fix: fill(hint.fix) };
}

/**
 * One line for a failure: the plain reason and its fix, with `<run_id>` filled in when known.
 *
 * @example
 * ```ts
 * explainFailure("max_agents_per_run_exceeded (3)");
 * // "the run used all the agents it may (max_agents_per_run_exceeded (3)); fix: raise CLOSED_CLAW_MAX_AGENTS_PER_RUN, then `closed-claw resume <run_id>`"
 * ```
 */
export function explainFailure(error: string, runId?: string): string {
  const text = error.trim() || "subtask_failed";
  const { reason, fix } = failureHint(text, runId);
  return `${reason ? `${reason} (${text})` : text}; fix: ${fix}`;
}
