/**
 * One attempt at running a capsule: spawn it, answer each message it sends
 * with one handler per message kind, and turn whatever happens (a final
 * answer, a crash, a hang, a flood of bad lines, a cancel) into a result.
 * Nothing a capsule does can make this throw.
 */
import type { ToolName } from "./manifest.ts";
import { hasSideEffects } from "../tools/catalog.ts";
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
import type { ToolContext } from "../guest/tools/run.ts";
import { inDoubtMessage, runProgram, sessionToolDeps } from "./session_tools.ts";
import { boundedResult, emptyOutcome, type Failure, notStarted, safeEmitter } from "./_outcome.ts";

import {
  journaledOutcome,
  modelRequestHash,
  type StepJournal,
  toolRequestHash,
} from "./step_journal.ts";
import { StepReplay, type ToolTurn } from "./step_replay.ts";

export { boundedResult, notStarted };

/** Malformed lines tolerated before a capsule is stopped as broken. */
const MAX_PROTOCOL_ERRORS = 20;
const READY_TIMEOUT_MS = 15_000;
/** Calls past the limit still answered (refused) before the capsule is stopped. */
const TOOL_LIMIT_GRACE = 2;
/** Messages and stdout bytes one capsule may send before it is stopped as flooding. */
const MAX_MESSAGES = 5_000;
const MAX_STDOUT_BYTES = 64 * 1024 * 1024;
type Timer = ReturnType<typeof setTimeout>;

/**
 * Runs one attempt to its result; `attempt` counts from 1. Every model reply
 * and tool call goes into `journal`, and what it already holds is replayed.
 */
export async function runAttempt(
  options: RunCapsuleOptions,
  plan: LaunchPlan,
  start: StartMessage,
  attempt: number,
  journal: StepJournal,
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
  const replay = new StepReplay(journal, (step, detail) => {
    emit({ type: "journal_diverged", step, detail });
  });
  return await new CapsuleSession(options, plan, start, attempt, proc, emit, began, replay).run();
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
  /** The journal step of that call. */
  private pendingStep = 0;
  private sideEffects = false;
  private protocolErrors = 0;
  private spawnMs = 0;
  private final: FinalMessage | null = null;
  private failure: Failure | null = null;
  private readonly decisionDeps: ToolDecisionDeps;
  /** Where the tools run and what they may touch (the host policy checks against it). */
  private readonly toolContext: ToolContext;

  constructor(
    private readonly options: RunCapsuleOptions,
    private readonly plan: LaunchPlan,
    private readonly start: StartMessage,
    private readonly attempt: number,
    private readonly proc: CapsuleProcess,
    private readonly emit: (event: CapsuleEvent) => void,
    private readonly began: number,
    private readonly replay: StepReplay,
  ) {
    const tools = sessionToolDeps(options, plan, start, emit, this.abort.signal);
    this.decisionDeps = tools.deps;
    this.toolContext = tools.ctx;
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
    const hash = modelRequestHash(msg);
    const turn = this.replay.model(hash);
    if (turn.reply) {
      // Answered before: the journaled reply, with no model call and no cost.
      this.emit({ type: "step_replayed", step: turn.step, kind: "model" });
      const { text, usage } = turn.reply;
      await this.proc.send({ ...reply, ok: true, message: text, usage });
      return;
    }
    try {
      const answer = await this.options.hooks.complete({
        messages: msg.messages,
        schema: msg.schema,
        signal: this.abort.signal,
      });
      const ms = roundMs(performance.now() - t0);
      this.replay.recordModel(turn.step, hash, { text: answer.text, usage: answer.usage });
      this.emit({ ...base, ok: true, ms, usage: answer.usage });
      await this.proc.send({ ...reply, ok: true, message: answer.text, usage: answer.usage });
    } catch (error) {
      const text = errorText(error);
      this.emit({ ...base, ok: false, ms: roundMs(performance.now() - t0), error: text });
      await this.proc.send({ ...reply, ok: false, error: text, error_code: modelErrorCode(error) });
    }
  }

  /**
   * Counts the call against the limit, then answers `tool_decision`: from the
   * journal when the call was made before (it does not run again), or by
   * deciding it (and running a program here) and journaling each part.
   */
  private async onToolRequest(msg: ToolRequestMessage): Promise<void> {
    const limit = this.options.settings.maxToolCallsPerAgent;
    this.toolCalls++;
    this.toolNames.set(msg.id, msg.tool);
    const { tool, args, reason } = msg;
    const hash = toolRequestHash(tool, args);
    const turn = this.replay.tool(hash, tool);
    if (turn.kind === "in_doubt") {
      this.stop("side_effect_in_doubt", inDoubtMessage(tool, args));
      return;
    }
    if (turn.kind === "replay") await this.replayTool(msg, turn);
    else {
      if (turn.rerun) this.emit({ type: "step_rerun", step: turn.step, tool, args });
      this.replay.recordToolRequest(turn.step, hash, { tool, args, reason });
      await this.decideAndAnswer(msg, turn.step);
    }
    if (this.toolCalls > limit + TOOL_LIMIT_GRACE) {
      this.stop(
        "capsule_tool_limit",
        `The capsule kept calling tools past its limit of ${limit}.`,
      );
    }
  }

  /** A call made before: its journaled decision and result go back; nothing runs. */
  private async replayTool(
    msg: ToolRequestMessage,
    turn: Extract<ToolTurn, { kind: "replay" }>,
  ): Promise<void> {
    const { decision, outcome } = turn;
    if (decision.allowed && hasSideEffects(msg.tool as ToolName, decision.args)) {
      this.sideEffects = true;
    }
    this.emit({
      type: "step_replayed",
      step: turn.step,
      kind: "tool",
      tool: msg.tool,
      args: decision.args,
      allowed: decision.allowed,
      ok: outcome?.ok ?? false,
      error: outcome ? outcome.error : `refused: ${decision.reason}`,
    });
    await this.proc.send({
      v: PROTOCOL_VERSION,
      type: "tool_decision",
      id: msg.id,
      ...decision,
      ...(outcome ? { outcome } : {}),
    });
  }

  /** Decides a live call, runs a program here, and answers `tool_decision`. */
  private async decideAndAnswer(msg: ToolRequestMessage, step: number): Promise<void> {
    const limit = this.options.settings.maxToolCallsPerAgent;
    const { id, tool, args, reason } = msg;
    this.emit({ type: "tool_requested", id, tool, args, reason });
    const t0 = performance.now();
    const decision = this.toolCalls > limit
      ? refusal("tool_limit", `tool call limit of ${limit} reached`)
      : await decideToolCall(msg, this.decisionDeps);
    const effects = decision.allowed && hasSideEffects(msg.tool as ToolName, decision.args);
    if (effects) this.sideEffects = true;
    // Journaled before the call can run: a crash from here on leaves it "in flight".
    this.replay.journal.recordToolDecision(step, decision, effects);
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
    const outcome = hostRun ? await this.runOnHost(id, tool, decision.args, step) : undefined;
    this.pendingToolId = decision.allowed && !hostRun ? id : null;
    this.pendingStep = step;
    await this.proc.send({
      v: PROTOCOL_VERSION,
      type: "tool_decision",
      id,
      ...decision,
      ...(outcome ? { outcome } : {}),
    });
  }

  /** Runs an exec tool's program in its own sandbox and reports it like a guest-run call. */
  private async runOnHost(id: string, tool: string, args: Record<string, unknown>, step: number) {
    const outcome = await runProgram(this.toolContext, this.plan, tool, args, this.abort.signal);
    this.replay.journal.recordToolResult(step, journaledOutcome(outcome));
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
    const { ok, result, error, ms } = msg;
    this.replay.journal.recordToolResult(
      this.pendingStep,
      journaledOutcome({ ok, result, error, ms }),
    );
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
