/**
 * The pipeline: plan (classification and the first plan in one model call) →
 * discovery pool → execution plan → execution pool → validate → audit →
 * synthesize. Each stage is a plain function of the run context; after each
 * one the state is checkpointed, so `drive` called again on a resumed state
 * continues where it stopped.
 */
import { ClosedClawError } from "../core/errors.ts";
import { emitPool, emitUsage, type RunContext } from "./context.ts";
import { generatePlan, type Plan, planTask, preparePhasePool } from "./planner.ts";
import { mcpServerChoices } from "./profile.ts";
import { phaseOutcome, runPool } from "./pool.ts";
import { auditCommitted } from "./records.ts";
import { runSubtask } from "./subtask.ts";
import { prestartForTask, prestartPhase } from "./prestart.ts";
import { failureReport, singleAnswer, summarizePools, synthesizeAnswer } from "./synthesize.ts";
import { type Phase, type Stage, STAGES, type Subtask } from "./types.ts";
import { LlmError } from "../llm/errors.ts";

function done(ctx: RunContext, stage: Stage): boolean {
  return STAGES.indexOf(ctx.state.stage) >= STAGES.indexOf(stage);
}

/**
 * Moves the run to `stage`; the checkpoint records it (state and
 * `current_stage`) in one write. A stage that did nothing outside the state
 * (`recorded` false) is left to the next checkpoint: done again after a
 * crash, it comes out the same.
 */
function advance(ctx: RunContext, stage: Stage, recorded = true): void {
  ctx.state.stage = stage;
  if (recorded) ctx.checkpoint();
}

/** Records an early stop (cancel or budget) as the run's response, once. */
function applyStop(ctx: RunContext): boolean {
  const stop = ctx.stopped();
  if (!stop) return false;
  const s = ctx.state;
  if (stop.kind === "cancel") {
    s.response_status = "cancelled";
    s.response_error = "cancelled_by_user";
  } else {
    s.response_status = "error";
    s.response_error = `budget_exceeded: ${stop.reason}`;
  }
  return true;
}

function failed(ctx: RunContext): boolean {
  return ctx.state.response_status === "error" || ctx.state.response_status === "cancelled";
}

/**
 * Plans a phase. `first` is the run's first model call: it classifies the task
 * and plans the phase that follows (execution when simple, discovery when
 * complex) in one reply; `execution` plans a complex task's execution phase
 * from the discovery results.
 */
async function planPhase(ctx: RunContext, step: "first" | "execution"): Promise<void> {
  const s = ctx.state;
  const meta = { runId: s.run_id, signal: ctx.signal };
  const mcpServers = mcpServerChoices(ctx.settings.homeDir);
  const request = {
    task: s.task,
    context: s.context,
    maxSubtasks: ctx.settings.maxSubtasksPerPhase,
    tools: ctx.toolsAllowed,
    workspace: ctx.workspace,
    mcpServers,
  };
  try {
    let phase: Phase;
    let plan: Plan;
    if (step === "first") {
      const first = await planTask(ctx.llm, request, meta);
      s.task_complexity = first.complexity;
      ctx.log.emit("task_complexity_classified", { complexity: first.complexity });
      ({ phase, plan } = first);
    } else {
      phase = "execution";
      plan = await generatePlan(ctx.llm, {
        ...request,
        phase,
        discoveryResults: s.task_complexity === "complex" ? s.discovery_results : undefined,
      }, meta);
    }
    const pool = preparePhasePool(plan, phase, ctx.settings.maxSubtasksPerPhase, ctx.toolsAllowed, {
      givenText: `${s.task}\n${JSON.stringify(s.context)}`,
      onRefused: (task_id, line) => ctx.log.emit("network_host_refused", { task_id, line }),
      mcpServers: mcpServers.map((m) => m.name),
      onMcpDropped: (task_id, server) =>
        ctx.log.emit("mcp_server_dropped", {
          task_id,
          server,
          reason: "not in the MCP server catalogue (closed-claw mcp list); the planner may " +
            "name only catalogue servers",
        }),
    });
    if (phase === "discovery") s.discovery_subtask_pool = pool;
    else s.execution_subtask_pool = pool;
    ctx.log.emit("task_plan_created", {
      phase,
      complexity: s.task_complexity,
      subtask_count: pool.length,
      subtasks: pool.map((t) => ({
        task_id: t.task_id,
        title: t.title,
        role_tag: t.role_tag,
        depends_on: t.depends_on,
        tools: t.tools,
        network_hosts: t.network_hosts,
        ...(t.mcp_servers ? { mcp_servers: t.mcp_servers } : {}),
        acceptance_criteria: t.acceptance_criteria,
      })),
    });
    emitPool(ctx, phase);
    emitUsage(ctx);
    if (pool.length === 0) {
      s.response_status = "error";
      s.response_error = `planning_failed: the ${phase} plan has no subtasks`;
    }
  } catch (error) {
    if (error instanceof LlmError && error.kind === "budget_exceeded") {
      ctx.stop({ kind: "budget", reason: error.message });
    }
    if (applyStop(ctx)) return;
    s.response_status = "error";
    s.response_error = `planning_failed: ${
      error instanceof ClosedClawError ? error.toLine() : (error as Error)?.message ?? error
    }`;
  }
}

/** Resets subtasks an interrupted process left in progress; that attempt does not count. */
function reopenInterrupted(pool: Subtask[]): void {
  for (const t of pool) {
    if (t.status === "in_progress") {
      t.status = t.depends_on.length ? "waiting" : "pending";
      t.attempts = Math.max(0, t.attempts - 1);
    }
  }
}

async function runPhase(ctx: RunContext, phase: Phase): Promise<void> {
  const s = ctx.state;
  const pool = phase === "discovery" ? s.discovery_subtask_pool : s.execution_subtask_pool;
  reopenInterrupted(pool);
  // Not awaited: the capsules start while the subtasks are routed and approved.
  void prestartPhase(ctx, pool);
  const byId = new Map(pool.map((t) => [t.task_id, t]));
  await runPool(pool, {
    maxParallel: ctx.settings.maxParallelAgents,
    signal: ctx.signal,
    cancelError: () => ctx.stopped()?.kind === "budget" ? "budget_exceeded" : "cancelled_by_user",
    onChange: () => {
      emitPool(ctx, phase);
      ctx.checkpoint();
    },
    runItem: (item) =>
      runSubtask(
        ctx,
        item,
        Object.fromEntries(item.depends_on.map((d) => [d, byId.get(d)?.result ?? ""])),
      ),
  });
  if (ctx.stopped()?.kind === "cancel") {
    ctx.log.emit("run_cancelled", { phase, reason: ctx.stopped()!.reason });
  }
  if (applyStop(ctx)) return;
  const outcome = phaseOutcome(pool, phase);
  s.response_status = outcome.status;
  s.response_error = outcome.error;
}

/** Runs the remaining stages of a run. Throws only on coordinator bugs. */
export async function drive(ctx: RunContext): Promise<void> {
  const s = ctx.state;
  // "classified" is no stage of its own any more: the first plan classifies.
  // A run stored at it (older runs, or a resume that found nothing planned) plans from scratch.
  if (!done(ctx, "planned")) {
    // Not awaited: the capsule starts while the model plans.
    if (!failed(ctx)) void prestartForTask(ctx);
    if (!failed(ctx)) await planPhase(ctx, "first");
    advance(ctx, "planned");
  }
  if (!done(ctx, "discovery_done")) {
    const discover = !failed(ctx) && s.discovery_subtask_pool.length > 0;
    if (discover) await runPhase(ctx, "discovery");
    advance(ctx, "discovery_done", discover);
  }
  if (!done(ctx, "execution_planned")) {
    const plan = !failed(ctx) && s.execution_subtask_pool.length === 0;
    if (plan) await planPhase(ctx, "execution");
    advance(ctx, "execution_planned", plan);
  }
  if (!done(ctx, "execution_done")) {
    if (!failed(ctx)) await runPhase(ctx, "execution");
    advance(ctx, "execution_done");
  }
  if (!done(ctx, "validated")) {
    // A response that is neither ok nor error is invalid.
    applyStop(ctx);
    if (s.response_status === null) {
      s.response_status = "error";
      s.response_error ||= "invalid_agent_response";
    }
    s.response_result = summarizePools([...s.discovery_subtask_pool, ...s.execution_subtask_pool]);
    // Worked out from the state alone: the audit's checkpoint records it.
    advance(ctx, "validated", false);
  }
  if (!done(ctx, "audited")) auditCommitted(ctx, () => advance(ctx, "audited"));
  if (!done(ctx, "synthesized")) {
    await synthesize(ctx);
    advance(ctx, "synthesized");
  }
}

async function synthesize(ctx: RunContext): Promise<void> {
  const s = ctx.state;
  if (s.response_status !== "ok") {
    s.response_result = failureReport(s);
    ctx.log.emit("synthesis_complete", {
      llm_synthesized: false,
      status: s.response_status,
      error_summary: s.response_result.slice(0, 2000),
    });
    return;
  }
  const single = singleAnswer(s);
  if (single !== null && !ctx.settings.synthesizeSingle) {
    // One subtask's answer is the run's answer: a synthesis call would only restate it.
    s.response_result = single;
    ctx.log.emit("synthesis_complete", {
      llm_synthesized: false,
      reason: "single_subtask",
      raw_result_preview: single.slice(0, 1500),
    });
    return;
  }
  const answer = await synthesizeAnswer(ctx.llm, s, ctx.signal);
  if (answer) {
    s.response_result = answer;
    ctx.log.emit("synthesis_complete", {
      llm_synthesized: true,
      synthesis_preview: answer.slice(0, 1500),
    });
  } else {
    ctx.log.emit("synthesis_complete", {
      llm_synthesized: false,
      raw_result_preview: s.response_result.slice(0, 1500),
    });
  }
  emitUsage(ctx);
}
