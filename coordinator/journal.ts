/**
 * A subtask's step journal as the coordinator uses it: which conversation an
 * attempt continues, when a conversation is over (the next attempt starts a
 * new one), and what a new one is told about side effects made before.
 *
 * A conversation stays open while its end was not the agent's doing: the
 * coordinator died, the capsule crashed, the run was cancelled or ran out of
 * budget, or the judge could not be asked. The next attempt (a retry, or
 * `resume`) then replays it: completed calls are not run again and answered
 * model calls are not paid for again. It is closed once the agent answered
 * and the answer was judged, or when it stopped on its own (a timeout, a
 * step or tool budget) or on a side-effecting call left in doubt.
 */
import type { CapsuleResult } from "../capsule_runtime/host.ts";
import { inDoubtMessage } from "../capsule_runtime/session_tools.ts";
import { inFlightEffect } from "../capsule_runtime/step_replay.ts";
import type { JournalConversation } from "../store/journal_repo.ts";
import type { RunContext } from "./context.ts";
import type { GatedContext } from "./data_flow_gate.ts";
import type { Subtask } from "./types.ts";

/** Failures after which the conversation is continued, not started over. */
const CONTINUED = new Set([
  "capsule_crashed",
  "capsule_protocol_error",
  "capsule_not_ready",
  "capsule_host_error",
  "capsule_spawn_failed",
]);

/** The error code of a call that may or may not have happened. */
export const IN_DOUBT = "side_effect_in_doubt";

/**
 * The journal of the subtask's open conversation (a new one when the last was
 * closed). An open one is continued only by the agent it was started for and
 * only while its saved start holds nothing the data-flow gate now withholds:
 * its start message is replayed as it was, so otherwise another agent (or one
 * that can now reach the network) would get its context, memories and results.
 */
export function openJournal(
  ctx: RunContext,
  subtask: Subtask,
  agentId: string,
  gated: GatedContext,
): JournalConversation | { inDoubt: string } {
  const { run_id } = ctx.state;
  const journal = ctx.store.journal.conversation(run_id, subtask.task_id, agentId);
  const why = startMismatch(journal.start(), journal.startedBy(), agentId, gated);
  if (!why) return journal;
  const inFlight = inFlightEffect(journal);
  journal.close(`not continued: ${why}`);
  ctx.log.emit("journal_diverged", { task_id: subtask.task_id, agent_id: agentId, detail: why });
  // A call cut off in flight is not left behind silently: the subtask stops as for any such call.
  if (inFlight) {
    return {
      inDoubt: `${IN_DOUBT}: ${inDoubtMessage(inFlight.tool, inFlight.args)} Check whether it ` +
        `took effect, then \`closed-claw resume ${run_id}\`: this subtask starts afresh and ` +
        "its agent is told about the call.",
    };
  }
  return ctx.store.journal.conversation(run_id, subtask.task_id, agentId);
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? v as Obj : {});

/**
 * Why a saved start message may not be replayed to `agentId` with the context
 * `gated` ("" when it may): it was made for another agent, or it holds a
 * result (or lacks a withheld line) that the gate now decides otherwise.
 */
export function startMismatch(
  saved: unknown,
  startedBy: string,
  agentId: string,
  gated: GatedContext,
): string {
  if (saved === null || saved === undefined) return "";
  if (startedBy !== agentId) {
    return `the conversation was started by agent ${startedBy || "(unknown)"}, not ${agentId}`;
  }
  const context = obj(obj(saved).context);
  const sameTexts = (was: unknown, now: Record<string, string>) =>
    Object.entries(obj(was)).every(([id, text]) => now[id] === text);
  if (
    !sameTexts(obj(context.subtask).depends_on_results, gated.dependencyResults) ||
    !sameTexts(context.discovery_results, gated.discoveryResults)
  ) return "a result in its saved context is no longer what may enter it";
  return "";
}

/** Whether this attempt ended the conversation (so the next one starts afresh). */
export function concludes(ctx: RunContext, result: CapsuleResult, failure: string | null): boolean {
  if (ctx.stopped() || ctx.signal.aborted || result.status === "cancelled") return false;
  if (result.status === "error") return !CONTINUED.has(result.error_code ?? "");
  return !failure?.startsWith("judge_failed");
}

/** The failure text of a call left in doubt: what happened and how to go on. */
export function inDoubtFailure(ctx: RunContext, result: CapsuleResult): string {
  return `${IN_DOUBT}: ${result.error_message ?? ""} Check whether it took effect, then ` +
    `\`closed-claw resume ${ctx.state.run_id}\`: this subtask starts afresh and its agent is ` +
    "told about the call.";
}

/**
 * For a new conversation: the side-effecting calls earlier ones completed,
 * so the agent does not repeat them by mistake ("" when there were none).
 */
export function earlierEffectsNote(
  ctx: RunContext,
  subtask: Subtask,
  journal: JournalConversation,
): string {
  const { runId, taskId, conversation } = journal.key;
  if (subtask.task_id !== taskId || conversation <= 1) return "";
  const effects = ctx.store.journal.completedEffects(runId, taskId, conversation);
  if (!effects.length) return "";
  const lines = effects.slice(-10).map((e) => {
    const req = (e.request ?? {}) as { tool?: unknown; args?: unknown };
    const args = JSON.stringify(req.args ?? {});
    return `- ${String(req.tool ?? "tool")} ${args.length > 300 ? `${args.slice(0, 300)}…` : args}`;
  });
  return "\n\nEarlier attempts already made these calls with side effects (they happened; " +
    `do not repeat them unless the task needs it again):\n${lines.join("\n")}`;
}
