/**
 * The agent loop that runs inside every capsule: ask the model (through the
 * host) for the next step, run the tool the host allowed, show the model what
 * happened, until it gives a final answer or a budget runs out.
 */
import {
  type ChatMessageWire,
  FATAL_LLM_ERROR_CODES,
  type FinalMessage,
  type LlmResultMessage,
  type StartMessage,
  type ToolDecisionMessage,
} from "./protocol_types.ts";

/** One step the model chooses, in the shape the step schema asks for. */
export interface StepAction {
  thought: string;
  action: "tool" | "final";
  tool: string;
  /** The tool's arguments as a JSON object text (a string keeps strict JSON schemas simple). */
  args_json: string;
  result: string;
  status: "ok" | "error";
}

export interface ToolOutcome {
  ok: boolean;
  result: Record<string, unknown>;
  error: string;
}

/** What the loop needs from its surroundings (the real protocol, or a test double). */
export interface LoopPorts {
  askModel(messages: ChatMessageWire[]): Promise<LlmResultMessage>;
  askHost(
    tool: string,
    args: Record<string, unknown>,
    reason: string,
  ): Promise<ToolDecisionMessage>;
  runTool(tool: string, args: Record<string, unknown>): Promise<ToolOutcome & { ms: number }>;
  reportToolDone(id: string, outcome: ToolOutcome & { ms: number }): void;
}

type Final = Omit<FinalMessage, "v" | "type">;

/** A failed model call after which another step cannot help (judged by its code, not its text). */
export function isFatalModelError(reply: LlmResultMessage): boolean {
  return !reply.ok && FATAL_LLM_ERROR_CODES.includes(reply.error_code ?? "");
}

/** Parses the model's reply into a step, accepting JSON wrapped in prose or a code fence. */
export function parseStep(text: string): StepAction | string {
  const candidates = [text, /```(?:json)?\s*([\s\S]*?)```/.exec(text)?.[1], firstObject(text)];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      const value = JSON.parse(candidate);
      if (value && typeof value === "object") return normalizeStep(value);
    } catch {
      // try the next candidate
    }
  }
  return "the reply is not a JSON object";
}

function firstObject(text: string): string | undefined {
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  return start >= 0 && end > start ? text.slice(start, end + 1) : undefined;
}

function normalizeStep(v: Record<string, unknown>): StepAction | string {
  const action = v.action === "final" || v.action === "tool" ? v.action : undefined;
  if (!action) return 'field "action" must be "tool" or "final"';
  const args = typeof v.args_json === "string"
    ? v.args_json
    : v.args && typeof v.args === "object"
    ? JSON.stringify(v.args)
    : "{}";
  return {
    thought: String(v.thought ?? ""),
    action,
    tool: String(v.tool ?? ""),
    args_json: args || "{}",
    result: String(v.result ?? ""),
    status: v.status === "error" ? "error" : "ok",
  };
}

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

/** A tool result as the model sees it: JSON, cut to `max` characters with a visible note. */
export function observation(tool: string, outcome: ToolOutcome, max: number): string {
  const body = JSON.stringify(
    outcome.ok ? outcome.result : { error: outcome.error, ...outcome.result },
  );
  const cut = body.length > max
    ? `${
      body.slice(0, max)
    }… [truncated: ${body.length} characters in all; ask for less, e.g. a smaller file range]`
    : body;
  return `Observation from ${tool} (${outcome.ok ? "ok" : "FAILED"}):\n${cut}`;
}

/**
 * Keeps the prompt from growing without bound: the system prompt, the task
 * and the last `keep` messages stay whole; older observations are shortened.
 */
export function compactHistory(
  messages: ChatMessageWire[],
  keep = 8,
  older = 400,
): ChatMessageWire[] {
  const head = messages.slice(0, 2);
  const body = messages.slice(2);
  const cutoff = body.length - keep;
  return [
    ...head,
    ...body.map((m, i) =>
      i < cutoff && m.content.length > older
        ? { ...m, content: `${m.content.slice(0, older)}… [older output shortened]` }
        : m
    ),
  ];
}

function taskText(start: StartMessage): string {
  const context = Object.keys(start.context).length
    ? `\n\nContext (JSON):\n${JSON.stringify(start.context, null, 2)}`
    : "";
  return `Task:\n${start.task}${context}\n\nReply with your first step as a JSON object.`;
}

/** Parses a step's args_json into an object, or says why it is not one. */
function parseArgs(
  argsJson: string,
): { ok: true; args: Record<string, unknown> } | { ok: false; error: string } {
  try {
    const value = JSON.parse(argsJson);
    if (!value || typeof value !== "object" || Array.isArray(value)) {
      throw new Error("not an object");
    }
    return { ok: true, args: value };
  } catch (error) {
    return { ok: false, error: `invalid args_json: ${(error as Error).message}` };
  }
}

/** Builds final answers that carry the run's artifacts and one episodic memory. */
function finisher(start: StartMessage, artifacts: Set<string>) {
  return (
    status: Final["status"],
    result: string,
    extra: Partial<Final> = {},
    steps = 0,
  ): Final => ({
    status,
    result,
    artifacts: [...artifacts],
    memory_updates: [{
      kind: "episodic",
      content: `Task: ${start.task.slice(0, 300)}\nOutcome (${status}): ${
        (result || extra.error_message || "").slice(0, 600)
      }`,
    }],
    steps,
    ...extra,
  });
}

/** The model's final step as the loop's answer; status "error" means it found the task infeasible. */
function finalAnswer(finish: ReturnType<typeof finisher>, step: StepAction, n: number): Final {
  return step.status === "error"
    ? finish("error", step.result, {
      error_code: "agent_self_reported_infeasible",
      error_message: step.result,
    }, n)
    : finish("ok", step.result, {}, n);
}

/**
 * When the same successful call was already made twice in a row, what it
 * returned (its stdout, else its JSON) is the answer: a third time cannot help.
 */
function repeatedAnswer(
  okCalls: { key: string; outcome: ToolOutcome }[],
  key: string,
): string | undefined {
  if (okCalls.slice(-2).filter((c) => c.key === key).length !== 2) return undefined;
  const last = okCalls[okCalls.length - 1].outcome.result;
  const stdout = typeof last.stdout === "string" ? last.stdout.trim() : "";
  return stdout || JSON.stringify(last);
}

/** Runs the loop to a final answer. */
export async function runLoop(start: StartMessage, ports: LoopPorts): Promise<Final> {
  const { limits } = start;
  const allowed = new Set(start.tools.map((t) => t.name));
  const messages: ChatMessageWire[] = [
    { role: "system", content: start.system_prompt },
    { role: "user", content: taskText(start) },
  ];
  const artifacts = new Set<string>();
  const okCalls: { key: string; outcome: ToolOutcome }[] = [];
  let consecutiveErrors = 0;
  let toolCalls = 0;
  let lastError = "";
  const finish = finisher(start, artifacts);
  /** A step that went wrong: counted, remembered, and explained to the model. */
  const mistake = (error: string, explanation?: string) => {
    consecutiveErrors++;
    lastError = error;
    if (explanation) messages.push({ role: "user", content: explanation });
  };

  for (let step = 1; step <= limits.max_steps; step++) {
    if (consecutiveErrors >= limits.max_consecutive_errors) {
      return finish("error", "", {
        error_code: "agent_too_many_errors",
        error_message: `Stopped after ${consecutiveErrors} errors in a row; the last: ${lastError}`,
      }, step - 1);
    }
    const reply = await ports.askModel(compactHistory(messages));
    if (!reply.ok) {
      const error = reply.error ?? "model call failed";
      if (isFatalModelError(reply)) {
        return finish("error", "", { error_code: "agent_llm_failure", error_message: error }, step);
      }
      mistake(error);
      continue;
    }
    const text = reply.message ?? "";
    messages.push({ role: "assistant", content: text });
    const parsed = parseStep(text);
    if (typeof parsed === "string") {
      mistake(
        `invalid step: ${parsed}`,
        `Your reply was not a valid step (${parsed}). Reply with one JSON object as instructed.`,
      );
      continue;
    }
    if (parsed.action === "final") {
      if (parsed.result.trim()) return finalAnswer(finish, parsed, step);
      mistake(
        "empty final result",
        "Your final answer was empty. Give the actual result in the `result` field.",
      );
      continue;
    }

    // A tool step.
    if (!allowed.has(parsed.tool)) {
      const available = [...allowed].join(", ") || "none";
      mistake(
        `tool_not_allowed:${parsed.tool}`,
        `Tool "${parsed.tool}" is not available. Available tools: ${available}.`,
      );
      continue;
    }
    const parsedArgs = parseArgs(parsed.args_json);
    if (!parsedArgs.ok) {
      const { error } = parsedArgs;
      mistake(
        error,
        `args_json must be a JSON object text, e.g. {"op":"list","path":"."}: ${error}`,
      );
      continue;
    }
    const { args } = parsedArgs;
    const key = callKey(parsed.tool, args);
    const repeated = repeatedAnswer(okCalls, key);
    if (repeated !== undefined) return finish("ok", repeated, {}, step);
    if (toolCalls >= limits.max_tool_calls) {
      return finish("error", "", {
        error_code: "agent_tool_budget_exceeded",
        error_message: `Used all ${limits.max_tool_calls} tool calls without a final answer.`,
      }, step);
    }
    toolCalls++;
    const decision = await ports.askHost(parsed.tool, args, parsed.thought);
    if (!decision.allowed) {
      mistake(
        `denied: ${decision.reason}`,
        `The host refused this ${parsed.tool} call: ${decision.reason}. Choose another way.`,
      );
      continue;
    }
    // A call the host ran itself comes back with its result; others run here.
    const outcome = decision.outcome ?? await ports.runTool(parsed.tool, decision.args);
    if (!decision.outcome) ports.reportToolDone(decision.id, outcome);
    const { written, appended, path } = outcome.result;
    if ((written || appended) && typeof path === "string") artifacts.add(path);
    if (outcome.ok) {
      consecutiveErrors = 0;
      okCalls.push({ key, outcome });
    } else mistake(outcome.error);
    messages.push({
      role: "user",
      content: observation(parsed.tool, outcome, limits.max_observation_chars),
    });
  }
  return finish("error", "", {
    error_code: "agent_step_budget_exceeded",
    error_message: `Agent could not produce a final answer within ${limits.max_steps} steps.`,
  }, limits.max_steps);
}
