/**
 * The model calls of one capsule session: each `llm_request` is answered from
 * the step journal when it was asked before (the journaled reply, with no call
 * and no cost) or through the caller's `complete` hook, declaring the capsule's
 * own tools, never the guest's. A live reply's tool calls are fitted to the
 * protocol (wire_tool_calls.ts); then it is journaled, sent with the reads the
 * host allows ahead (tool_preapproval.ts), and recorded.
 */
import {
  type HostMessage,
  type LlmRequestMessage,
  PROTOCOL_VERSION,
  type StartMessage,
} from "./protocol.ts";
import type {
  CapsuleEvent,
  ModelReply,
  RunCapsuleOptions,
  ToolDeclarationWire,
} from "./capsule_types.ts";
import { errorText, modelErrorCode, roundMs } from "./_format.ts";
import { modelRequestHash } from "./step_journal.ts";
import type { StepReplay } from "./step_replay.ts";
import type { SessionToolCalls } from "./session_tool_calls.ts";
import { declaredTools, firstMessages } from "../guest/prompt_rules.ts";
import { wireToolCalls } from "./wire_tool_calls.ts";

/** What the model calls need of their session. */
export interface ModelCallsSession {
  readonly options: RunCapsuleOptions;
  readonly start: StartMessage;
  readonly replay: StepReplay;
  /** The session's tool calls: approvals ahead are made and voided there. */
  readonly tools: SessionToolCalls;
  /** Aborted when the session stops: a model call in flight stops with it. */
  readonly signal: AbortSignal;
  emit(event: CapsuleEvent): void;
  send(message: HostMessage): Promise<unknown>;
}

/** A model reply's fields in an `llm_result`. */
function replyFields(reply: ModelReply) {
  return {
    message: reply.text,
    usage: reply.usage,
    ...(reply.tool_calls?.length ? { tool_calls: reply.tool_calls } : {}),
  };
}

/** The first model call, asked before the guest asks it (see `askEarly`). */
interface EarlyCall {
  hash: string;
  began: number;
  answer: ReturnType<RunCapsuleOptions["hooks"]["complete"]>;
  abort: AbortController;
}

/** One session's model calls. */
export class SessionModelCalls {
  /** The tools a native request declares: the same for every step of the session, built once. */
  private declarations: ToolDeclarationWire[] | undefined;
  private early: EarlyCall | null = null;
  /** At most one early call a session, whatever the guest does. */
  private askedEarly = false;

  constructor(private readonly session: ModelCallsSession) {}

  /**
   * Asks the model the guest's first question as the guest is handed its
   * `start`, instead of a pipe round trip later: the stock guest's first
   * native request is a pure function of that message (guest/prompt_rules.ts
   * `firstMessages`). Its answer is used only for a request that hashes the
   * same; any other first request (a guest that is not the stock one, a model
   * that needs JSON steps) is asked as usual and this call is abandoned.
   * Not for a conversation the journal replays, nor a guest script of the
   * caller's own.
   */
  askEarly(): void {
    const { session } = this;
    const { start, options } = session;
    if (this.askedEarly || options.guestEntry || session.replay.pending > 0) return;
    if ((start.tool_mode ?? "json") !== "native") return;
    this.askedEarly = true;
    const msg = {
      v: PROTOCOL_VERSION,
      type: "llm_request",
      id: "",
      messages: firstMessages(start, "native"),
      native_tools: true,
    } as const;
    const abort = new AbortController();
    const answer = this.ask(msg, AbortSignal.any([session.signal, abort.signal]));
    answer.catch(() => {}); // read (or dropped) when the guest asks
    this.early = { hash: modelRequestHash(msg), began: performance.now(), answer, abort };
  }

  /** Drops an early call the guest never asked for (the session ended, or it asked another). */
  dropEarly(): void {
    this.early?.abort.abort("not asked");
    this.early = null;
  }

  /** The early call, when the guest's request `hash` is the one it asked; else it is dropped. */
  private claimEarly(hash: string): EarlyCall | null {
    const early = this.early?.hash === hash ? this.early : null;
    if (!early) this.dropEarly();
    this.early = null;
    return early;
  }

  /** The caller's hook, asked `msg` with the capsule's own tools. */
  private ask(msg: LlmRequestMessage, signal: AbortSignal) {
    return this.session.options.hooks.complete({
      messages: msg.messages,
      schema: msg.schema,
      ...this.nativeTools(msg),
      signal,
    });
  }

  /** Answers a model call through the caller's hook; a failure goes back with its code. */
  async onRequest(msg: LlmRequestMessage): Promise<void> {
    const { session } = this;
    const base = { type: "model_call", id: msg.id } as const;
    const reply = { v: PROTOCOL_VERSION, type: "llm_result", id: msg.id } as const;
    session.tools.forgetAhead();
    const hash = modelRequestHash(msg);
    const early = this.claimEarly(hash);
    const t0 = early?.began ?? performance.now();
    const turn = session.replay.model(hash);
    if (turn.reply) {
      // Answered before: the journaled reply, with no model call and no cost.
      session.emit({ type: "step_replayed", step: turn.step, kind: "model" });
      await session.send({ ...reply, ok: true, ...replyFields(turn.reply) });
      return;
    }
    try {
      const answer = await (early?.answer ?? this.ask(msg, session.signal));
      const ms = roundMs(performance.now() - t0);
      const calls = answer.tool_calls?.length ? wireToolCalls(answer.tool_calls, hash) : [];
      const recorded = {
        text: answer.text,
        usage: answer.usage,
        ...(calls.length ? { tool_calls: calls } : {}),
      };
      session.replay.recordModel(turn.step, hash, recorded);
      // Calls that change nothing are checked now, so the guest need not ask (tool_preapproval.ts).
      const preapproved = msg.native_tools && !msg.schema && calls.length
        ? await session.tools.preapprove(calls)
        : [];
      // Journaled, then sent; recorded while the guest reads it.
      const sent = session.send({
        ...reply,
        ok: true,
        ...replyFields(recorded),
        ...(preapproved.length ? { preapproved } : {}),
      });
      session.emit({ ...base, ok: true, ms, usage: answer.usage });
      await sent;
    } catch (error) {
      const text = errorText(error);
      session.emit({ ...base, ok: false, ms: roundMs(performance.now() - t0), error: text });
      await session.send({ ...reply, ok: false, error: text, error_code: modelErrorCode(error) });
    }
  }

  /**
   * The tools a native request declares: the host's list for this capsule
   * (a guest cannot add one), and the stable system prefix to cache.
   */
  private nativeTools(msg: LlmRequestMessage) {
    if (!msg.native_tools || msg.schema) return {};
    const tools = this.declarations ??= declaredTools(this.session.start).map((t) => {
      // The `$schema` URI says nothing the provider needs (and Gemini refuses it).
      const { $schema: _uri, ...parameters } = t.args_schema;
      return { name: t.name, description: t.description, parameters };
    });
    const cache_prefix = msg.messages[0]?.role === "system" ? 1 : 0;
    return { ...(tools.length ? { tools } : {}), cache_prefix };
  }
}
