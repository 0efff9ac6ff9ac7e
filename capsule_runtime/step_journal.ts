/**
 * The step journal as the capsule host sees it: where one conversation's
 * start message, model replies and tool calls (request, decision, result)
 * are recorded as they happen, and read back to replay them. The coordinator
 * gives a SQLite one (store/journal_repo.ts); without one, `runCapsule`
 * keeps a journal in memory so its own relaunches replay too.
 */
import { createHash } from "node:crypto";
import type { HostToolOutcome, LlmRequestMessage } from "../guest/protocol_types.ts";
import type { ModelReply, ToolDecision } from "./capsule_types.ts";

/** One recorded model or tool step; JSON fields are null when absent or cut. */
export interface JournalStep {
  step: number;
  kind: string;
  request_hash: string;
  /** tool steps: `{tool, args, reason}` */
  request: unknown;
  /** tool steps: the `ToolDecision`, null until decided */
  decision: unknown;
  /** model steps: the `ModelReply`; tool steps: the outcome, null until the call returned */
  result: unknown;
  /** An allowed tool call with side effects. */
  side_effects: boolean;
  /** Some text was too long to keep whole: the step cannot be replayed. */
  truncated: boolean;
}

/** Where a conversation is recorded; `step` counts model and tool steps from 1. */
export interface StepJournal {
  /** The start message the conversation began with, or null for a new conversation. */
  start(): unknown;
  /** Its model and tool steps in order. */
  steps(): JournalStep[];
  recordStart(start: unknown): void;
  recordModel(step: number, requestHash: string, reply: ModelReply): void;
  recordToolRequest(
    step: number,
    requestHash: string,
    request: { tool: string; args: Record<string, unknown>; reason: string },
  ): void;
  recordToolDecision(step: number, decision: ToolDecision, sideEffects: boolean): void;
  recordToolResult(step: number, outcome: HostToolOutcome): void;
  /** Sets aside the steps from `step` on: the conversation went another way there. */
  diverge(step: number): void;
  /**
   * Runs `writes` (journal writes, and whatever else they write to the same
   * database) as one commit. Only for writes that nothing sends before: the
   * commit comes at the end.
   */
  together?<T>(writes: () => T): T;
}

/** Largest tool result kept in the journal; a bigger one is kept as a marked preview. */
const MAX_JOURNALED_RESULT_CHARS = 48 * 1024;

/** A tool outcome small enough for one journal entry. */
export function journaledOutcome(outcome: HostToolOutcome): HostToolOutcome {
  const text = JSON.stringify(outcome.result);
  const result = text.length <= MAX_JOURNALED_RESULT_CHARS
    ? outcome.result
    : { truncated: true, chars: text.length, preview: text.slice(0, 8000) };
  return { ok: outcome.ok, result, error: outcome.error.slice(0, 4000), ms: outcome.ms };
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** What identifies a model request: everything the model is shown. */
export function modelRequestHash(msg: LlmRequestMessage): string {
  // JSON-step requests hash as before native tools existed, so older journals still replay.
  const parts = msg.native_tools
    ? [msg.messages, null, "native"]
    : [msg.messages, msg.schema ?? null];
  return sha256(JSON.stringify(parts));
}

/** What identifies a tool request: the tool and its args as the guest sent them. */
export function toolRequestHash(tool: string, args: Record<string, unknown>): string {
  return sha256(JSON.stringify([tool, args]));
}

/** A journal kept in memory for one `runCapsule` call (its relaunches replay from it). */
export class MemoryJournal implements StepJournal {
  private startMessage: unknown = null;
  private rows: JournalStep[] = [];

  start(): unknown {
    return this.startMessage;
  }

  steps(): JournalStep[] {
    return this.rows.map((r) => ({ ...r }));
  }

  recordStart(start: unknown): void {
    this.startMessage = structuredClone(start);
  }

  recordModel(step: number, requestHash: string, reply: ModelReply): void {
    this.rows.push(row(step, "llm", requestHash, { result: structuredClone(reply) }));
  }

  recordToolRequest(
    step: number,
    requestHash: string,
    request: { tool: string; args: Record<string, unknown>; reason: string },
  ): void {
    this.rows.push(row(step, "tool", requestHash, { request: structuredClone(request) }));
  }

  recordToolDecision(step: number, decision: ToolDecision, sideEffects: boolean): void {
    const r = this.find(step);
    if (r) (r.decision = structuredClone(decision), r.side_effects = sideEffects);
  }

  recordToolResult(step: number, outcome: HostToolOutcome): void {
    const r = this.find(step);
    if (r) r.result = structuredClone(outcome);
  }

  diverge(step: number): void {
    this.rows = this.rows.filter((r) => r.step < step);
  }

  private find(step: number): JournalStep | undefined {
    return this.rows.find((r) => r.step === step && r.kind === "tool");
  }
}

function row(
  step: number,
  kind: string,
  requestHash: string,
  fields: { request?: unknown; result?: unknown },
): JournalStep {
  return {
    step,
    kind,
    request_hash: requestHash,
    request: fields.request ?? null,
    decision: null,
    result: fields.result ?? null,
    side_effects: false,
    truncated: false,
  };
}
