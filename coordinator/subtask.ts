/**
 * One subtask, attempt by attempt: acquire the role's agent, run its capsule
 * (model calls and tool decisions answered here, in the host), record every
 * tool call, validate the answer, and retry with the failure in context.
 * Each attempt continues the subtask's open conversation from the step
 * journal (coordinator/journal.ts), so a retry after a crash, or a resume,
 * replays what already happened instead of doing it again.
 */
import type { Manifest } from "../capsule_runtime/manifest.ts";
import {
  type CapsuleEvent,
  type LaunchOptions,
  runCapsule,
  type StepJournal,
} from "../capsule_runtime/host.ts";
import {
  capsuleEventRecorder,
  capsuleHooks,
  message,
  stopIfFatal,
  toolModeFor,
} from "./capsule_hooks.ts";
import { genomeRunLimits, parseGenome } from "./evolution.ts";
import { acquireAgent } from "./routing.ts";
import { gateDataFlow, type GatedContext } from "./data_flow_gate.ts";
import { emitUsage, type RunContext } from "./context.ts";
import { type AttemptToolEvent, checkResultText, judgeResult, verifyToolUse } from "./validate.ts";
import type { AgentRunStats, Subtask } from "./types.ts";
import { concludes, earlierEffectsNote, IN_DOUBT, inDoubtFailure, openJournal } from "./journal.ts";

/** What the agent is asked: a workspace note, the description, the acceptance criteria. */
// The workspace is not repeated here: the capsule's system prompt names it.
function taskPayload(subtask: Subtask): string {
  return [
    subtask.description || subtask.title,
    ...(subtask.acceptance_criteria.length
      ? ["", "Acceptance criteria:", ...subtask.acceptance_criteria.map((c) => `- ${c}`)]
      : []),
  ].join("\n");
}

function statsFor(ctx: RunContext, agentId: string): AgentRunStats {
  return ctx.state.agent_stats[agentId] ??= {
    subtasks: 0,
    succeeded: 0,
    failed: 0,
    latency_ms: 0,
    tool_calls: 0,
    tool_ok: 0,
  };
}

/** Runs a subtask to completed, failed or cancelled; never throws for agent failures. */
export async function runSubtask(
  ctx: RunContext,
  subtask: Subtask,
  dependencyResults: Record<string, string>,
): Promise<void> {
  const max = ctx.settings.subtaskMaxAttempts;
  subtask.started_at ??= new Date().toISOString();
  let agentId: string | null = null;
  while (subtask.attempts < max) {
    if (ctx.signal.aborted) break;
    subtask.attempts++;
    ctx.checkpoint();
    const failure = await runAttempt(ctx, subtask, dependencyResults, (id) => (agentId = id));
    emitUsage(ctx);
    if (failure === null) {
      subtask.status = "completed";
      subtask.error = "";
      break;
    }
    if (ctx.signal.aborted) break;
    subtask.prior_failures.push(failure);
    subtask.error = failure;
    ctx.log.emit("subtask_attempt_failed", {
      phase: subtask.phase,
      task_id: subtask.task_id,
      attempt: subtask.attempts,
      max_attempts: max,
      agent_id: agentId,
      error: failure,
    });
    // Another attempt would meet the same limit, or the same call in doubt.
    if (failure.startsWith("max_agents_per_run_exceeded")) break;
    if (failure.startsWith(`${IN_DOUBT}:`)) break;
  }
  if (subtask.status !== "completed") {
    const stop = ctx.stopped();
    if (stop?.kind === "cancel") {
      subtask.status = "cancelled";
      subtask.error = "cancelled_by_user";
    } else {
      subtask.status = "failed";
      if (stop?.kind === "budget") subtask.error = `budget_exceeded: ${stop.reason}`;
      subtask.error ||= "subtask_failed";
    }
  }
  subtask.finished_at = new Date().toISOString();
  if (agentId) {
    const stats = statsFor(ctx, agentId);
    stats.subtasks++;
    if (subtask.status === "completed") stats.succeeded++;
    else if (subtask.status === "failed") stats.failed++;
  }
  ctx.checkpoint();
}

/** What a capsule run ends with. */
type CapsuleResult = Awaited<ReturnType<typeof runCapsule>>;

/** One attempt; resolves to null on success or the failure text. */
async function runAttempt(
  ctx: RunContext,
  subtask: Subtask,
  dependencyResults: Record<string, string>,
  onAgent: (agentId: string) => void,
): Promise<string | null> {
  let acquired;
  try {
    acquired = await acquireAgent(ctx, subtask);
  } catch (error) {
    return stopIfFatal(ctx, error) ?? `agent_acquisition_failed: ${message(error)}`;
  }
  if ("error" in acquired) return acquired.error;
  const manifest = runnableManifest(ctx, acquired.manifest);
  onAgent(manifest.agent_id);
  subtask.assigned_agent_id = manifest.agent_id;
  // Private data bound for an agent that can reach the network needs an approval.
  const gated = await gateDataFlow(ctx, subtask, manifest, dependencyResults);
  if (ctx.signal.aborted) return "cancelled_by_user";
  // An open conversation is continued (replayed from the journal), else a new one begins.
  const journal = openJournal(ctx, subtask, manifest.agent_id, gated);
  if ("inDoubt" in journal) return journal.inDoubt;
  const task = attemptTask(ctx, subtask) + earlierEffectsNote(ctx, subtask, journal);
  announceAttempt(ctx, subtask, manifest, task, gated.dependencyResults);
  const toolEvents: AttemptToolEvent[] = [];
  const run = { manifest, task, gated, toolEvents, journal };
  const result = await runAgent(ctx, subtask, run);
  const failure = await attemptFailure(ctx, subtask, result, toolEvents);
  if (concludes(ctx, result, failure)) journal.close(failure ?? "completed");
  return failure;
}

/** What an attempt's capsule result amounts to: null on success, else the failure text. */
async function attemptFailure(
  ctx: RunContext,
  subtask: Subtask,
  result: CapsuleResult,
  toolEvents: AttemptToolEvent[],
): Promise<string | null> {
  if (result.status === "cancelled") return "cancelled_by_user";
  if (result.error_code === IN_DOUBT) return inDoubtFailure(ctx, result);
  if (result.status === "error") {
    return `${result.error_code ?? "subtask_failed"}: ${result.error_message ?? ""}`.trim();
  }
  return await acceptResult(ctx, subtask, subtask.assigned_agent_id ?? "", result, toolEvents);
}

/** What the agent is told: the attempt number, the task and what failed before. */
function attemptTask(ctx: RunContext, subtask: Subtask): string {
  const max = ctx.settings.subtaskMaxAttempts;
  const payload = taskPayload(subtask);
  const attempt = subtask.attempts > 1 ? `Subtask attempt ${subtask.attempts}/${max}.\n` : "";
  return attempt + payload +
    (subtask.prior_failures.length
      ? `\n\nEarlier attempts failed: ${subtask.prior_failures.join(" | ")}. Avoid repeating that.`
      : "");
}

/** Logs the start of an attempt (and the skills its agent brings) and checkpoints. */
function announceAttempt(
  ctx: RunContext,
  subtask: Subtask,
  manifest: Manifest,
  task: string,
  dependencyResults: Record<string, string>,
): void {
  const agentId = manifest.agent_id;
  if (manifest.skill_ids.length) {
    ctx.log.emit("skills_composed", {
      agent_id: agentId,
      skill_ids: manifest.skill_ids,
      task_id: subtask.task_id,
    });
  }
  ctx.log.emit("subtask_attempt_started", {
    phase: subtask.phase,
    task_id: subtask.task_id,
    title: subtask.title,
    role_tag: subtask.role_tag,
    attempt: subtask.attempts,
    max_attempts: ctx.settings.subtaskMaxAttempts,
    agent_id: agentId,
    task_payload: task.slice(0, 1000),
    depends_on: subtask.depends_on,
    dependency_context: Object.fromEntries(
      Object.entries(dependencyResults).map(([k, v]) => [k, v.slice(0, 300)]),
    ),
  });
  ctx.checkpoint();
}

/**
 * What the agent gets besides its task: the run's own context, the whole
 * task when the subtask is only part of it, and the results it may build on.
 * Empty parts are left out: every byte here is sent on every model step.
 */
function agentContext(
  ctx: RunContext,
  subtask: Subtask,
  gated: GatedContext,
): Record<string, unknown> {
  const { state } = ctx;
  const parts: Record<string, unknown> = {
    ...state.context,
    ...(state.task.trim() !== subtask.description.trim() ? { parent_task: state.task } : {}),
    // Execution is the usual phase; only discovery's read-only role needs saying.
    ...(subtask.phase === "discovery" ? { task_phase: "discovery" } : {}),
    discovery_results: gated.discoveryResults,
    depends_on_results: gated.dependencyResults,
    ...(gated.withheld.length ? { data_flow_withheld: gated.withheld } : {}),
  };
  const empty = (v: unknown) =>
    v === undefined || v === "" || (typeof v === "object" && v !== null && !Object.keys(v).length);
  return Object.fromEntries(Object.entries(parts).filter(([, v]) => !empty(v)));
}

/** The agent's manifest as this run launches it: its tools narrowed to the run's. */
export function runnableManifest(ctx: RunContext, manifest: Manifest): Manifest {
  const allowed = manifest.tools_allowlist.filter((t) => ctx.toolsAllowed.includes(t));
  return { ...manifest, tools_allowlist: allowed };
}

/**
 * What a subtask's capsule is launched from (its launch plan follows from
 * these alone): a prestarted capsule (coordinator/prestart.ts) is made from
 * the very same, so its plan can match.
 */
export function launchOptions(ctx: RunContext, manifest: Manifest): LaunchOptions {
  return {
    settings: ctx.settings,
    manifest,
    workspace: ctx.workspace,
    allowedRoots: ctx.allowedRoots,
  };
}

/** One attempt's capsule run: the agent, its task, and where its steps are journaled. */
interface AgentRun {
  manifest: Manifest;
  task: string;
  /** The dependency and discovery results that passed the data-flow gate. */
  gated: GatedContext;
  /** Filled with the attempt's tool calls (replayed ones too). */
  toolEvents: AttemptToolEvent[];
  journal: StepJournal;
}

/** Runs the agent's capsule on the task, recording its tool calls into `run.toolEvents`. */
async function runAgent(ctx: RunContext, subtask: Subtask, run: AgentRun): Promise<CapsuleResult> {
  const { manifest, task, gated, toolEvents, journal } = run;
  const { state, settings } = ctx;
  const agentId = manifest.agent_id;
  const stats = statsFor(ctx, agentId);
  // An evolved agent runs with its genome's step budget and temperature.
  const limits = genomeRunLimits(parseGenome(manifest.genome_json), settings);
  const result = await runCapsule({
    ...launchOptions(ctx, manifest),
    task,
    maxSteps: limits.maxSteps,
    toolMode: toolModeFor(ctx),
    hooks: capsuleHooks(ctx, subtask, manifest, limits.temperature),
    context: agentContext(ctx, subtask, gated),
    sessionId: state.session_id,
    runId: state.run_id,
    signal: ctx.signal,
    onEvent: noteFirstTool(ctx, capsuleEventRecorder(ctx, subtask, agentId, toolEvents)),
    journal,
    placement: ctx.placement,
    pool: ctx.capsules,
  });
  stats.latency_ms += result.latency_ms;
  stats.tool_calls += toolEvents.length;
  stats.tool_ok += toolEvents.filter((e) => e.ok).length;
  return result;
}

/**
 * Passes capsule events on; at the run's first tool request it records how
 * many model calls stood between the task and that first piece of work
 * (`model_calls_before_first_tool`: every llm_calls row of the run so far but
 * the agent step that asked for the tool, which is already recorded), and
 * checkpoints at once, so a crash or resume cannot lose or recount it. Runs
 * from before this count had tool calls without it, and keep none.
 */
function noteFirstTool(
  ctx: RunContext,
  next: (event: CapsuleEvent) => void,
): (event: CapsuleEvent) => void {
  return (event) => {
    const { state } = ctx;
    if (
      event.type === "tool_requested" && state.model_calls_before_first_tool == null &&
      state.tool_event_count === 0
    ) {
      const calls = ctx.store.llmCalls.totals({ runId: state.run_id }).calls;
      state.model_calls_before_first_tool = Math.max(0, calls - 1);
      ctx.checkpoint();
    }
    next(event);
  };
}

/**
 * Checks a finished capsule's answer (tool use, acceptance criteria, the
 * judge) and records it when it passes; null on success or the failure text.
 */
async function acceptResult(
  ctx: RunContext,
  subtask: Subtask,
  agentId: string,
  result: CapsuleResult,
  toolEvents: AttemptToolEvent[],
): Promise<string | null> {
  const { state } = ctx;
  const failure = verifyToolUse(subtask.requires_tool, toolEvents) ??
    checkResultText(result.result, subtask.acceptance_criteria);
  if (failure) return failure;
  let judged;
  try {
    judged = await judgeResult(ctx.llm, subtask, result.result, {
      runId: state.run_id,
      agentId,
      signal: ctx.signal,
    });
  } catch (error) {
    return stopIfFatal(ctx, error) ?? `judge_failed: ${message(error)}`;
  }
  ctx.log.emit("subtask_verdict", {
    task_id: subtask.task_id,
    attempt: subtask.attempts,
    passed: judged.passed,
    criteria: judged.verdict,
  });
  if (!judged.passed) return judged.failure;
  subtask.result = result.result;
  const results = subtask.phase === "discovery" ? state.discovery_results : state.execution_results;
  results[subtask.task_id] = result.result;
  ctx.log.emit("subtask_attempt_succeeded", {
    phase: subtask.phase,
    task_id: subtask.task_id,
    title: subtask.title,
    attempt: subtask.attempts,
    max_attempts: ctx.settings.subtaskMaxAttempts,
    agent_id: agentId,
    result: result.result.slice(0, 2000),
    tool_calls_in_attempt: toolEvents.length,
    memory_updates: result.memory_updates.slice(0, 5),
    latency_ms: result.latency_ms,
  });
  return null;
}
