/**
 * One attempt at running a capsule: spawn it, answer each message it sends
 * with one handler per message kind, and turn whatever happens (a final
 * answer, a crash, a hang, a flood of bad lines, a cancel) into a result.
 * Nothing a capsule does can make this throw.
 */
import type { ToolName } from "./manifest.ts";
import { hasSideEffects } from "../tools/catalog.ts";
import { checkToolCall } from "../tools/host_check.ts";
import {
  type FinalMessage,
  type GuestMessage,
  type LlmRequestMessage,
  type LogMessage,
  PROTOCOL_VERSION,
  type StartMessage,
  type ToolDoneMessage,
  type ToolRequestMessage,
} from "./protocol.ts";
import type { LaunchPlan } from "./launcher.ts";
import { CapsuleProcess, type StdoutItem } from "./supervisor.ts";
import type { CapsuleEvent, CapsuleResult, RunCapsuleOptions } from "./capsule_types.ts";
import { decideToolCall, refusal, type ToolDecisionDeps } from "./tool_decision.ts";
import { errorText, lastStderrLine, modelErrorCode, roundMs } from "./_format.ts";
import { guestTool } from "../guest/tools/registry.ts";
import { runTool, type ToolContext } from "../guest/tools/run.ts";
import { programRunner } from "./program_runner.ts";

/** Malformed lines tolerated before a capsule is stopped as broken. */
const MAX_PROTOCOL_ERRORS = 20;
const READY_TIMEOUT_MS = 15_000;
/** Calls past the limit still answered (refused) before the capsule is stopped. */
const TOOL_LIMIT_GRACE = 2;
/** Messages and stdout bytes one capsule may send before it is stopped as flooding. */
const MAX_MESSAGES = 5_000;
const MAX_STDOUT_BYTES = 64 * 1024 * 1024;
/** Largest tool result kept in events and records; a bigger one is cut to a preview. */
const MAX_STORED_RESULT_CHARS = 256 * 1024;

type Failure = { code: string; message: string };
type Timer = ReturnType<typeof setTimeout>;

/** Runs one attempt to its result; `attempt` counts from 1. */
export async function runAttempt(
  options: RunCapsuleOptions,
  plan: LaunchPlan,
  start: StartMessage,
  attempt: number,
): Promise<CapsuleResult> {
  const began = performance.now();
  const emit = safeEmitter(options.onEvent);
  let proc: CapsuleProcess;
  try {
    proc = CapsuleProcess.spawn(plan, (line) => emit({ type: "log", level: "stderr", msg: line }));
  } catch (error) {
    return notStarted(plan, "capsule_spawn_failed", {
      message: `Could not start the capsule: ${(error as Error).message}`,
      attempts: attempt,
      latency_ms: roundMs(performance.now() - began),
    });
  }
  return await new CapsuleSession(options, plan, start, attempt, proc, emit, began).run();
}

/** The result of a run whose capsule never started. */
export function notStarted(
  plan: LaunchPlan,
  code: string,
  extra: { message: string; attempts: number; latency_ms: number },
): CapsuleResult {
  return {
    latency_ms: extra.latency_ms,
    spawn_ms: 0,
    tool_calls: 0,
    side_effects: false,
    attempts: extra.attempts,
    sandbox: plan.sandbox,
    stderr_tail: "",
    warnings: plan.warnings,
    ...emptyOutcome("error", { code, message: extra.message }),
  };
}

/** A tool result small enough to keep; a bigger one becomes a marked preview. */
export function boundedResult(result: Record<string, unknown>): Record<string, unknown> {
  const text = JSON.stringify(result);
  if (text.length <= MAX_STORED_RESULT_CHARS) return result;
  return { truncated: true, chars: text.length, preview: text.slice(0, 4000) };
}

/** A listener that throws must not break the capsule. */
function safeEmitter(onEvent: RunCapsuleOptions["onEvent"]): (event: CapsuleEvent) => void {
  return (event) => {
    try {
      onEvent?.(event);
    } catch {
      // ignored on purpose
    }
  };
}

/** The answer fields of a run that produced no answer. */
function emptyOutcome(status: CapsuleResult["status"], f: Failure) {
  return {
    status,
    result: "",
    error_code: f.code,
    error_message: f.message,
    artifacts: [],
    memory_updates: [],
  };
}

/** A running capsule and everything the host has seen of it so far. */
class CapsuleSession {
  private readonly abort = new AbortController();
  private readonly toolNames = new Map<string, string>();
  private readonly timers: Timer[] = [];
  private readyTimer: Timer | undefined;
  private toolCalls = 0;
  private messages = 0;
  /** The id of the one call the guest may now report with `tool_done` (it runs it). */
  private pendingToolId: string | null = null;
  private sideEffects = false;
  private protocolErrors = 0;
  private spawnMs = 0;
  private final: FinalMessage | null = null;
  private failure: Failure | null = null;
  private readonly decisionDeps: ToolDecisionDeps;
  /** Where the tools run and what they may touch (the host policy checks against it). */
  private toolContext: ToolContext | undefined;

  constructor(
    private readonly options: RunCapsuleOptions,
    private readonly plan: LaunchPlan,
    private readonly start: StartMessage,
    private readonly attempt: number,
    private readonly proc: CapsuleProcess,
    private readonly emit: (event: CapsuleEvent) => void,
    private readonly began: number,
  ) {
    this.decisionDeps = this.toolDecisionDeps();
  }

  /** Reads the capsule's lines until its final answer or its end, then reports. */
  async run(): Promise<CapsuleResult> {
    this.startTimers();
    const signal = this.options.signal;
    const onCancel = () => this.cancel();
    if (signal?.aborted) onCancel();
    signal?.addEventListener("abort", onCancel, { once: true });
    try {
      for await (const item of this.proc.lines(this.options.settings.maxLineBytes)) {
        if (this.flooding()) break;
        if (!item.ok) this.onBadLine(item);
        else await this.handle(item.message);
        if (this.final || this.failure) break;
      }
      await this.ended();
    } catch (error) {
      this.proc.kill("host error");
      this.fail("capsule_host_error", errorText(error));
    } finally {
      for (const timer of this.timers) clearTimeout(timer);
      signal?.removeEventListener("abort", onCancel);
    }
    await this.proc.status.catch(() => {});
    return this.result();
  }

  /** Every message and byte counts against the capsule's limits; past them it is stopped. */
  private flooding(): boolean {
    const tooMany = ++this.messages > MAX_MESSAGES;
    if (!tooMany && this.proc.bytesRead <= MAX_STDOUT_BYTES) return false;
    this.stop(
      "capsule_flood",
      tooMany
        ? `The capsule sent more than ${MAX_MESSAGES} messages and was stopped.`
        : `The capsule wrote more than ${MAX_STDOUT_BYTES} bytes and was stopped.`,
    );
    return true;
  }

  /** One handler per guest message kind. */
  private handle(msg: GuestMessage): Promise<void> | void {
    switch (msg.type) {
      case "ready":
        return this.onReady();
      case "llm_request":
        return this.onLlmRequest(msg);
      case "tool_request":
        return this.onToolRequest(msg);
      case "tool_done":
        return this.onToolDone(msg);
      case "log":
        return this.onLog(msg);
      case "final":
        return this.onFinal(msg);
    }
  }

  private async onReady(): Promise<void> {
    clearTimeout(this.readyTimer);
    this.spawnMs = performance.now() - this.began;
    const { plan } = this;
    this.emit({
      type: "started",
      pid: this.proc.pid,
      sandbox: plan.sandbox,
      spawn_ms: roundMs(this.spawnMs),
      deno_flags: plan.denoFlags,
      refused_tools: plan.refusedTools,
      attempt: this.attempt,
    });
    for (const warning of plan.warnings) this.emit({ type: "log", level: "warn", msg: warning });
    await this.proc.send(this.start);
  }

  /** Answers a model call through the caller's hook; a failure goes back with its code. */
  private async onLlmRequest(msg: LlmRequestMessage): Promise<void> {
    const t0 = performance.now();
    const base = { type: "model_call", id: msg.id } as const;
    const reply = { v: PROTOCOL_VERSION, type: "llm_result", id: msg.id } as const;
    try {
      const answer = await this.options.hooks.complete({
        messages: msg.messages,
        schema: msg.schema,
        signal: this.abort.signal,
      });
      const ms = roundMs(performance.now() - t0);
      this.emit({ ...base, ok: true, ms, usage: answer.usage });
      await this.proc.send({ ...reply, ok: true, message: answer.text, usage: answer.usage });
    } catch (error) {
      const text = errorText(error);
      this.emit({ ...base, ok: false, ms: roundMs(performance.now() - t0), error: text });
      await this.proc.send({ ...reply, ok: false, error: text, error_code: modelErrorCode(error) });
    }
  }

  /** Counts the call against the limit, decides it, and answers `tool_decision`. */
  private async onToolRequest(msg: ToolRequestMessage): Promise<void> {
    const { settings } = this.options;
    const limit = settings.maxToolCallsPerAgent;
    this.toolCalls++;
    this.toolNames.set(msg.id, msg.tool);
    const { id, tool, args, reason } = msg;
    this.emit({ type: "tool_requested", id, tool, args, reason });
    const t0 = performance.now();
    const decision = this.toolCalls > limit
      ? refusal("tool_limit", `tool call limit of ${limit} reached`)
      : await decideToolCall(msg, this.decisionDeps);
    if (decision.allowed && hasSideEffects(msg.tool as ToolName, decision.args)) {
      this.sideEffects = true;
    }
    this.emit({
      type: "tool_decided",
      id,
      tool,
      allowed: decision.allowed,
      reason: decision.reason,
      args: decision.args,
      ms: roundMs(performance.now() - t0),
    });
    const hostRun = decision.allowed && guestTool(tool)?.permission === "exec";
    // A program the tool starts runs in its own sandbox, started here, so it can
    // never reach the capsule's protocol pipe; the guest gets the result back.
    const outcome = hostRun ? await this.runOnHost(id, tool, decision.args) : undefined;
    this.pendingToolId = decision.allowed && !hostRun ? id : null;
    await this.proc.send({
      v: PROTOCOL_VERSION,
      type: "tool_decision",
      id,
      ...decision,
      ...(outcome ? { outcome } : {}),
    });
    if (this.toolCalls > limit + TOOL_LIMIT_GRACE) {
      this.stop(
        "capsule_tool_limit",
        `The capsule kept calling tools past its limit of ${limit}.`,
      );
    }
  }

  /** The host policy and the caller's hooks, as the tool decision uses them. */
  private toolDecisionDeps(): ToolDecisionDeps {
    const { options, plan } = this;
    const { permissions } = plan;
    const ctx: ToolContext = this.toolContext = {
      workspace: this.start.tool_context.workspace,
      readRoots: permissions.readRoots,
      writeRoots: permissions.writeRoots,
      fileWrite: permissions.fileWrite,
      sqlPaths: permissions.sqlPaths,
      networkHosts: permissions.networkHosts,
      denyPaths: plan.deniedPaths,
    };
    return {
      check: (tool: string, args: Record<string, unknown>) =>
        checkToolCall(tool, args, {
          allowlist: plan.tools,
          ctx,
          resolver: options.resolver,
          paidApiProviders: options.settings.paidApiProviders,
        }),
      approve: options.hooks.approve?.bind(options.hooks),
      decideTool: options.hooks.decideTool?.bind(options.hooks),
      onApproval: this.emit,
      agentId: options.manifest.agent_id,
      signal: this.abort.signal,
    };
  }

  /** Runs an exec tool's program in its own sandbox and reports it like a guest-run call. */
  private async runOnHost(id: string, tool: string, args: Record<string, unknown>) {
    const t0 = performance.now();
    const ctx = { ...this.toolContext!, signal: this.abort.signal };
    const ran = await runTool(tool, args, { ...ctx, runProgram: programRunner(this.plan) });
    const outcome = { ...ran, ms: roundMs(performance.now() - t0) };
    this.emit({ type: "tool_done", id, tool, ...outcome, result: boundedResult(outcome.result) });
    return outcome;
  }

  /**
   * The guest's report of the one call it was just allowed to run. Any other
   * id (a replay, a guess, a forgery) is a protocol error and is not stored.
   */
  private onToolDone(msg: ToolDoneMessage): void {
    if (msg.id !== this.pendingToolId) {
      this.protocolError(
        `tool_done for '${msg.id.slice(0, 40)}', which is not the call in progress`,
      );
      return;
    }
    this.pendingToolId = null;
    this.emit({
      type: "tool_done",
      id: msg.id,
      tool: this.toolNames.get(msg.id) ?? "?",
      ok: msg.ok,
      error: msg.error.slice(0, 4000),
      ms: msg.ms,
      result: boundedResult(msg.result),
    });
  }

  private onLog(msg: LogMessage): void {
    this.emit({ type: "log", level: msg.level, msg: msg.msg.slice(0, 2000) });
  }

  private onFinal(msg: FinalMessage): void {
    if (this.pendingToolId) {
      this.protocolError("final while a tool call was still in progress");
      return;
    }
    this.final = msg;
    this.emit({ type: "final", status: msg.status, result: msg.result.slice(0, 2000) });
  }

  /** A line that did not parse: reported; too many of them, or one too long, stop the capsule. */
  private onBadLine(item: Extract<StdoutItem, { ok: false }>): void {
    this.protocolError(item.error, item.preview, "tooLong" in item);
  }

  private protocolError(error: string, preview = "", fatal = false): void {
    this.emit({ type: "protocol_error", error, preview });
    if (++this.protocolErrors > MAX_PROTOCOL_ERRORS || fatal) {
      this.stop("capsule_protocol_error", `The capsule broke the protocol: ${error}.`);
    }
  }

  /** After the last line: let a capsule that answered exit; anything else crashed. */
  private async ended(): Promise<void> {
    if (this.final) {
      await this.proc.finish();
      return;
    }
    const status = await this.proc.status;
    if (this.failure) return;
    const signal = status.signal ? `, ${status.signal}` : "";
    this.fail(
      "capsule_crashed",
      `The capsule exited (code ${status.code}${signal}) without a final answer.${
        lastStderrLine(this.proc.stderrTail())
      }`,
    );
  }

  private startTimers(): void {
    const timeoutMs = this.options.timeoutMs ?? this.options.settings.agentTimeoutSec * 1000;
    const seconds = Math.round(timeoutMs / 1000);
    this.timers.push(setTimeout(
      () =>
        this.stop(
          "capsule_timeout",
          `The capsule did not finish within ${seconds} s and was stopped.`,
        ),
      timeoutMs,
    ));
    this.readyTimer = setTimeout(
      () => this.stop("capsule_not_ready", "The capsule did not start within 15 s."),
      READY_TIMEOUT_MS,
    );
    this.timers.push(this.readyTimer);
  }

  private cancel(): void {
    this.proc.send({ v: PROTOCOL_VERSION, type: "cancel", reason: "cancelled by user" });
    this.stop("cancelled", "Cancelled by user.");
  }

  /** The first failure decides the result; every one is reported. */
  private fail(code: string, message: string): void {
    this.failure ??= { code, message };
    this.emit({ type: "error", code, message });
  }

  private stop(code: string, message: string): void {
    this.fail(code, message);
    this.abort.abort(message);
    this.proc.kill(message);
  }

  private result(): CapsuleResult {
    const base = {
      latency_ms: roundMs(performance.now() - this.began),
      spawn_ms: roundMs(this.spawnMs),
      tool_calls: this.toolCalls,
      side_effects: this.sideEffects,
      attempts: this.attempt,
      sandbox: this.plan.sandbox,
      stderr_tail: this.proc.stderrTail(),
      warnings: this.plan.warnings,
    };
    const { final, failure } = this;
    if (final && !failure) {
      return {
        ...base,
        status: final.status,
        result: final.result,
        error_code: final.error_code,
        error_message: final.error_message,
        artifacts: final.artifacts,
        memory_updates: final.memory_updates,
      };
    }
    const status = failure?.code === "cancelled" ? "cancelled" : "error";
    return { ...base, ...emptyOutcome(status, failure!) };
  }
}
