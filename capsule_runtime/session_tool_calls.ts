/**
 * The tool calls of one capsule session: counts each against the limit,
 * answers `tool_decision` from the step journal (a call made before does not
 * run again) or by deciding it (running a program here), journals every part,
 * and accepts `tool_done` only for calls the guest was allowed and has not
 * reported yet.
 */
import type { ToolName } from "./manifest.ts";
import { hasSideEffects } from "../tools/catalog.ts";
import {
  type HostMessage,
  PROTOCOL_VERSION,
  type StartMessage,
  type ToolDoneMessage,
  type ToolRequestMessage,
} from "./protocol.ts";
import type { LaunchPlan } from "./launcher.ts";
import {
  type CapsuleEvent,
  ProgramLostError,
  type RemoteLaunch,
  type RunCapsuleOptions,
} from "./capsule_types.ts";
import type { HostToolOutcome, PreapprovedCall, ToolCallWire } from "../guest/protocol_types.ts";
import { decideToolCall, refusal, type ToolDecisionDeps } from "./tool_decision.ts";
import { roundMs } from "./_format.ts";
import { guestTool } from "../guest/tools/registry.ts";
import type { ToolContext } from "../guest/tools/run.ts";
import { inDoubtMessage, runProgram, sessionToolDeps } from "./session_tools.ts";
import { boundedResult } from "./_outcome.ts";
import { journaledOutcome, toolRequestHash } from "./step_journal.ts";
import type { StepReplay, ToolTurn } from "./step_replay.ts";
import { isMcpTool, type McpToolset } from "./mcp_tools.ts";
import { Preapprovals } from "./tool_preapproval.ts";

/** Calls past the limit still answered (refused) before the capsule is stopped. */
const TOOL_LIMIT_GRACE = 2;

/** What the tool calls need of their session. */
export interface ToolCallsSession {
  readonly options: RunCapsuleOptions;
  readonly plan: LaunchPlan;
  readonly start: StartMessage;
  readonly replay: StepReplay;
  /** Aborted when the session stops; programs in flight end with it. */
  readonly signal: AbortSignal;
  emit(event: CapsuleEvent): void;
  send(message: HostMessage): Promise<unknown>;
  /** Stops the capsule with a failure. */
  stop(code: string, message: string): void;
  protocolError(error: string): void;
  /** The agent's MCP servers, decided and run here (mcp_tools.ts). */
  readonly mcp?: McpToolset | null;
  /** Set when the capsule runs on a worker: its programs run there too. */
  readonly remoteProgram?: RemoteLaunch["runProgram"];
}

/** One session's tool calls and what the host has seen of them. */
export class SessionToolCalls {
  /** Calls requested so far, refused ones included. */
  count = 0;
  /** Whether an allowed call had side effects. */
  sideEffects = false;
  private readonly toolNames = new Map<string, string>();
  /**
   * The calls the guest was allowed to run and has not reported yet (id →
   * journal step): only these may be reported with `tool_done`, once each.
   * Several at once when the model's calls change nothing and run concurrently.
   */
  private readonly pending = new Map<string, number>();
  private readonly decisionDeps: ToolDecisionDeps;
  /** Where the tools run and what they may touch (the host policy checks against it). */
  private readonly toolContext: ToolContext;
  /** Calls allowed as their model reply was relayed (tool_preapproval.ts). */
  private readonly ahead = new Preapprovals();

  constructor(private readonly session: ToolCallsSession) {
    const { options, plan, start, signal } = session;
    const emit = (event: CapsuleEvent) => session.emit(event);
    const tools = sessionToolDeps(options, plan, start, emit, signal);
    const mcp = session.mcp;
    const check = tools.deps.check;
    this.decisionDeps = {
      ...tools.deps,
      // An mcp__ name is the toolset's to decide (refused when not granted and served).
      check: (tool, args) =>
        isMcpTool(tool)
          ? Promise.resolve(
            mcp?.check(tool, args) ?? { allowed: false, reason: `${tool} is not granted` },
          )
          : check(tool, args),
    };
    this.toolContext = tools.ctx;
  }

  /** Whether the guest is running a call it has not reported yet. */
  get inProgress(): boolean {
    return this.pending.size > 0;
  }

  /** At the guest's next model request: approvals ahead it did not claim are void. */
  forgetAhead(): void {
    this.ahead.clear();
  }

  /**
   * The calls of a live native reply the guest may run at once: those that
   * change nothing, checked now as their requests would be. None when the
   * caller decides calls itself (its `decideTool` is asked per request).
   */
  async preapprove(calls: readonly ToolCallWire[]): Promise<PreapprovedCall[]> {
    const { options } = this.session;
    if (options.hooks.decideTool) return [];
    const budget = { used: this.count, limit: options.settings.maxToolCallsPerAgent };
    try {
      return await this.ahead.approve(calls, this.decisionDeps.check, budget);
    } catch {
      // A check that throws allows nothing ahead: each call is asked about as before.
      this.ahead.clear();
      return [];
    }
  }

  /**
   * Counts the call against the limit, then answers `tool_decision`: from the
   * journal when the call was made before (it does not run again), or by
   * deciding it (and running a program here) and journaling each part.
   */
  async onRequest(msg: ToolRequestMessage): Promise<void> {
    const { session } = this;
    // An id names one call: used again, it would take over the first call's step and report.
    if (this.toolNames.has(msg.id)) {
      session.protocolError(`tool_request reuses the id '${msg.id}' of an earlier call`);
      return;
    }
    if (msg.preapproved) return this.onPreapproved(msg);
    // Asked about the usual way, a call allowed ahead is decided now and may not be claimed too.
    this.ahead.drop(msg.call_id);
    const limit = session.options.settings.maxToolCallsPerAgent;
    this.count++;
    this.toolNames.set(msg.id, msg.tool);
    const { tool, args, reason } = msg;
    const hash = toolRequestHash(tool, args);
    const turn = session.replay.tool(hash, tool);
    if (turn.kind === "in_doubt") {
      session.stop("side_effect_in_doubt", inDoubtMessage(tool, args));
      return;
    }
    if (turn.kind === "replay") await this.replayTool(msg, turn);
    else {
      if (turn.rerun) session.emit({ type: "step_rerun", step: turn.step, tool, args });
      session.replay.recordToolRequest(turn.step, hash, { tool, args, reason });
      await this.decideAndAnswer(msg, turn.step);
    }
    if (this.count > limit + TOOL_LIMIT_GRACE) {
      session.stop(
        "capsule_tool_limit",
        `The capsule kept calling tools past its limit of ${limit}.`,
      );
    }
  }

  /**
   * A call the guest started on the host's approval ahead: journaled and
   * recorded as if decided now, with no answer (the guest is not waiting).
   */
  private onPreapproved(msg: ToolRequestMessage): void {
    const { session } = this;
    const { id, tool, args, reason } = msg;
    const withinLimit = this.count < session.options.settings.maxToolCallsPerAgent;
    const ahead = withinLimit ? this.ahead.claim(msg.call_id, tool, args) : null;
    // The claim compared the request's hash with the approved one: the same.
    const turn = ahead ? session.replay.tool(ahead.hash, tool) : null;
    if (!ahead || turn?.kind !== "live" || turn.rerun) {
      session.protocolError(
        `tool_request for '${
          tool.slice(0, 64)
        }' marked preapproved, which the host did not allow ahead`,
      );
      return;
    }
    this.count++;
    this.toolNames.set(id, tool);
    // One commit: nothing goes to the guest here (it ran the call already).
    session.replay.together(() => {
      session.replay.recordToolRequest(turn.step, ahead.hash, { tool, args, reason });
      session.emit({ type: "tool_requested", id, tool, args, reason });
      const decision = { allowed: true, args: ahead.args, reason: "allowed" };
      session.replay.journal.recordToolDecision(turn.step, decision, false);
      this.pending.set(id, turn.step);
      session.emit({ type: "tool_decided", id, tool, ...decision, ms: ahead.ms });
    });
  }

  /** A call made before: its journaled decision and result go back; nothing runs. */
  private async replayTool(
    msg: ToolRequestMessage,
    turn: Extract<ToolTurn, { kind: "replay" }>,
  ): Promise<void> {
    const { decision, outcome } = turn;
    if (decision.allowed && this.effects(msg.tool, decision.args)) this.sideEffects = true;
    this.session.emit({
      type: "step_replayed",
      step: turn.step,
      kind: "tool",
      tool: msg.tool,
      args: decision.args,
      allowed: decision.allowed,
      ok: outcome?.ok ?? false,
      error: outcome ? outcome.error : `refused: ${decision.reason}`,
    });
    await this.session.send({
      v: PROTOCOL_VERSION,
      type: "tool_decision",
      id: msg.id,
      ...decision,
      ...(outcome ? { outcome } : {}),
    });
  }

  /** Whether an allowed call may change something (an MCP tool: unless annotated read-only). */
  private effects(tool: string, args: Record<string, unknown>): boolean {
    if (isMcpTool(tool)) return this.session.mcp?.sideEffects(tool) ?? true;
    return hasSideEffects(tool as ToolName, args);
  }

  /** Decides a live call, runs a program here, and answers `tool_decision`. */
  private async decideAndAnswer(msg: ToolRequestMessage, step: number): Promise<void> {
    const { session } = this;
    const limit = session.options.settings.maxToolCallsPerAgent;
    const { id, tool, args, reason } = msg;
    session.emit({ type: "tool_requested", id, tool, args, reason });
    const t0 = performance.now();
    const decision = this.count > limit
      ? refusal("tool_limit", `tool call limit of ${limit} reached`)
      : await decideToolCall(msg, this.decisionDeps);
    const effects = decision.allowed && this.effects(tool, decision.args);
    if (effects) this.sideEffects = true;
    // Journaled before the call can run: a crash from here on leaves it "in flight".
    session.replay.journal.recordToolDecision(step, decision, effects);
    const decided: CapsuleEvent = {
      type: "tool_decided",
      id,
      tool,
      allowed: decision.allowed,
      reason: decision.reason,
      // A refused call is recorded with what the agent asked for (a refusal carries no args).
      args: decision.allowed ? decision.args : args,
      ms: roundMs(performance.now() - t0),
    };
    const answer = {
      v: PROTOCOL_VERSION,
      type: "tool_decision",
      id,
      ...decision,
      ...(decision.allowed ? { side_effects: effects } : {}),
    } as const;
    const hostRun = decision.allowed && (guestTool(tool)?.permission === "exec" || isMcpTool(tool));
    if (!hostRun) {
      if (decision.allowed) this.pending.set(id, step);
      // The answer goes first: the guest starts the call while the host records the
      // decision (synchronously, so before it reads the guest's next message).
      const sent = session.send(answer);
      session.emit(decided);
      await sent;
      return;
    }
    session.emit(decided);
    // A program the tool starts runs in its own sandbox, started here, so it can
    // never reach the capsule's protocol pipe; the guest gets the result back.
    const outcome = await this.runOnHost(id, tool, decision.args, step);
    if (outcome) await session.send({ ...answer, outcome });
  }

  /** Runs an exec tool's program in its own sandbox and reports it like a guest-run call. */
  private async runOnHost(id: string, tool: string, args: Record<string, unknown>, step: number) {
    const { session } = this;
    let outcome: HostToolOutcome;
    try {
      outcome = isMcpTool(tool) && session.mcp
        ? await session.mcp.call(tool, args, session.signal)
        : session.remoteProgram
        ? await session.remoteProgram(tool, args, session.signal)
        : await runProgram(this.toolContext, session.plan, tool, args, session.signal);
    } catch (error) {
      if (!(error instanceof ProgramLostError)) throw error;
      // Not journaled: the call stays in flight, so the relaunch sees it as in doubt.
      session.stop("capsule_crashed", error.message);
      return undefined;
    }
    session.replay.journal.recordToolResult(step, journaledOutcome(outcome));
    session.emit({
      type: "tool_done",
      id,
      tool,
      ...outcome,
      result: boundedResult(outcome.result),
    });
    return outcome;
  }

  /**
   * The guest's report of a call it was allowed to run. Any other id (a
   * replay, a guess, a forgery, a call already reported) is a protocol error
   * and is not stored.
   */
  onDone(msg: ToolDoneMessage): void {
    const step = this.pending.get(msg.id);
    if (step === undefined) {
      this.session.protocolError(
        `tool_done for '${msg.id.slice(0, 40)}', which is not a call in progress`,
      );
      return;
    }
    this.pending.delete(msg.id);
    const { ok, result, error, ms } = msg;
    const { replay } = this.session;
    // One commit for the result and what listeners record of it; nothing is sent back.
    replay.together(() => {
      replay.journal.recordToolResult(step, journaledOutcome({ ok, result, error, ms }));
      this.session.emit({
        type: "tool_done",
        id: msg.id,
        tool: this.toolNames.get(msg.id) ?? "?",
        ok: msg.ok,
        error: msg.error.slice(0, 4000),
        ms: msg.ms,
        result: boundedResult(msg.result),
      });
    });
  }
}
