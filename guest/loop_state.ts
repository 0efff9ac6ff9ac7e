/**
 * What both agent loops (native tool calls and JSON steps) keep while they
 * run: the conversation, the budgets spent, the artifacts written, and the
 * one path every tool call takes — checked here, decided by the host, run
 * here or there — so the two loops differ only in how they talk to the model.
 */
import {
  type ChatMessageWire,
  type FinalMessage,
  type LlmResultMessage,
  READ_SKILL_TOOL,
  type StartMessage,
  type ToolDecisionMessage,
  type ToolMode,
} from "./protocol_types.ts";
import { declaredTools } from "./prompt_rules.ts";

export interface ToolOutcome {
  ok: boolean;
  result: Record<string, unknown>;
  error: string;
}

/** What the loop needs from its surroundings (the real protocol, or a test double). */
export interface LoopPorts {
  askModel(messages: ChatMessageWire[], mode: ToolMode): Promise<LlmResultMessage>;
  /** `callId`: the model's id for a native call (the host may have allowed it ahead). */
  askHost(
    tool: string,
    args: Record<string, unknown>,
    reason: string,
    callId?: string,
  ): Promise<ToolDecisionMessage>;
  runTool(tool: string, args: Record<string, unknown>): Promise<ToolOutcome & { ms: number }>;
  reportToolDone(id: string, outcome: ToolOutcome & { ms: number }): void;
  /**
   * Whether a call may change something, judged before the host is asked
   * (when in doubt, yes): such a call waits for the reads still running, and
   * calls after it wait for it.
   */
  mayChange(tool: string, args: Record<string, unknown>): boolean;
}

export type Final = Omit<FinalMessage, "v" | "type">;

/**
 * One tool call on its way: refused before it ran (`refused` is what the
 * model is told), the end of the loop (`final`), or a call the host allowed,
 * with how to get its outcome and whether it changes anything.
 */
export type AdmittedCall =
  | { kind: "refused"; text: string }
  | { kind: "final"; final: Final }
  | {
    kind: "allowed";
    key: string;
    sideEffects: boolean;
    outcome: () => Promise<ToolOutcome>;
  };

/** Stable text of a call, to notice the model repeating itself. */
function callKey(tool: string, args: Record<string, unknown>): string {
  const sorted = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(sorted)
      : value && typeof value === "object"
      ? Object.fromEntries(
        Object.keys(value as object).sort().map((k) => [k, sorted((value as never)[k])]),
      )
      : value;
  return `${tool}:${JSON.stringify(sorted(args))}`;
}

/** One agent's run: its conversation, counters and artifacts. */
export class LoopState {
  readonly messages: ChatMessageWire[] = [];
  readonly artifacts = new Set<string>();
  private readonly okCalls: { key: string; outcome: ToolOutcome }[] = [];
  private readonly allowed: Set<string>;
  consecutiveErrors = 0;
  toolCalls = 0;
  lastError = "";

  constructor(readonly start: StartMessage, readonly ports: LoopPorts) {
    this.allowed = new Set(declaredTools(start).map((t) => t.name));
  }

  /** A final answer carrying the run's artifacts and one episodic memory. */
  finish(status: Final["status"], result: string, extra: Partial<Final> = {}, steps = 0): Final {
    return {
      status,
      result,
      artifacts: [...this.artifacts],
      memory_updates: [{
        kind: "episodic",
        content: `Task: ${this.start.task.slice(0, 300)}\nOutcome (${status}): ${
          (result || extra.error_message || "").slice(0, 600)
        }`,
      }],
      steps,
      ...extra,
    };
  }

  /** A step that went wrong: counted, remembered, and (when given) explained to the model. */
  mistake(error: string, explanation?: string): void {
    this.consecutiveErrors++;
    this.lastError = error;
    if (explanation) this.messages.push({ role: "user", content: explanation });
  }

  /** The end of the loop when too many steps in a row went wrong. */
  tooManyErrors(step: number): Final | undefined {
    const { max_consecutive_errors } = this.start.limits;
    if (this.consecutiveErrors < max_consecutive_errors) return undefined;
    return this.finish("error", "", {
      error_code: "agent_too_many_errors",
      error_message:
        `Stopped after ${this.consecutiveErrors} errors in a row; the last: ${this.lastError}`,
    }, step - 1);
  }

  /** The end of the loop when the model used every step without answering. */
  outOfSteps(): Final {
    const { max_steps } = this.start.limits;
    return this.finish("error", "", {
      error_code: "agent_step_budget_exceeded",
      error_message: `Agent could not produce a final answer within ${max_steps} steps.`,
    }, max_steps);
  }

  /**
   * Takes one call the model asked for through the checks every call passes:
   * a tool this agent has, not a third identical call, within the budget,
   * and allowed by the host. What an allowed call returned is recorded by
   * {@link record} once its outcome is in.
   */
  async admit(
    tool: string,
    args: Record<string, unknown>,
    reason: string,
    step: number,
    callId?: string,
  ): Promise<AdmittedCall> {
    if (!this.allowed.has(tool)) {
      const available = [...this.allowed].join(", ") || "none";
      this.mistake(`tool_not_allowed:${tool}`);
      return {
        kind: "refused",
        text: `Tool "${tool}" is not available. Available tools: ${available}.`,
      };
    }
    const key = callKey(tool, args);
    if (tool === READ_SKILL_TOOL) return this.readSkill(key, args);
    const repeated = this.repeatedAnswer(key);
    if (repeated !== undefined) {
      return { kind: "final", final: this.finish("ok", repeated, {}, step) };
    }
    const { max_tool_calls } = this.start.limits;
    if (this.toolCalls >= max_tool_calls) {
      return {
        kind: "final",
        final: this.finish("error", "", {
          error_code: "agent_tool_budget_exceeded",
          error_message: `Used all ${max_tool_calls} tool calls without a final answer.`,
        }, step),
      };
    }
    this.toolCalls++;
    const decision = await this.ports.askHost(tool, args, reason, callId);
    if (!decision.allowed) {
      this.mistake(`denied: ${decision.reason}`);
      return {
        kind: "refused",
        text: `The host refused this ${tool} call: ${decision.reason}. Choose another way.`,
      };
    }
    // A call the host ran itself comes back with its result; others run here.
    const hostOutcome = decision.outcome;
    const outcome = hostOutcome ? () => Promise.resolve(hostOutcome) : async () => {
      const ran = await this.ports.runTool(tool, decision.args);
      this.ports.reportToolDone(decision.id, ran);
      return ran;
    };
    // Unknown (an older host): treated as changing something, so it runs alone.
    const sideEffects = hostOutcome !== undefined || decision.side_effects !== false;
    return { kind: "allowed", key, sideEffects, outcome };
  }

  /**
   * `read_skill`, answered here: the text is one the host sent in `start`, so
   * there is nothing to decide, and it does not count against the tool budget.
   */
  private readSkill(key: string, args: Record<string, unknown>): AdmittedCall {
    const skill = this.start.skills?.find((s) => s.id === args.skill_id);
    const outcome: ToolOutcome = skill
      ? { ok: true, result: { skill_id: skill.id, guide: skill.text }, error: "" }
      : { ok: false, result: {}, error: `no skill "${String(args.skill_id)}"` };
    return { kind: "allowed", key, sideEffects: false, outcome: () => Promise.resolve(outcome) };
  }

  /** Records what an allowed call returned: artifacts, the error streak, repeats. */
  record(key: string, outcome: ToolOutcome): void {
    const { written, appended, path } = outcome.result;
    if ((written || appended) && typeof path === "string") this.artifacts.add(path);
    if (outcome.ok) {
      this.consecutiveErrors = 0;
      this.okCalls.push({ key, outcome });
    } else this.mistake(outcome.error);
  }

  /**
   * When the same successful call was already made twice in a row, what it
   * returned (its stdout, else its JSON) is the answer: a third time cannot help.
   */
  private repeatedAnswer(key: string): string | undefined {
    const { okCalls } = this;
    if (okCalls.slice(-2).filter((c) => c.key === key).length !== 2) return undefined;
    const last = okCalls[okCalls.length - 1].outcome.result;
    const stdout = typeof last.stdout === "string" ? last.stdout.trim() : "";
    return stdout || JSON.stringify(last);
  }
}

/** A failed model reply's text (what the loop remembers as the last error). */
export function modelError(reply: LlmResultMessage): string {
  return reply.error ?? "model call failed";
}
