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
import { declaredTools } from "../guest/prompt_rules.ts";
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

/** One session's model calls. */
export class SessionModelCalls {
  /** The tools a native request declares: the same for every step of the session, built once. */
  private declarations: ToolDeclarationWire[] | undefined;

  constructor(private readonly session: ModelCallsSession) {}

  /** Answers a model call through the caller's hook; a failure goes back with its code. */
  async onRequest(msg: LlmRequestMessage): Promise<void> {
    const { session } = this;
    const t0 = performance.now();
    const base = { type: "model_call", id: msg.id } as const;
    const reply = { v: PROTOCOL_VERSION, type: "llm_result", id: msg.id } as const;
    session.tools.forgetAhead();
    const hash = modelRequestHash(msg);
    const turn = session.replay.model(hash);
    if (turn.reply) {
      // Answered before: the journaled reply, with no model call and no cost.
      session.emit({ type: "step_replayed", step: turn.step, kind: "model" });
      await session.send({ ...reply, ok: true, ...replyFields(turn.reply) });
      return;
    }
    try {
      const answer = await session.options.hooks.complete({
        messages: msg.messages,
        schema: msg.schema,
        ...this.nativeTools(msg),
        signal: session.signal,
      });
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
