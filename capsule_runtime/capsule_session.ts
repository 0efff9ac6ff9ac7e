/**
 * One attempt at running a capsule: spawn it, answer each message it sends
 * with one handler per message kind, and turn whatever happens (a final
 * answer, a crash, a hang, a flood of bad lines, a cancel) into a result.
 * Nothing a capsule does can make this throw.
 */
import {
  type FinalMessage,
  type GuestMessage,
  type LogMessage,
  PROTOCOL_VERSION,
  type StartMessage,
} from "./protocol.ts";
import type { LaunchPlan } from "./launcher.ts";
import type { CapsuleChannel, CapsuleProcess, StdoutItem } from "./supervisor.ts";
import { launchCapsule } from "./capsule_launch.ts";
import type {
  CapsuleEvent,
  CapsuleResult,
  RemoteLaunch,
  RunCapsuleOptions,
} from "./capsule_types.ts";
import { errorText, lastStderrLine, roundMs } from "./_format.ts";
import { boundedResult, emptyOutcome, type Failure, notStarted, safeEmitter } from "./_outcome.ts";
import type { StepJournal } from "./step_journal.ts";
import { StepReplay } from "./step_replay.ts";
import { SessionToolCalls } from "./session_tool_calls.ts";
import { SessionModelCalls } from "./session_model_calls.ts";
import { breachedLimit } from "./limit_events.ts";
import { McpToolset } from "./mcp_tools.ts";
import type { WarmKind } from "./capsule_pool.ts";

export { boundedResult, notStarted };

/** Malformed lines tolerated before a capsule is stopped as broken. */
const MAX_PROTOCOL_ERRORS = 20;
const READY_TIMEOUT_MS = 15_000;
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
  const emit = safeEmitter(options.onEvent);
  // The agent's MCP servers run here, each in a sandbox of its own, for this attempt.
  const mcp = await McpToolset.open(options, plan, emit);
  try {
    const withMcp = mcp ? mcp.extend(start) : start;
    return await spawnAttempt(options, plan, withMcp, attempt, journal, emit, mcp);
  } finally {
    await mcp?.close();
  }
}

async function spawnAttempt(
  options: RunCapsuleOptions,
  localPlan: LaunchPlan,
  start: StartMessage,
  attempt: number,
  journal: StepJournal,
  emit: (event: CapsuleEvent) => void,
  mcp: McpToolset | null,
): Promise<CapsuleResult> {
  const began = performance.now();
  const launched = await launchCapsule(options, localPlan, attempt, emit);
  if ("failure" in launched) {
    return notStarted(localPlan, launched.failure.code, {
      message: launched.failure.message,
      attempts: attempt,
      latency_ms: roundMs(performance.now() - began),
    });
  }
  const replay = new StepReplay(journal, (step, detail) => {
    emit({ type: "journal_diverged", step, detail });
  });
  const session = new CapsuleSession({
    options,
    plan: launched.plan,
    start,
    attempt,
    proc: launched.channel,
    emit,
    began,
    replay,
    mcp,
    remote: launched.remote,
    local: launched.local,
    warm: launched.warm,
  });
  return await session.run();
}

/** Everything a session starts from. */
interface SessionStart {
  options: RunCapsuleOptions;
  plan: LaunchPlan;
  start: StartMessage;
  attempt: number;
  proc: CapsuleChannel;
  emit: (event: CapsuleEvent) => void;
  began: number;
  replay: StepReplay;
  mcp: McpToolset | null;
  remote?: RemoteLaunch;
  /** The local process (absent for a worker's capsule), which a pool may keep. */
  local?: CapsuleProcess;
  warm?: WarmKind;
}

/** A running capsule and everything the host has seen of it so far. */
class CapsuleSession {
  private readonly abort = new AbortController();
  private readonly timers: Timer[] = [];
  private readyTimer: Timer | undefined;
  private messages = 0;
  private protocolErrors = 0;
  private spawnMs = 0;
  private final: FinalMessage | null = null;
  private failure: Failure | null = null;
  private readonly tools: SessionToolCalls;
  private readonly models: SessionModelCalls;

  private readonly options: RunCapsuleOptions;
  private readonly plan: LaunchPlan;
  private readonly start: StartMessage;
  private readonly attempt: number;
  private readonly proc: CapsuleChannel;
  private readonly emit: (event: CapsuleEvent) => void;
  private readonly began: number;
  private readonly replay: StepReplay;
  private readonly worker?: string;
  private readonly local?: CapsuleProcess;
  private readonly warm?: WarmKind;
  /** Anything that went wrong at all (a protocol error, an error, a breached limit). */
  private troubled = false;
  /** The process went back to the pool for the agent's next subtask. */
  private kept = false;
  /** The guest said `ready` (and was sent its start). */
  private readied = false;

  constructor(from: SessionStart) {
    const { options, plan, start, proc, replay } = from;
    this.options = options;
    this.plan = plan;
    this.start = start;
    this.attempt = from.attempt;
    this.proc = proc;
    this.local = from.local;
    this.warm = from.warm;
    const emit = from.emit;
    this.emit = (event) => {
      // An error ends the session through `fail`, which `keep` sees as `failure`.
      if (event.type === "protocol_error" || breachedLimit(event)) this.troubled = true;
      emit(event);
    };
    this.began = from.began;
    this.replay = replay;
    this.worker = from.remote?.worker;
    this.tools = new SessionToolCalls({
      mcp: from.mcp,
      remoteProgram: from.remote?.runProgram,
      options,
      plan,
      start,
      replay,
      signal: this.abort.signal,
      emit: this.emit,
      send: (message) => proc.send(message),
      stop: (code, message) => this.stop(code, message),
      protocolError: (error) => this.protocolError(error),
    });
    this.models = new SessionModelCalls({
      options,
      start,
      replay,
      tools: this.tools,
      signal: this.abort.signal,
      emit: this.emit,
      send: (message) => proc.send(message),
    });
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
      this.kept = false;
      this.proc.kill("host error");
      this.fail("capsule_host_error", errorText(error));
    } finally {
      for (const timer of this.timers) clearTimeout(timer);
      signal?.removeEventListener("abort", onCancel);
      this.models.dropEarly();
    }
    if (!this.kept) await this.proc.status.catch(() => {});
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
        return this.models.onRequest(msg);
      case "tool_request":
        return this.tools.onRequest(msg);
      case "tool_done":
        return this.tools.onDone(msg);
      case "log":
        return this.onLog(msg);
      case "final":
        return this.onFinal(msg);
    }
  }

  private async onReady(): Promise<void> {
    // One subtask a session: a second `ready` would have the start (and its costs) sent again.
    if (this.readied) return this.protocolError("ready sent twice in one session");
    this.readied = true;
    clearTimeout(this.readyTimer);
    this.spawnMs = performance.now() - this.began;
    const { plan } = this;
    // The task goes first: the guest starts on it while the host records the start.
    const sent = this.proc.send(this.start);
    this.emit({
      type: "started",
      pid: this.proc.pid,
      sandbox: plan.sandbox,
      spawn_ms: roundMs(this.spawnMs),
      deno_flags: plan.denoFlags,
      refused_tools: plan.refusedTools,
      attempt: this.attempt,
      ...(this.worker ? { worker: this.worker } : {}),
      ...(this.warm ? { warm: this.warm } : {}),
    });
    for (const warning of plan.warnings) this.emit({ type: "log", level: "warn", msg: warning });
    // The model gets the guest's first question now, while the guest reads its task.
    this.models.askEarly();
    await sent;
  }

  private onLog(msg: LogMessage): void {
    this.emit({ type: "log", level: msg.level, msg: msg.msg.slice(0, 2000) });
  }

  private onFinal(msg: FinalMessage): void {
    if (this.tools.inProgress) {
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
      if (this.keep()) return;
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

  /**
   * Gives the process back to the run's pool for the agent's next subtask
   * with the same plan: only a local one that answered with nothing gone
   * wrong (no protocol error, error, breached limit or cancel). The guest
   * then waits for a new `start` and begins it from nothing.
   */
  private keep(): boolean {
    const { pool, signal, manifest, settings } = this.options;
    if (!pool || !this.local || this.troubled || this.failure || signal?.aborted) return false;
    if (this.final?.status !== "ok") return false;
    const workspace = this.options.workspace ?? settings.workspace;
    this.kept = pool.keep(this.plan, manifest, workspace, this.local);
    return this.kept;
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
      tool_calls: this.tools.count,
      side_effects: this.tools.sideEffects,
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
