/**
 * A model reply's tool calls as the host relays them to a guest. The reply
 * comes from the caller's `complete` hook (a provider adapter, or a library
 * caller's own), and the guest sends its calls back in its next requests,
 * where the host validates them (protocol.ts). A call those requests could
 * not carry (an empty or overlong id, one id twice, an overlong name or
 * `args_error`) would make every later request of the conversation fail, and
 * a read the host allowed ahead would run with its report refused. So the
 * relay fits the calls to the protocol first, before the reply is journaled:
 * a bad id is replaced (the conversation then uses the new one throughout),
 * a name or error cut, and calls past the limit dropped.
 *
 * An id is kept only in the form every provider takes back (letters, digits,
 * `_` and `-`; Anthropic refuses others), since a resumed run may continue a
 * conversation with another provider. A replacement id is derived from the
 * request and the call's place in the reply, never random: a recorded
 * cassette replays the raw reply, and the conversation that follows must
 * hash as it did when it was recorded.
 */
import { TOOL_CALL_LIMITS, type ToolCallWire } from "../guest/protocol_types.ts";

const { idChars, nameChars, perReply, argsErrorChars } = TOOL_CALL_LIMITS;

const ID_FORM = new RegExp(`^[A-Za-z0-9_-]{1,${idChars}}$`);

/**
 * The calls as the protocol accepts them; a call that already fits is
 * returned as it is. `seed` (the request's hash) makes replacement ids the
 * same every time the same reply is fitted.
 */
export function wireToolCalls(calls: readonly ToolCallWire[], seed: string): ToolCallWire[] {
  const kept = calls.slice(0, perReply);
  const taken = new Set<string>();
  return kept.map((call, index) => {
    const idFits = typeof call.id === "string" && ID_FORM.test(call.id) && !taken.has(call.id);
    const id = idFits ? call.id : freshId(seed, index, taken, kept);
    taken.add(id);
    const fitted = fitFields(call);
    const same = idFits && fitted.name === call.name && fitted.args === call.args &&
      fitted.args_error === call.args_error;
    return same ? call : { ...fitted, id };
  });
}

/** The call's name, args and args error as the protocol accepts them (its id aside). */
function fitFields(call: ToolCallWire): Omit<ToolCallWire, "id"> {
  const name = typeof call.name === "string" && call.name.length > 0
    ? call.name.slice(0, nameChars)
    : "unnamed_tool";
  const isRecord = typeof call.args === "object" && call.args !== null &&
    !Array.isArray(call.args);
  const error = isRecord ? call.args_error : "the arguments were not a JSON object";
  const fitted: Omit<ToolCallWire, "id"> = { name, args: isRecord ? call.args : {} };
  if (error !== undefined) fitted.args_error = String(error).slice(0, argsErrorChars);
  return fitted;
}

/** An id no other call of the reply has, from the seed and the call's place in the reply. */
function freshId(
  seed: string,
  index: number,
  taken: Set<string>,
  calls: readonly ToolCallWire[],
): string {
  const base = `call_${index}_${seed.replace(/[^A-Za-z0-9]/g, "").slice(0, 12)}`;
  const used = (id: string) => taken.has(id) || calls.some((c) => c.id === id);
  let id = base;
  for (let n = 1; used(id); n++) id = `${base}_${n}`;
  return id;
}
