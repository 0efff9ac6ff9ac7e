/**
 * Whether a subtask's answer counts: the required tool use happened, the
 * answer does not give up, paths asked for are absolute, and a model judge
 * finds every acceptance criterion met. A failure's text feeds the retry.
 */
import { z } from "zod";
import type { LlmService } from "../llm/types.ts";
import { isFatalLlmError } from "./planner.ts";
import type { Subtask } from "./types.ts";

/** Phrases with which an agent gives up (matched case-insensitively). */
export const GIVE_UP_PHRASES = [
  "could not be completed",
  "unable to complete the task",
  "unable to complete this task",
  "cannot complete the task",
  "cannot complete this task",
  "could not complete the task",
  "task cannot be completed",
  "task could not be completed",
] as const;

export interface AttemptToolEvent {
  tool: string;
  allowed: boolean;
  ok: boolean;
  error: string;
}

/** A subtask that needs a tool must show a successful call; null when fine, else the failure. */
export function verifyToolUse(
  requiresTool: boolean,
  events: readonly AttemptToolEvent[],
): string | null {
  if (!requiresTool) return null;
  if (events.some((e) => e.ok)) return null;
  if (events.length === 0) return "required_tool_call_not_observed";
  const last = events[events.length - 1];
  return last.error ? `required_tool_failed: ${last.error}` : "all_tool_calls_failed";
}

/** Text checks of an answer against its acceptance criteria; null when fine. */
export function checkResultText(result: string, criteria: readonly string[]): string | null {
  const text = result.toLowerCase();
  if (GIVE_UP_PHRASES.some((p) => text.includes(p))) {
    return "agent_self_reported_failure_in_result_text";
  }
  if (criteria.some((c) => c.toLowerCase().includes("absolute path"))) {
    if (result.includes("$HOME") || result.includes("~/")) {
      return "unresolved_env_var_in_absolute_path";
    }
    if (!result.includes("/")) return "no_absolute_path_in_result";
  }
  return null;
}

export const VerdictSchema = z.object({
  criteria: z.array(z.object({
    criterion: z.string(),
    met: z.boolean(),
    reason: z.string(),
  })),
});
export type Verdict = z.infer<typeof VerdictSchema>;

export interface JudgeOutcome {
  passed: boolean;
  verdict: Verdict["criteria"];
  /** Why it failed, in a form the next attempt can act on; "" when passed. */
  failure: string;
}

/**
 * Asks the model whether the answer meets each acceptance criterion. A
 * criterion the judge does not mention counts as unmet. A judge that cannot
 * answer fails the attempt (budget and cancel errors are rethrown).
 */
export async function judgeResult(
  llm: LlmService,
  subtask: Subtask,
  result: string,
  meta: { runId: string; agentId: string; signal?: AbortSignal },
): Promise<JudgeOutcome> {
  if (subtask.acceptance_criteria.length === 0) return { passed: true, verdict: [], failure: "" };
  let verdict: Verdict;
  try {
    ({ value: verdict } = await llm.structured(VerdictSchema, {
      messages: [
        {
          role: "system",
          content:
            'You are a strict reviewer. For each acceptance criterion, decide from the agent\'s answer alone whether it is met, with a one-sentence reason. Return JSON {"criteria":[{"criterion","met","reason"}]} with one entry per criterion, in order.',
        },
        {
          role: "user",
          content: `Subtask: ${subtask.title}\n${subtask.description}\n\nAcceptance criteria:\n${
            subtask.acceptance_criteria.map((c, i) => `${i + 1}. ${c}`).join("\n")
          }\n\nAgent's answer:\n${result.slice(0, 6000)}`,
        },
      ],
      schemaName: "acceptance_verdict",
      maxTokens: 600,
      temperature: 0,
      signal: meta.signal,
    }, { runId: meta.runId, taskId: subtask.task_id, agentId: meta.agentId, purpose: "judge" }));
  } catch (error) {
    if (isFatalLlmError(error)) throw error;
    const message = error instanceof Error ? error.message : String(error);
    return { passed: false, verdict: [], failure: `judge_unavailable: ${message.slice(0, 300)}` };
  }
  const unmet = subtask.acceptance_criteria.flatMap((criterion, i) => {
    const entry = verdict.criteria.find((v) => v.criterion.trim() === criterion) ??
      verdict.criteria[i];
    return entry?.met ? [] : [`"${criterion}": ${entry?.reason ?? "not assessed"}`];
  });
  return {
    passed: unmet.length === 0,
    verdict: verdict.criteria,
    failure: unmet.length ? `acceptance_criteria_not_met: ${unmet.join("; ")}` : "",
  };
}
