/**
 * Replaying a journaled conversation. The guest is deterministic given the
 * same start message and the same model replies, so while its requests match
 * the journal, the k-th model request is answered with the k-th journaled
 * reply (no model call) and a tool request with the journaled decision and
 * result (the call does not run again). A request that differs ends the
 * replay: the journal's rest is set aside and the conversation goes on live.
 * A side-effecting call that was allowed but never returned is in doubt: it
 * is neither replayed nor run again.
 */
import type { HostToolOutcome } from "../guest/protocol_types.ts";
import type { ModelReply, ToolDecision } from "./capsule_types.ts";
import type { ToolCallWire } from "../guest/protocol_types.ts";
import type { JournalStep, StepJournal } from "./step_journal.ts";

/** A model request: replayed (`reply` set) or to be asked live as step `step`. */
export interface ModelTurn {
  step: number;
  reply?: ModelReply;
}

/** A tool request: what the journal says about it. */
export type ToolTurn =
  | { step: number; kind: "replay"; decision: ToolDecision; outcome?: HostToolOutcome }
  | { step: number; kind: "in_doubt" }
  | { step: number; kind: "live"; rerun: boolean };

/** Where a replay left the journal, e.g. for a `journal_diverged` event. */
export type DivergeListener = (step: number, detail: string) => void;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

function asReply(value: unknown): ModelReply | null {
  if (!isObj(value) || typeof value.text !== "string" || !isObj(value.usage)) return null;
  const usage = value.usage;
  const calls = Array.isArray(value.tool_calls) ? value.tool_calls.map(asToolCall) : [];
  if (calls.some((c) => c === null)) return null;
  return {
    text: value.text,
    usage: {
      input_tokens: Number(usage.input_tokens) || 0,
      output_tokens: Number(usage.output_tokens) || 0,
    },
    ...(calls.length ? { tool_calls: calls as ToolCallWire[] } : {}),
  };
}

/** A journaled native tool call, or null when it is not one. */
function asToolCall(value: unknown): ToolCallWire | null {
  if (!isObj(value) || typeof value.id !== "string" || typeof value.name !== "string") return null;
  if (!isObj(value.args)) return null;
  const argsError = typeof value.args_error === "string" ? { args_error: value.args_error } : {};
  return { id: value.id, name: value.name, args: value.args, ...argsError };
}

function asDecision(value: unknown): ToolDecision | null {
  if (!isObj(value) || typeof value.allowed !== "boolean" || !isObj(value.args)) return null;
  return {
    allowed: value.allowed,
    args: value.args,
    reason: String(value.reason ?? ""),
    ...(typeof value.error_code === "string" ? { error_code: value.error_code } : {}),
  };
}

/** A journaled result; one too large to keep whole still counts as returned. */
function asOutcome(value: unknown): HostToolOutcome | null {
  if (!isObj(value)) return null;
  if (typeof value.ok !== "boolean" || !isObj(value.result)) {
    return { ok: true, result: { note: "the result was too large to keep" }, error: "", ms: 0 };
  }
  return {
    ok: value.ok,
    result: value.result,
    error: String(value.error ?? ""),
    ms: Number(value.ms) || 0,
  };
}

/** One attempt's view of the journal: replays what matches, records the rest. */
export class StepReplay {
  private readonly steps: JournalStep[];
  private cursor = 0;
  /** The last step replayed or recorded; a live step is the next one. */
  private last = 0;

  constructor(readonly journal: StepJournal, private readonly onDiverge: DivergeListener) {
    this.steps = journal.steps();
  }

  /** Journaled steps not yet replayed. */
  get pending(): number {
    return this.steps.length - this.cursor;
  }

  /** The k-th model request: the journaled reply when the request is the same. */
  model(requestHash: string): ModelTurn {
    const entry = this.steps[this.cursor];
    if (entry) {
      const reply = entry.kind === "llm" && entry.request_hash === requestHash && !entry.truncated
        ? asReply(entry.result)
        : null;
      if (reply) return (this.take(entry), { step: entry.step, reply });
      this.diverge(entry, entry.kind === "llm" ? "a different model request" : "a model request");
    }
    return { step: this.last + 1 };
  }

  /** A successful live model reply. */
  recordModel(step: number, requestHash: string, reply: ModelReply): void {
    this.journal.recordModel(step, requestHash, reply);
    this.last = step;
  }

  /** The k-th tool request: replayed, in doubt, or to be decided (and run) live. */
  tool(requestHash: string, tool: string): ToolTurn {
    const entry = this.steps[this.cursor];
    if (!entry) return { step: this.last + 1, kind: "live", rerun: false };
    if (entry.kind !== "tool" || entry.request_hash !== requestHash) {
      this.diverge(entry, `a ${tool} call${entry.kind === "tool" ? " with other args" : ""}`);
      return { step: this.last + 1, kind: "live", rerun: false };
    }
    const decision = asDecision(entry.decision);
    const outcome = entry.result === null ? null : asOutcome(entry.result);
    if (outcome || (decision && !decision.allowed)) {
      this.take(entry);
      const replayed = decision ?? { allowed: true, args: {}, reason: "replayed from the journal" };
      return {
        step: entry.step,
        kind: "replay",
        decision: replayed,
        ...(outcome ? { outcome } : {}),
      };
    }
    if (entry.side_effects) return (this.take(entry), { step: entry.step, kind: "in_doubt" });
    // Never decided, or a read-only call cut off in flight: it runs (again) live.
    this.setAside(entry.step);
    return { step: entry.step, kind: "live", rerun: entry.decision !== null };
  }

  recordToolRequest(
    step: number,
    requestHash: string,
    request: { tool: string; args: Record<string, unknown>; reason: string },
  ): void {
    this.journal.recordToolRequest(step, requestHash, request);
    this.last = step;
  }

  /** Runs `writes` as one commit when the journal can (see `StepJournal.together`). */
  together(writes: () => void): void {
    if (this.journal.together) this.journal.together(writes);
    else writes();
  }

  private take(entry: JournalStep): void {
    this.cursor++;
    this.last = entry.step;
  }

  private diverge(entry: JournalStep, got: string): void {
    const expected = entry.kind === "tool"
      ? `the ${String((entry.request as Obj | null)?.tool ?? "tool")} call of step ${entry.step}`
      : `the model request of step ${entry.step}`;
    this.setAside(entry.step);
    this.onDiverge(entry.step, `expected ${expected}, got ${got}`);
  }

  private setAside(step: number): void {
    this.journal.diverge(step);
    this.cursor = this.steps.length;
    this.last = step - 1;
  }
}

/** The side-effecting call a conversation was cut off in (allowed, never returned), if any. */
export function inFlightEffect(
  journal: StepJournal,
): { tool: string; args: Record<string, unknown> } | null {
  const last = journal.steps().at(-1);
  if (!last || last.kind !== "tool" || !last.side_effects || last.result !== null) return null;
  const request = isObj(last.request) ? last.request : {};
  return {
    tool: String(request.tool ?? "tool"),
    args: isObj(request.args) ? request.args : {},
  };
}
