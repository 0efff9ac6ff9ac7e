/**
 * One subtask, attempt by attempt: acquire the role's agent, run its capsule
 * (model calls and tool decisions answered here, in the host), record every
 * tool call, validate the answer, and retry with the failure in context.
 */
import type { Manifest } from "../capsule_runtime/manifest.ts";
import {
  type ApprovalAnswer,
  type ApprovalRequest,
  type CapsuleEvent,
  type CapsuleHooks,
  runCapsule,
} from "../capsule_runtime/host.ts";
import type { ChatMessage } from "../llm/types.ts";
import { LlmError } from "../llm/errors.ts";
import { genomeRunLimits, parseGenome } from "./evolution.ts";
import { acquireAgent } from "./routing.ts";
import { emitUsage, type RunContext } from "./context.ts";
import { type AttemptToolEvent, checkResultText, judgeResult, verifyToolUse } from "./validate.ts";
import type { AgentRunStats, Subtask } from "./types.ts";

/** The seed's task payload: workspace note, description, acceptance criteria. */
function taskPayload(subtask: Subtask, workspace: string): string {
  return [
    `Workspace root: ${workspace}`,
    `$WORKSPACE and \${WORKSPACE} mean ${workspace}; write the real path, not the variable.`,
    "",
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
    if (failure.startsWith("max_agents_per_run_exceeded")) break;
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

/** One attempt; resolves to null on success or the failure text. */
async function runAttempt(
  ctx: RunContext,
  subtask: Subtask,
  dependencyResults: Record<string, string>,
  onAgent: (agentId: string) => void,
): Promise<string | null> {
  const { state, settings } = ctx;
  let acquired;
  try {
    acquired = await acquireAgent(ctx, subtask);
  } catch (error) {
    return stopIfFatal(ctx, error) ?? `agent_acquisition_failed: ${message(error)}`;
  }
  if ("error" in acquired) return acquired.error;
  const allowed = acquired.manifest.tools_allowlist.filter((t) => ctx.toolsAllowed.includes(t));
  const manifest: Manifest = { ...acquired.manifest, tools_allowlist: allowed };
  const agentId = manifest.agent_id;
  onAgent(agentId);
  subtask.assigned_agent_id = agentId;
  const max = settings.subtaskMaxAttempts;
  const payload = taskPayload(subtask, ctx.workspace);
  const task = `Subtask attempt ${subtask.attempts}/${max}.\n${payload}` +
    (subtask.prior_failures.length
      ? `\n\nEarlier attempts failed: ${subtask.prior_failures.join(" | ")}. Avoid repeating that.`
      : "");
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
    max_attempts: max,
    agent_id: agentId,
    task_payload: task.slice(0, 1000),
    depends_on: subtask.depends_on,
    dependency_context: Object.fromEntries(
      Object.entries(dependencyResults).map(([k, v]) => [k, v.slice(0, 300)]),
    ),
  });
  ctx.checkpoint();

  const toolEvents: AttemptToolEvent[] = [];
  const stats = statsFor(ctx, agentId);
  // An evolved agent runs with its genome's step budget and temperature.
  const limits = genomeRunLimits(parseGenome(manifest.genome_json), settings);
  const result = await runCapsule({
    settings,
    manifest,
    task,
    maxSteps: limits.maxSteps,
    hooks: capsuleHooks(ctx, subtask, manifest, limits.temperature),
    context: {
      ...state.context,
      parent_task: state.task,
      task_phase: subtask.phase,
      discovery_results: state.discovery_results,
      subtask: {
        task_id: subtask.task_id,
        title: subtask.title,
        phase: subtask.phase,
        role_tag: subtask.role_tag,
        depends_on_results: dependencyResults,
        attempt: subtask.attempts,
        max_attempts: max,
        prior_failures: subtask.prior_failures,
      },
    },
    workspace: ctx.workspace,
    allowedRoots: ctx.allowedRoots,
    sessionId: state.session_id,
    runId: state.run_id,
    signal: ctx.signal,
    onEvent: capsuleEventRecorder(ctx, subtask, agentId, toolEvents),
  });
  stats.latency_ms += result.latency_ms;
  stats.tool_calls += toolEvents.length;
  stats.tool_ok += toolEvents.filter((e) => e.ok).length;

  if (result.status === "cancelled") return "cancelled_by_user";
  if (result.status === "error") {
    return `${result.error_code ?? "subtask_failed"}: ${result.error_message ?? ""}`.trim();
  }
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
    max_attempts: max,
    agent_id: agentId,
    result: result.result.slice(0, 2000),
    tool_calls_in_attempt: toolEvents.length,
    memory_updates: result.memory_updates.slice(0, 5),
    latency_ms: result.latency_ms,
  });
  return null;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Budget and cancel errors stop the whole run; returns the failure text then. */
function stopIfFatal(ctx: RunContext, error: unknown): string | null {
  if (error instanceof LlmError && error.kind === "budget_exceeded") {
    ctx.stop({ kind: "budget", reason: error.message });
    return `budget_exceeded: ${error.message}`;
  }
  if (ctx.signal.aborted) return "cancelled_by_user";
  return null;
}

function capsuleHooks(
  ctx: RunContext,
  subtask: Subtask,
  manifest: Manifest,
  temperature: number | undefined,
): CapsuleHooks {
  const meta = {
    runId: ctx.state.run_id,
    taskId: subtask.task_id,
    agentId: manifest.agent_id,
    purpose: "agent_step",
  };
  // The host checks every tool call itself (allowlist, schema, paths, SSRF,
  // SQL); the coordinator answers model calls and paid-API approvals.
  return {
    async complete(request) {
      try {
        const reply = await ctx.llm.complete({
          messages: request.messages as ChatMessage[],
          schema: request.schema
            ? { name: request.schema.name, jsonSchema: request.schema.json_schema }
            : undefined,
          temperature,
          signal: request.signal,
        }, meta);
        return {
          text: reply.text,
          usage: { input_tokens: reply.usage.inputTokens, output_tokens: reply.usage.outputTokens },
        };
      } catch (error) {
        stopIfFatal(ctx, error);
        throw error;
      }
    },
    approve: (request) => approvePaidCall(ctx, subtask, request),
  };
}

/** The paid-API gate: one approval request in the run's API mode, recorded and logged. */
async function approvePaidCall(
  ctx: RunContext,
  subtask: Subtask,
  paid: ApprovalRequest,
): Promise<ApprovalAnswer> {
  const { state } = ctx;
  const decision = await ctx.approvals.request({
    runId: state.run_id,
    kind: "api_call",
    mode: state.runtime_policies.api_approval_mode,
    request: {
      type: "api_call",
      call_type: "external_paid_api",
      provider: paid.provider,
      endpoint: paid.endpoint,
      estimated_cost_usd: 0,
      reason: paid.reason,
      agent_id: paid.agent_id,
      task_id: subtask.task_id,
    },
    summary: `Agent ${paid.agent_id} wants to call the paid API ${paid.endpoint} (${
      paid.reason || "no reason given"
    }).`,
    timeoutSec: ctx.settings.apiApprovalTimeoutSec,
    signal: AbortSignal.any([ctx.signal, paid.signal]),
  });
  state.approvals.push({
    approval_id: decision.approval_id,
    kind: "api_call",
    approved: decision.approved,
    operator: decision.operator,
    note: decision.note,
    summary: `${paid.provider} ${paid.endpoint}`,
  });
  ctx.log.emit("approval_decision", {
    agent_id: paid.agent_id,
    provider: paid.provider,
    endpoint: paid.endpoint,
    call_type: "external_paid_api",
    estimated_cost_usd: 0,
    reason: paid.reason,
    approved: decision.approved,
    note: decision.note,
  });
  return { approved: decision.approved, note: decision.note };
}

/** Turns capsule events into tool events, run-log lines and audit rows. */
function capsuleEventRecorder(
  ctx: RunContext,
  subtask: Subtask,
  agentId: string,
  attemptEvents: AttemptToolEvent[],
): (event: CapsuleEvent) => void {
  const argsById = new Map<string, { args: Record<string, unknown>; reason: string }>();
  const record = (
    tool: string,
    args: Record<string, unknown>,
    reason: string,
    outcome: { allowed: boolean; ok: boolean; error: string; result: unknown; ms: number | null },
  ) => {
    const safeArgs = ctx.redactor.value(args);
    const safeResult = ctx.redactor.value(outcome.result);
    attemptEvents.push({ tool, allowed: outcome.allowed, ok: outcome.ok, error: outcome.error });
    ctx.state.tool_event_count++;
    ctx.store.toolEvents.insert({
      run_id: ctx.state.run_id,
      task_id: subtask.task_id,
      agent_id: agentId,
      attempt: subtask.attempts,
      tool,
      args: safeArgs,
      allowed: outcome.allowed,
      ok: outcome.ok,
      reason,
      error: outcome.error,
      result: safeResult,
      latency_ms: outcome.ms,
    });
    ctx.store.audit.record("tool_call", {
      tool,
      args: safeArgs,
      ok: outcome.ok,
      error: outcome.error,
      task_id: subtask.task_id,
    }, { runId: ctx.state.run_id, agentId });
    ctx.log.emit("tool_call", {
      agent_id: agentId,
      task_id: subtask.task_id,
      tool,
      ok: outcome.ok,
      allowed: outcome.allowed,
      reason,
      args: safeArgs,
      result: preview(safeResult),
      error: outcome.error,
    });
  };
  return (event) => {
    switch (event.type) {
      case "started":
        ctx.log.emit("capsule_started", {
          agent_id: agentId,
          task_id: subtask.task_id,
          pid: event.pid,
          sandbox: event.sandbox,
          spawn_ms: event.spawn_ms,
          refused_tools: event.refused_tools,
        });
        break;
      case "tool_decided":
        argsById.set(event.id, { args: event.args, reason: event.reason });
        if (event.allowed) {
          ctx.log.emit("tool_started", {
            agent_id: agentId,
            task_id: subtask.task_id,
            tool: event.tool,
            args: ctx.redactor.value(event.args),
          });
        } else {
          record(event.tool, event.args, event.reason, {
            allowed: false,
            ok: false,
            error: `refused: ${event.reason}`,
            result: {},
            ms: event.ms,
          });
        }
        break;
      case "tool_done": {
        const known = argsById.get(event.id);
        record(event.tool, known?.args ?? {}, known?.reason ?? "", {
          allowed: true,
          ok: event.ok,
          error: event.error,
          result: event.result,
          ms: event.ms,
        });
        break;
      }
      case "error":
        ctx.log.emit("capsule_error", {
          agent_id: agentId,
          task_id: subtask.task_id,
          code: event.code,
          message: event.message,
        });
        break;
    }
  };
}

/** A bounded preview of a tool result for the run log (the full result is in tool_events). */
function preview(result: unknown): unknown {
  const text = JSON.stringify(result ?? null);
  return text.length <= 2000 ? result : `${text.slice(0, 2000)}… (${text.length} chars)`;
}
