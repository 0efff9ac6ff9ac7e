/**
 * The agent loop that runs inside every capsule: ask the model (through the
 * host) for the next step, run the tools the host allowed, show the model what
 * happened, until it gives a final answer or a budget runs out. It speaks the
 * provider's native tool calling, or JSON steps for models without it.
 */
import type { StartMessage } from "./protocol_types.ts";
import type { Final, LoopPorts } from "./loop_state.ts";
import { runJsonLoop } from "./json_steps.ts";
import { FALL_BACK, runNativeLoop } from "./native_steps.ts";

export type { Final, LoopPorts, ToolOutcome } from "./loop_state.ts";
export { compactHistory, isFatalModelError, observation } from "./conversation.ts";
export { parseStep, type StepAction } from "./json_steps.ts";

/**
 * Runs the loop to a final answer in the start message's tool mode. A model
 * that refuses native tools on its first call is asked again in JSON steps.
 */
export async function runLoop(start: StartMessage, ports: LoopPorts): Promise<Final> {
  if ((start.tool_mode ?? "json") === "native") {
    const final = await runNativeLoop(start, ports);
    if (final !== FALL_BACK) return final;
  }
  return await runJsonLoop(start, ports);
}
