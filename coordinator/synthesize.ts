/**
 * The end of a run: a plain summary of the subtask results, and the
 * final answer (one model call on success, or the answer itself when the run
 * had one subtask; the plain failure report otherwise).
 */
import type { LlmService } from "../llm/types.ts";
import type { RunState, Subtask } from "./types.ts";

/** Characters of subtask results the synthesis call is sent, at most. */
const SYNTHESIS_INPUT_CHARS = 4000;

/**
 * The result summary over the given pools: completed, then failed or
 * cancelled. With `maxChars`, the whole summary stays within it by giving each
 * subtask's result or error a fair share (a short one leaves its unused share
 * to the others), so every subtask is still there; a cut text ends with "…".
 */
export function summarizePools(pools: readonly Subtask[], maxChars = Infinity): string {
  if (pools.length === 0) return "No sub-tasks were generated.";
  const line = (t: Subtask) => `- [${t.phase}/${t.task_id}] (${t.role_tag}) ${t.title}`;
  const completed = pools.filter((t) => t.status === "completed");
  const failed = pools.filter((t) => t.status === "failed" || t.status === "cancelled");
  if (completed.length === 0 && failed.length === 0) {
    return `No sub-tasks completed out of ${pools.length} total.`;
  }
  const entries = [
    ...completed.map((t) => ({ head: `${line(t)}: `, text: t.result, group: 0 })),
    ...failed.map((t) => ({ head: `${line(t)}: error=`, text: t.error, group: 1 })),
  ];
  const labels = ["Completed sub-tasks:", "Failed/Cancelled sub-tasks:"];
  const fixed = entries.reduce((n, e) => n + e.head.length + 1, 0) +
    labels.filter((_, g) => entries.some((e) => e.group === g))
      .reduce((n, label) => n + label.length + 1, 0);
  // `fixed` counts a newline after every line; the last has none, hence the + 1.
  const shares = fairShares(entries.map((e) => e.text.length), maxChars - fixed + 1);
  const parts: string[] = [];
  for (const [g, label] of labels.entries()) {
    const mine = entries.map((e, i) => ({ ...e, share: shares[i] })).filter((e) => e.group === g);
    if (mine.length === 0) continue;
    parts.push(label, ...mine.map((e) => e.head + cut(e.text, e.share)));
  }
  const text = parts.join("\n");
  // Headers alone over the budget (very many subtasks): a plain cut.
  return text.length > maxChars ? text.slice(0, maxChars) : text;
}

/** `text` within `max` characters, "…" marking a cut. */
function cut(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, Math.max(0, max - 1)) + "…";
}

/**
 * How many characters each of `lengths` may keep so that they sum to at most
 * `budget`: the shortest keep all they have, the rest share what is left equally.
 */
function fairShares(lengths: number[], budget: number): number[] {
  const shares = lengths.map(() => 0);
  const order = lengths.map((n, i) => ({ n, i })).sort((a, b) => a.n - b.n);
  let left = Math.max(0, budget);
  order.forEach(({ n, i }, k) => {
    const share = Math.min(n, Math.floor(left / (order.length - k)));
    shares[i] = share;
    left -= share;
  });
  return shares;
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
          // Every subtask's result, each cut to a fair share of the bound (not the first few whole).
          content: `Original task: ${state.task}\n\nSub-task outputs:\n${
            summarizePools(
              [...state.discovery_subtask_pool, ...state.execution_subtask_pool],
              SYNTHESIS_INPUT_CHARS,
            )
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
