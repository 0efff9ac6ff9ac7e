/**
 * `runCapsule`: starts a capsule, answers its model calls and tool requests
 * through the caller's hooks, and turns everything it does into typed events.
 * The capsule never holds a key; every crash, hang, flood or malformed line
 * ends as a typed result, never as an exception in the host.
 *
 * The parts live beside this file: launch_plan.ts (flags and sandbox),
 * start_message.ts (prompt and `start`), capsule_memory.ts (recall and
 * write-back), capsule_session.ts (one attempt) and tool_decision.ts.
 */
import { warmPlanCache } from "./machine.ts";
import { planLaunch } from "./launch_plan.ts";
import { buildStartMessage } from "./start_message.ts";
import { CapsuleMemory } from "./capsule_memory.ts";
import { notStarted, runAttempt } from "./capsule_session.ts";
import type { CapsuleResult, RunCapsuleOptions } from "./capsule_types.ts";
import type { LaunchPlan } from "./launcher.ts";
import { PROTOCOL_VERSION, type StartMessage } from "../guest/protocol_types.ts";
import { MemoryJournal, type StepJournal } from "./step_journal.ts";
import { inFlightEffect } from "./step_replay.ts";
import { inDoubtMessage } from "./session_tools.ts";
import { errorText } from "./_format.ts";
import { withLimitEvents } from "./limit_events.ts";
import { startCapsuleEgress } from "./capsule_egress.ts";
import type { CapsulePool } from "./capsule_pool.ts";

export type {
  ApprovalAnswer,
  ApprovalRequest,
  CapsuleEvent,
  CapsuleHooks,
  CapsuleResult,
  ModelReply,
  RunCapsuleOptions,
  ToolDecision,
} from "./capsule_types.ts";
export { planLaunch, type PlanOptions } from "./launch_plan.ts";
export { CapsulePool } from "./capsule_pool.ts";
export { type JournalStep, MemoryJournal, type StepJournal } from "./step_journal.ts";

/** Failures after which a fresh attempt may succeed (the capsule, not the task, broke). */
const RETRYABLE = ["capsule_crashed", "capsule_protocol_error", "capsule_not_ready"];

/** The options a launch plan depends on (the same for a run and its prestart). */
export type LaunchOptions = Pick<
  RunCapsuleOptions,
  "settings" | "manifest" | "workspace" | "allowedRoots" | "guestEntry" | "osSandbox" | "resolver"
>;

/** The launch plan `runCapsule` starts a capsule from, for these options. */
export function launchPlanFor(options: LaunchOptions): Promise<LaunchPlan> {
  const { settings, manifest } = options;
  return planLaunch(settings, manifest, {
    workspace: options.workspace ?? settings.workspace,
    allowedRoots: options.allowedRoots,
    guestEntry: options.guestEntry,
    osSandbox: options.osSandbox,
    resolver: options.resolver,
  });
}

/**
 * Starts, ahead of their subtasks, `count` capsules like the one `runCapsule`
 * would start with the same options, and leaves them waiting in `pool`: a
 * first attempt takes one when its own plan comes out the same
 * (capsule_pool.ts); any other is killed. Local capsules only. Never throws.
 */
export function prestartCapsule(
  pool: CapsulePool,
  options: LaunchOptions,
  count = 1,
): Promise<void> {
  return pool.prestart(options.manifest.agent_id, async () => {
    const plan = await launchPlanFor(options);
    await warmPlanCache(plan);
    const workspace = options.workspace ?? options.settings.workspace;
    return { plan, manifest: options.manifest, workspace };
  }, count);
}

/** Runs a capsule to its final answer (with relaunches that replay, never repeat, completed calls). */
export async function runCapsule(options: RunCapsuleOptions): Promise<CapsuleResult> {
  options = { ...options, onEvent: withLimitEvents(options.onEvent) };
  const { settings, manifest } = options;
  const workspace = options.workspace ?? settings.workspace;
  const plan = await launchPlanFor(options);
  try {
    // A worker warms its own cache for the plan it makes.
    if (!options.placement) await warmPlanCache(plan);
  } catch (error) {
    return notStarted(plan, "capsule_spawn_failed", {
      message: errorText(error),
      attempts: 0,
      latency_ms: 0,
    });
  }
  const memory = CapsuleMemory.open(settings.agentsDir, manifest.agent_id);
  const journal = options.journal ?? new MemoryJournal();
  // Programs reach their network_hosts only through this run's egress proxy (on a
  // worker they get none: the proxy's approvals would have to cross machines).
  const egress = options.placement ? null : await startCapsuleEgress(plan, options);
  try {
    const fresh = () =>
      buildStartMessage({
        settings,
        manifest,
        plan,
        task: options.task,
        workspace,
        context: options.context,
        systemPrompt: options.systemPrompt,
        maxSteps: options.maxSteps,
        toolMode: options.toolMode,
        recall: () => memory.recall(options.task),
      });
    const result = await runWithRetries(options, plan, journaledStart(journal, fresh), journal);
    if (result.status !== "cancelled") {
      memory.remember(result.memory_updates, {
        sessionId: options.sessionId,
        runId: options.runId,
      });
    }
    return result;
  } finally {
    await egress?.close();
  }
}

/**
 * The start message of a journaled conversation, so a continued one sees
 * exactly what it saw before (and asks the same things); a new one is
 * built and journaled.
 */
function journaledStart(journal: StepJournal, fresh: () => StartMessage): StartMessage {
  const saved = journal.start() as StartMessage | null;
  if (saved && saved.type === "start" && saved.v === PROTOCOL_VERSION) return saved;
  const start = fresh();
  journal.recordStart(start);
  return start;
}

/**
 * Relaunches a capsule that broke. Each attempt replays the journal: calls
 * that completed are not run again and answered model calls are not asked
 * again; a side-effecting call cut off in flight fails the attempt instead.
 */
async function runWithRetries(
  options: RunCapsuleOptions,
  plan: LaunchPlan,
  start: StartMessage,
  journal: StepJournal,
): Promise<CapsuleResult> {
  const maxAttempts = options.settings.agentRetries + 1;
  for (let attempt = 1;; attempt++) {
    const result = await runAttempt(options, plan, start, attempt, journal);
    const retryable = result.status === "error" && RETRYABLE.includes(result.error_code ?? "");
    if (!retryable || attempt >= maxAttempts) return result;
    const inDoubt = inFlightEffect(journal);
    if (inDoubt) {
      // Relaunching could only replay up to that call and stop there.
      result.error_code = "side_effect_in_doubt";
      result.error_message = `${result.error_message} ${
        inDoubtMessage(inDoubt.tool, inDoubt.args)
      }`;
      return result;
    }
  }
}
