import assert from "node:assert/strict";
import { wireToolCalls } from "../../capsule_runtime/wire_tool_calls.ts";
import { TOOL_CALL_LIMITS, type ToolCallWire } from "../../guest/protocol_types.ts";
import { parseGuestLine } from "../../capsule_runtime/protocol.ts";

const SEED = "9f3a0c1d2e4b5a6978";

const call = (id: string, name = "file_io", args: unknown = { op: "list" }) =>
  ({ id, name, args }) as ToolCallWire;

/** Whether a guest's next request may carry these calls (the host's own validation). */
function carried(calls: ToolCallWire[]): boolean {
  const line = JSON.stringify({
    v: 1,
    type: "llm_request",
    id: "llm-2",
    native_tools: true,
    messages: [{ role: "assistant", content: "", tool_calls: calls }],
  });
  return parseGuestLine(line).ok;
}

Deno.test("wireToolCalls: calls that fit are relayed untouched", () => {
  const calls = [call("call_1"), call("toolu_01A-b")];
  const fitted = wireToolCalls(calls, SEED);
  assert.equal(fitted[0], calls[0]);
  assert.equal(fitted[1], calls[1]);
});

Deno.test("wireToolCalls: whatever the model sent, the guest's next request can carry it", () => {
  const raw = [
    call(""),
    call("x".repeat(TOOL_CALL_LIMITS.idChars + 1)),
    call("same"),
    call("same"),
    call("long_name", "t".repeat(200)),
    call("no_name", ""),
    call("not_object", "file_io", ["a"]),
    // Fine but for its error text: the raw arguments of a reply cut short can be long.
    { ...call("long_error"), args: {}, args_error: "not JSON: " + "a".repeat(5000) },
    call("has:colon"),
    ...Array.from({ length: 70 }, (_, i) => call(`c${i}`)),
  ];
  assert.ok(!carried(raw));
  const fitted = wireToolCalls(raw, SEED);
  assert.ok(carried(fitted));
  assert.equal(fitted.length, TOOL_CALL_LIMITS.perReply);
  const ids = fitted.map((c) => c.id);
  assert.equal(new Set(ids).size, ids.length);
  // The first of two calls with one id keeps it; ids that fit are kept.
  assert.equal(fitted[2].id, "same");
  assert.notEqual(fitted[3].id, "same");
  assert.equal(fitted[0].id, "call_0_9f3a0c1d2e4b");
  // Every provider takes back letters, digits, _ and -: another character, another id.
  assert.equal(fitted[8].id, "call_8_9f3a0c1d2e4b");
  assert.equal(fitted[4].name, "t".repeat(TOOL_CALL_LIMITS.nameChars));
  assert.equal(fitted[5].name, "unnamed_tool");
  assert.deepEqual(fitted[6].args, {});
  assert.match(fitted[6].args_error ?? "", /not a JSON object/);
  assert.equal(fitted[7].id, "long_error");
  assert.equal(fitted[7].args_error?.length, TOOL_CALL_LIMITS.argsErrorChars);
});

Deno.test("wireToolCalls: the same reply to the same request gets the same ids (a cassette replays it)", () => {
  const raw = [call("dup"), call("dup"), call("")];
  assert.deepEqual(wireToolCalls(raw, SEED), wireToolCalls(raw, SEED));
  assert.notDeepEqual(wireToolCalls(raw, SEED), wireToolCalls(raw, "0123456789abcdef"));
  // A replacement that would clash with an id the model gave takes another.
  const clash = [call(""), call("call_0_9f3a0c1d2e4b")];
  const ids = wireToolCalls(clash, SEED).map((c) => c.id);
  assert.equal(new Set(ids).size, 2);
  assert.equal(ids[1], "call_0_9f3a0c1d2e4b");
});
