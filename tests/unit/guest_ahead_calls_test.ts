/** The guest's side of calls allowed ahead (guest/ahead_calls.ts). */
import assert from "node:assert/strict";
import { AheadCalls } from "../../guest/ahead_calls.ts";
import type { LlmResultMessage, ToolCallWire } from "../../guest/protocol_types.ts";

function reply(calls: ToolCallWire[], allowedIds: string[]): LlmResultMessage {
  return {
    v: 1,
    type: "llm_result",
    id: "llm-1",
    ok: true,
    tool_calls: calls,
    preapproved: allowedIds.map((id) => ({
      call_id: id,
      tool: "file_io",
      args: { ...calls.find((c) => c.id === id)!.args, checked: true },
    })),
  };
}

Deno.test("only the very call the host allowed goes ahead, once", () => {
  const a: ToolCallWire = { id: "a", name: "file_io", args: { op: "read", path: "a.txt" } };
  const ahead = new AheadCalls();
  ahead.take(reply([a], ["a"]));
  // Equal args in another object are another call (the reply's own object is the one allowed).
  assert.equal(ahead.claim("file_io", { ...a.args }, "a"), null);
  assert.equal(ahead.claim("sql_query", a.args, "a"), null);
  assert.equal(ahead.claim("file_io", a.args, undefined), null);
  assert.deepEqual(ahead.claim("file_io", a.args, "a")?.args, { ...a.args, checked: true });
  assert.equal(ahead.claim("file_io", a.args, "a"), null, "taken once");
});

Deno.test("a call id the reply repeats is not taken; a new reply replaces the last one's", () => {
  const write: ToolCallWire = {
    id: "dup",
    name: "file_io",
    args: { op: "write", path: "b.txt", content: "x" },
  };
  const read: ToolCallWire = { id: "dup", name: "file_io", args: { op: "read", path: "a.txt" } };
  const ahead = new AheadCalls();
  ahead.take({ ...reply([read], ["dup"]), tool_calls: [write, read] });
  assert.equal(ahead.claim("file_io", write.args, "dup"), null);
  assert.equal(ahead.claim("file_io", read.args, "dup"), null);
  const c: ToolCallWire = { id: "c", name: "file_io", args: { op: "list" } };
  ahead.take(reply([c], ["c"]));
  ahead.take(reply([], []));
  assert.equal(ahead.claim("file_io", c.args, "c"), null, "lapsed with the next reply");
});
