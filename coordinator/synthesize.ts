/**
 * The end of a run: a plain summary of the subtask results, and the
 * final answer (one model call on success, or the answer itself when the run
 * had one subtask; the plain failure report otherwise).
 */
import type { LlmService } from "../llm/types.ts";
import type { RunState, Subtask } from "./types.ts";

/** The result summary over the given pools: completed, then failed or cancelled. */
export function summarizePools(pools: readonly Subtask[]): string {
  if (pools.length === 0) return "No sub-tasks were generated.";
  const line = (t: Subtask) => `- [${t.phase}/${t.task_id}] (${t.role_tag}) ${t.title}`;
  const completed = pools.filter((t) => t.status === "completed");
  const failed = pools.filter((t) => t.status === "failed" || t.status === "cancelled");
  if (completed.length === 0 && failed.length === 0) {
    return `No sub-tasks completed out of ${pools.length} total.`;
  }
  const parts: string[] = [];
  if (completed.length) {
    parts.push("Completed sub-tasks:", ...completed.map((t) => `${line(t)}: ${t.result}`));
  }
  if (failed.length) {
    parts.push("Failed/Cancelled sub-tasks:", ...failed.map((t) => `${line(t)}: error=${t.error}`));
  }
  return parts.join("\n");
}

/** The failure report given instead of a synthesis. */
export function failureReport(state: RunState): string {
  const pools = [...state.discovery_subtask_pool, ...state.execution_subtask_pool];
  const failed = pools.filter((t) => t.status === "failed" || t.status === "cancelled");
  let text = `Unable to complete task. Reason: ${state.response_error || "unknown_error"}`;
  if (failed.length) {
    text += `\n\nFailed sub-tasks:\n${failed.map((t) => `  - ${t.title}: ${t.error}`).join("\n")}`;
  }
  const partial = pools.filter((t) => t.status === "completed");
  if (partial.length) text += `\n\nPartial results:\n${summarizePools(partial)}`;
  return text;
}

/**
 * The answer of a run that had exactly one subtask, completed with a
 * non-empty answer: it is the run's answer without a synthesis call. Null for
 * any other run (which is synthesized as before).
 */
export function singleAnswer(state: RunState): string | null {
  const pools = [...state.discovery_subtask_pool, ...state.execution_subtask_pool];
  if (pools.length !== 1 || pools[0].status !== "completed") return null;
  return pools[0].result.trim() ? pools[0].result : null;
}

/** One model call that writes the final answer; null when it fails (the caller keeps the raw summary). */
export async function synthesizeAnswer(
  llm: LlmService,
  state: RunState,
  signal?: AbortSignal,
): Promise<string | null> {
  try {
    const reply = await llm.complete({
      messages: [
        {
          role: "system",
          content:
            "You are the final summarizer of a multi-agent run. Write a clear, concise summary of what was done and found for the user: the answer itself, files created/modified, and any caveats. Plain text only, no JSON.",
        },
        {
          role: "user",
          content: `Original task: ${state.task}\n\nSub-task outputs:\n${
            state.response_result.slice(0, 4000)
          }`,
        },
      ],
      maxTokens: 600,
      temperature: 0.1,
      signal,
    }, { runId: state.run_id, purpose: "synthesize" });
    const text = reply.text.trim();
    return text || null;
  } catch {
    // Budget, provider or cancel: the raw summary is still a correct answer.
    return null;
  }
}
