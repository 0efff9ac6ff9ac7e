/**
 * The host side of one capsule run: answering its model calls and paid-API
 * approvals, and turning its events into tool-event rows, audit rows and
 * run-log lines. Budget and cancel errors stop the whole run.
 */
import { approvalTimeoutSec } from "./approvals.ts";
import type { Manifest } from "../capsule_runtime/manifest.ts";
import type {
  ApprovalAnswer,
  ApprovalRequest,
  CapsuleEvent,
  CapsuleHooks,
} from "../capsule_runtime/host.ts";
import type { ChatMessage, ToolCall } from "../llm/types.ts";
import type { ChatMessageWire, ToolCallWire, ToolMode } from "../guest/protocol_types.ts";
import { LlmError } from "../llm/errors.ts";
import type { RunContext } from "./context.ts";
import type { AttemptToolEvent } from "./validate.ts";
import type { Subtask } from "./types.ts";

/** The message of an error, or the thrown value as text. */
export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Budget and cancel errors stop the whole run; returns the failure text then. */
export function stopIfFatal(ctx: RunContext, error: unknown): string | null {
  if (error instanceof LlmError && error.kind === "budget_exceeded") {
    ctx.stop({ kind: "budget", reason: error.message });
    return `budget_exceeded: ${error.message}`;
  }
  if (ctx.signal.aborted) return "cancelled_by_user";
  return null;
}

/** Runs whose model refused native tool calls. */
const withoutNativeTools = new WeakSet<RunContext>();

/**
 * How this run's capsules ask for tool calls: the setting, unless the model
 * already refused native tools in this run (then JSON steps from the start).
 */
export function toolModeFor(ctx: RunContext): ToolMode {
  if (ctx.settings.toolCalling === "json" || withoutNativeTools.has(ctx)) return "json";
  return "native";
}

/** A conversation turn from the capsule protocol to the model service's shape. */
function fromWire(m: ChatMessageWire): ChatMessage {
  return {
    role: m.role,
    content: m.content,
    ...(m.tool_calls ? { toolCalls: m.tool_calls.map(fromWireCall) } : {}),
    ...(m.tool_call_id ? { toolCallId: m.tool_call_id } : {}),
    ...(m.name ? { name: m.name } : {}),
  };
}

function fromWireCall(call: ToolCallWire): ToolCall {
  return {
    id: call.id,
    name: call.name,
    args: call.args,
    ...(call.args_error ? { argsError: call.args_error } : {}),
  };
}

function toWire(call: ToolCall): ToolCallWire {
  return {
    id: call.id,
    name: call.name,
    args: call.args,
    ...(call.argsError ? { args_error: call.argsError } : {}),
  };
}

/** The coordinator's answers to a capsule: its model calls and its paid-API approvals. */
export function capsuleHooks(
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
          messages: request.messages.map(fromWire),
          schema: request.schema
            ? { name: request.schema.name, jsonSchema: request.schema.json_schema }
            : undefined,
          tools: request.tools,
          cachePrefix: request.cache_prefix,
          temperature,
          signal: request.signal,
        }, meta);
        const { usage } = reply;
        return {
          text: reply.text,
          usage: {
            input_tokens: usage.inputTokens,
            output_tokens: usage.outputTokens,
            ...(usage.cachedInputTokens ? { cached_input_tokens: usage.cachedInputTokens } : {}),
          },
          ...(reply.toolCalls?.length ? { tool_calls: reply.toolCalls.map(toWire) } : {}),
        };
      } catch (error) {
        // The guest falls back to JSON steps; later capsules of this run start there.
        if (error instanceof LlmError && error.kind === "tools_unsupported") {
          withoutNativeTools.add(ctx);
        }
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
    summary: paid.provider.startsWith("mcp:")
      ? `Agent ${paid.agent_id} wants to call the MCP tool ${paid.endpoint} (${paid.reason}).`
      : `Agent ${paid.agent_id} wants to call the paid API ${paid.endpoint} (${
        paid.reason || "no reason given"
      }).`,
    details: [
      `Provider: ${paid.provider}; endpoint: ${paid.endpoint}`,
      "yes: make this one call",
      "no: refuse the call; the agent is told it was not approved",
      `always: approve now and every later call by agent ${paid.agent_id} to ${paid.provider}`,
    ],
    rule: {
      kind: "api_call",
      scope: "agent",
      subject: paid.agent_id,
      grant: { provider: paid.provider },
    },
    timeoutSec: approvalTimeoutSec(ctx.settings, state.runtime_policies.api_approval_mode),
    signal: AbortSignal.any([ctx.signal, paid.signal]),
  });
  state.approvals.push({
    approval_id: decision.approval_id,
    kind: "api_call",
    approved: decision.approved,
    operator: decision.operator,
    note: decision.note,
    summary: `${paid.provider} ${paid.endpoint}`,
    ...(decision.status === "timed_out" ? { timed_out: true } : {}),
    ...(decision.rule_id ? { rule_id: decision.rule_id } : {}),
  });
  ctx.log.emit("approval_decision", {
    agent_id: paid.agent_id,
    provider: paid.provider,
    endpoint: paid.endpoint,
    call_type: "external_paid_api",
    estimated_cost_usd: 0,
    reason: paid.reason,
    approved: decision.approved,
    status: decision.status,
    note: decision.note,
  });
  return { approved: decision.approved, note: decision.note };
}

/** What became of one tool call, as the recorders store it. */
interface ToolOutcomeRecord {
  allowed: boolean;
  ok: boolean;
  error: string;
  result: unknown;
  ms: number | null;
}

/** One tool call in the attempt's list, tool_events, the audit and the run log (redacted). */
function recordToolCall(
  at: { ctx: RunContext; subtask: Subtask; agentId: string; attemptEvents: AttemptToolEvent[] },
  call: { tool: string; args: Record<string, unknown>; reason: string; outcome: ToolOutcomeRecord },
): void {
  const { ctx, subtask, agentId, attemptEvents } = at;
  const { tool, args, reason, outcome } = call;
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
}

/** Turns capsule events into tool events, run-log lines and audit rows. */
export function capsuleEventRecorder(
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
    outcome: ToolOutcomeRecord,
  ) => recordToolCall({ ctx, subtask, agentId, attemptEvents }, { tool, args, reason, outcome });
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
          ...(event.worker ? { worker: event.worker } : {}),
          ...(event.warm ? { warm: event.warm } : {}),
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
      case "step_replayed":
      case "step_rerun":
      case "journal_diverged":
        journalEvent(ctx, subtask, agentId, event, attemptEvents);
        break;
      case "limit_breached":
        ctx.log.emit("limit_breached", {
          agent_id: agentId,
          task_id: subtask.task_id,
          tool: event.tool,
          limit: event.limit,
          message: event.message,
        });
        break;
      case "egress":
        egressEvent(ctx, subtask, agentId, event);
        break;
      case "mcp_servers":
        // Which MCP servers serve this agent, and why any is withheld (not in the catalogue,
        // changed declarations awaiting `closed-claw mcp approve`, failed to start).
        ctx.log.emit("mcp_servers", {
          agent_id: agentId,
          task_id: subtask.task_id,
          served: event.served,
          withheld: event.withheld,
        });
        break;
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

/**
 * Replay events in the run log, so users see what was not done again. A
 * replayed tool call counts for the attempt's validation (it happened) but
 * is not recorded again: its tool_events row was written when it ran.
 */
function journalEvent(
  ctx: RunContext,
  subtask: Subtask,
  agentId: string,
  event: Extract<CapsuleEvent, { type: "step_replayed" | "step_rerun" | "journal_diverged" }>,
  attemptEvents: AttemptToolEvent[],
): void {
  const base = { agent_id: agentId, task_id: subtask.task_id, step: event.step };
  if (event.type === "journal_diverged") {
    ctx.log.emit("journal_diverged", { ...base, detail: event.detail });
  } else if (event.type === "step_rerun") {
    const args = ctx.redactor.value(event.args);
    ctx.log.emit("step_rerun", { ...base, tool: event.tool, args, read_only: true });
  } else if (event.kind === "model") {
    ctx.log.emit("step_replayed", { ...base, kind: "model_call" });
  } else {
    const tool = event.tool ?? "?";
    const allowed = event.allowed ?? false;
    const ok = event.ok ?? false;
    attemptEvents.push({ tool, allowed, ok, error: event.error ?? "" });
    ctx.log.emit("step_replayed", {
      ...base,
      kind: "tool_call",
      tool,
      args: ctx.redactor.value(event.args ?? {}),
      allowed,
      ok,
    });
  }
}

/**
 * A connection a program opened through the egress proxy (allowed, refused or
 * cut off, with its bytes): one run-log line and one audit row each.
 */
function egressEvent(
  ctx: RunContext,
  subtask: Subtask,
  agentId: string,
  event: Extract<CapsuleEvent, { type: "egress" }>,
): void {
  const { type: _type, ...fields } = event;
  const line = { agent_id: agentId, task_id: subtask.task_id, ...fields };
  ctx.log.emit("egress", line);
  ctx.store.audit.record("egress", line, { runId: ctx.state.run_id, agentId });
}

/** A bounded preview of a tool result for the run log (the full result is in tool_events). */
function preview(result: unknown): unknown {
  const text = JSON.stringify(result ?? null);
  return text.length <= 2000 ? result : `${text.slice(0, 2000)}… (${text.length} chars)`;
}
