import assert from "node:assert/strict";
import { wireToolCalls } from "../../capsule_runtime/wire_tool_calls.ts";
import { TOOL_CALL_LIMITS, type ToolCallWire } from "../../guest/protocol_types.ts";
import { parseGuestLine } from "../../capsule_runtime/protocol.ts";

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
  const fitted = wireToolCalls(calls);
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
    ...Array.from({ length: 70 }, (_, i) => call(`c${i}`)),
  ];
  assert.ok(!carried(raw));
  const fitted = wireToolCalls(raw);
  assert.ok(carried(fitted));
  assert.equal(fitted.length, TOOL_CALL_LIMITS.perReply);
  const ids = fitted.map((c) => c.id);
  assert.equal(new Set(ids).size, ids.length);
  // The first of two calls with one id keeps it; ids that fit are kept.
  assert.equal(fitted[2].id, "same");
  assert.notEqual(fitted[3].id, "same");
  assert.match(fitted[0].id, /^call_0_[0-9a-f]{12}$/);
  assert.equal(fitted[4].name, "t".repeat(TOOL_CALL_LIMITS.nameChars));
  assert.equal(fitted[5].name, "unnamed_tool");
  assert.deepEqual(fitted[6].args, {});
  assert.match(fitted[6].args_error ?? "", /not a JSON object/);
});
