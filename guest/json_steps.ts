/**
 * The JSON-step loop, for models and servers without native tool calling:
 * every turn the model answers one JSON object (`StepAction`) naming one
 * tool call or the final answer, and sees each result as an Observation.
 */
import type { LlmResultMessage, StartMessage } from "./protocol_types.ts";
import { type Final, type LoopPorts, LoopState, modelError } from "./loop_state.ts";
import { compactHistory, isFatalModelError, observation } from "./conversation.ts";
import { systemMessages, taskMessage } from "./prompt_rules.ts";

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

/** What one model reply means for the loop: the end, or go on to the next step. */
async function takeStep(
  state: LoopState,
  reply: LlmResultMessage,
  step: number,
): Promise<Final | undefined> {
  const text = reply.message ?? "";
  state.messages.push({ role: "assistant", content: text });
  const parsed = parseStep(text);
  if (typeof parsed === "string") {
    state.mistake(
      `invalid step: ${parsed}`,
      `Your reply was not a valid step (${parsed}). Reply with one JSON object as instructed.`,
    );
    return undefined;
  }
  if (parsed.action === "final") {
    if (!parsed.result.trim()) {
      state.mistake(
        "empty final result",
        "Your final answer was empty. Give the actual result in the `result` field.",
      );
      return undefined;
    }
    return parsed.status === "error"
      ? state.finish("error", parsed.result, {
        error_code: "agent_self_reported_infeasible",
        error_message: parsed.result,
      }, step)
      : state.finish("ok", parsed.result, {}, step);
  }
  const args = parseArgs(parsed.args_json);
  if (!args.ok) {
    state.mistake(
      args.error,
      `args_json must be a JSON object text, e.g. {"op":"list","path":"."}: ${args.error}`,
    );
    return undefined;
  }
  const call = await state.admit(parsed.tool, args.args, parsed.thought, step);
  if (call.kind === "final") return call.final;
  if (call.kind === "refused") {
    state.messages.push({ role: "user", content: call.text });
    return undefined;
  }
  const outcome = await call.outcome();
  state.record(call.key, outcome);
  const { max_observation_chars } = state.start.limits;
  state.messages.push({
    role: "user",
    content: observation(parsed.tool, outcome, max_observation_chars),
  });
  return undefined;
}

/** Runs the JSON-step loop to a final answer. */
export async function runJsonLoop(start: StartMessage, ports: LoopPorts): Promise<Final> {
  const state = new LoopState(start, ports);
  state.messages.push(...systemMessages(start, "json"), taskMessage(start, "json"));
  for (let step = 1; step <= start.limits.max_steps; step++) {
    const stop = state.tooManyErrors(step);
    if (stop) return stop;
    const reply = await ports.askModel(compactHistory(state.messages), "json");
    if (!reply.ok) {
      if (isFatalModelError(reply)) {
        const error_message = modelError(reply);
        return state.finish("error", "", { error_code: "agent_llm_failure", error_message }, step);
      }
      state.mistake(modelError(reply));
      continue;
    }
    const final = await takeStep(state, reply, step);
    if (final) return final;
  }
  return state.outOfSteps();
}
