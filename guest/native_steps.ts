/**
 * The native tool-calling loop: the host declares the agent's tools to the
 * provider, the model answers with tool calls (several at once when they do
 * not depend on each other) or with its final answer as plain text.
 *
 * Every call takes the same path as in the JSON-step loop (checks, the host's
 * decision, budgets). Calls that change nothing run concurrently; a call that
 * may change something waits for the ones before it, and later calls wait for
 * it, so a batch has the effects of running in the order the model gave.
 */
import {
  type ChatMessageWire,
  type LlmResultMessage,
  type StartMessage,
  type ToolCallWire,
  TOOLS_UNSUPPORTED,
} from "./protocol_types.ts";
import { type Final, type LoopPorts, LoopState, modelError } from "./loop_state.ts";
import { compactHistory, isFatalModelError, resultText } from "./conversation.ts";
import { firstMessages, INFEASIBLE_PREFIX } from "./prompt_rules.ts";

/** The loop gave way to the JSON-step loop: the model or server refused native tools. */
export const FALL_BACK = Symbol("fall back to JSON steps");

/** A reply without tool calls: the final answer, or a nudge when it was empty. */
function plainReply(state: LoopState, text: string, step: number): Final | undefined {
  const answer = text.trim();
  if (!answer) {
    state.mistake(
      "empty final answer",
      "Your reply was empty. Call a tool, or give the complete answer as text.",
    );
    return undefined;
  }
  state.messages.push({ role: "assistant", content: text });
  if (!answer.startsWith(INFEASIBLE_PREFIX)) return state.finish("ok", answer, {}, step);
  const why = answer.slice(INFEASIBLE_PREFIX.length).trim() || answer;
  return state.finish("error", why, {
    error_code: "agent_self_reported_infeasible",
    error_message: why,
  }, step);
}

/**
 * Runs one reply's calls and returns their results in the model's order, or
 * the loop's end. Reads run concurrently; anything that may change something
 * runs alone, after what came before it.
 */
async function runBatch(
  state: LoopState,
  calls: ToolCallWire[],
  reason: string,
  step: number,
): Promise<{ results: string[] } | { final: Final }> {
  const results: Promise<string>[] = [];
  let running: Promise<unknown>[] = [];
  const settle = async () => {
    await Promise.all(running);
    running = [];
  };
  const max = state.start.limits.max_observation_chars;
  for (const call of calls) {
    if (call.args_error) {
      state.mistake(`invalid arguments: ${call.args_error}`);
      results.push(Promise.resolve(`Invalid arguments (not a JSON object): ${call.args_error}`));
      continue;
    }
    const guess = state.ports.mayChange(call.name, call.args);
    if (guess) await settle();
    const admitted = await state.admit(call.name, call.args, reason, step, call.id);
    if (admitted.kind === "final") {
      await settle();
      return { final: admitted.final };
    }
    if (admitted.kind === "refused") {
      results.push(Promise.resolve(admitted.text));
      continue;
    }
    const alone = guess || admitted.sideEffects;
    if (alone) await settle();
    const result = admitted.outcome().then((outcome) => {
      state.record(admitted.key, outcome);
      return resultText(outcome, max, true);
    });
    results.push(result);
    running.push(result);
    if (alone) await settle();
  }
  await settle();
  return { results: await Promise.all(results) };
}

/** What one model reply means for the loop: the end, or go on to the next step. */
async function takeTurn(
  state: LoopState,
  reply: LlmResultMessage,
  step: number,
): Promise<Final | undefined> {
  const text = reply.message ?? "";
  const calls = reply.tool_calls ?? [];
  if (calls.length === 0) return plainReply(state, text, step);
  const turn: ChatMessageWire = { role: "assistant", content: text, tool_calls: calls };
  state.messages.push(turn);
  const outcome = await runBatch(state, calls, text.slice(0, 4000), step);
  if ("final" in outcome) return outcome.final;
  calls.forEach((call, i) => {
    state.messages.push({
      role: "tool",
      tool_call_id: call.id,
      name: call.name,
      content: outcome.results[i],
    });
  });
  return undefined;
}

/**
 * Runs the native loop to a final answer, or gives way ({@link FALL_BACK})
 * when the first reply says the model cannot call tools natively.
 */
export async function runNativeLoop(
  start: StartMessage,
  ports: LoopPorts,
): Promise<Final | typeof FALL_BACK> {
  const state = new LoopState(start, ports);
  state.messages.push(...firstMessages(start, "native"));
  for (let step = 1; step <= start.limits.max_steps; step++) {
    const stop = state.tooManyErrors(step);
    if (stop) return stop;
    const reply = await ports.askModel(compactHistory(state.messages), "native");
    if (!reply.ok) {
      if (reply.error_code === TOOLS_UNSUPPORTED && state.toolCalls === 0) return FALL_BACK;
      if (isFatalModelError(reply)) {
        const error_message = modelError(reply);
        return state.finish("error", "", { error_code: "agent_llm_failure", error_message }, step);
      }
      state.mistake(modelError(reply));
      continue;
    }
    const final = await takeTurn(state, reply, step);
    if (final) return final;
  }
  return state.outOfSteps();
}
