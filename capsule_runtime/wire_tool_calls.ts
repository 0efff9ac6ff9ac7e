/**
 * A model reply's tool calls as the host relays them to a guest. The reply
 * comes from the caller's `complete` hook (a provider adapter, or a library
 * caller's own), and the guest sends its calls back in its next requests,
 * where the host validates them (protocol.ts). A call those requests could
 * not carry (an empty or overlong id, one id twice, an overlong name) would
 * make every later request of the conversation fail, and a read the host
 * allowed ahead would run with its report refused. So the relay fits the
 * calls to the protocol first, before the reply is journaled: a bad id is
 * replaced (the conversation then uses the new one throughout), a name cut,
 * and calls past the limit dropped.
 */
import { TOOL_CALL_LIMITS, type ToolCallWire } from "../guest/protocol_types.ts";

const { idChars, nameChars, perReply, argsErrorChars } = TOOL_CALL_LIMITS;

/** The calls as the protocol accepts them; calls that already fit are returned as they are. */
export function wireToolCalls(calls: readonly ToolCallWire[]): ToolCallWire[] {
  const kept = calls.slice(0, perReply);
  const ids = new Set<string>();
  return kept.map((call, index) => {
    const fits = typeof call.id === "string" && call.id.length > 0 &&
      call.id.length <= idChars && !ids.has(call.id);
    const id = fits ? call.id : freshId(index, ids, kept);
    ids.add(id);
    const name = typeof call.name === "string" && call.name.length > 0
      ? call.name.slice(0, nameChars)
      : "unnamed_tool";
    const isRecord = typeof call.args === "object" && call.args !== null &&
      !Array.isArray(call.args);
    const argsError = isRecord ? call.args_error : "the arguments were not a JSON object";
    const fitted: ToolCallWire = { id, name, args: isRecord ? call.args : {} };
    if (argsError !== undefined) fitted.args_error = String(argsError).slice(0, argsErrorChars);
    return fits && name === call.name && isRecord && argsError === call.args_error ? call : fitted;
  });
}

/** An id no other call of the reply has (letters, digits and `_`: every provider takes it). */
function freshId(index: number, taken: Set<string>, calls: readonly ToolCallWire[]): string {
  const used = (id: string) => taken.has(id) || calls.some((c) => c.id === id);
  for (let n = 0;; n++) {
    const id = `call_${index}_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}${n || ""}`;
    if (!used(id)) return id;
  }
}
