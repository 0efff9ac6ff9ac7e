/** Which calls of a reply the host allows ahead (capsule_runtime/tool_preapproval.ts). */
import assert from "node:assert/strict";
import { Preapprovals } from "../../capsule_runtime/tool_preapproval.ts";
import type { PolicyVerdict } from "../../capsule_runtime/tool_decision.ts";
import type { ToolCallWire } from "../../guest/protocol_types.ts";

/** The host policy, played: a path with "secret" in it is refused, anything else allowed. */
const checked: string[] = [];
function check(tool: string, args: Record<string, unknown>): Promise<PolicyVerdict> {
  checked.push(`${tool} ${args.op ?? ""} ${args.path ?? args.url ?? ""}`.trim());
  if (String(args.path ?? "").includes("secret")) {
    return Promise.resolve({ allowed: false, reason: "protected" });
  }
  return Promise.resolve({ allowed: true, args: { ...args, normalised: true } });
}

let n = 0;
const call = (name: string, args: Record<string, unknown>, id = `c${++n}`): ToolCallWire => ({
  id,
  name,
  args,
});
const read = (path: string, id?: string) => call("file_io", { op: "read", path }, id);
const write = (path: string) => call("file_io", { op: "write", path, content: "x" });
const budget = { used: 0, limit: 100 };

async function approved(calls: ToolCallWire[], b = budget): Promise<string[]> {
  const ahead = new Preapprovals();
  const allowed = await ahead.approve(calls, check, b);
  return allowed.map((a) => calls.find((c) => c.id === a.call_id)!.args.path as string);
}

Deno.test("reads are allowed ahead with the host's validated args; a refused one is skipped", async () => {
  const ahead = new Preapprovals();
  const calls = [read("a.txt"), read("secret.txt"), read("b.txt")];
  const allowed = await ahead.approve(calls, check, budget);
  assert.deepEqual(allowed.map((a) => a.args), [
    { op: "read", path: "a.txt", normalised: true },
    { op: "read", path: "b.txt", normalised: true },
  ]);
});

Deno.test("nothing after a call that may change something, runs on the host or is an MCP tool", async () => {
  assert.deepEqual(await approved([read("a"), write("w"), read("b")]), ["a"]);
  assert.deepEqual(await approved([call("terminal", { cmd: "ls" }), read("a")]), []);
  assert.deepEqual(await approved([call("mcp__fs__read", { path: "x" }), read("a")]), []);
  assert.deepEqual(await approved([call("http_api", { method: "POST", url: "u" }), read("a")]), []);
  // read_skill, bad args and a network read run nothing here: later reads still go ahead.
  const skill = call("read_skill", { skill_id: "x" });
  const bad = { ...read("z"), args_error: "not JSON" };
  const fetch = call("web_fetch", { url: "https://example.com" });
  checked.length = 0;
  assert.deepEqual(await approved([skill, bad, fetch, read("a")]), ["a"]);
  assert.deepEqual(checked, ["file_io read a"], "no name lookup for the network read");
});

Deno.test("a call id the reply repeats is never allowed ahead", async () => {
  assert.deepEqual(await approved([read("a", "dup"), read("b", "dup"), read("c")]), ["c"]);
});

Deno.test("no call past the tool budget, counting every call before it in the reply", async () => {
  // Two calls made, limit four: the first two of the reply fit, whatever they are.
  const calls = [call("read_skill", { skill_id: "x" }), read("a"), read("b")];
  assert.deepEqual(await approved(calls, { used: 2, limit: 4 }), ["a"]);
  assert.deepEqual(await approved([read("a")], { used: 4, limit: 4 }), []);
});

Deno.test("an approval is claimed once, by the same tool and args; a new reply voids the last", async () => {
  const ahead = new Preapprovals();
  const calls = [read("a.txt", "x1"), read("b.txt", "x2")];
  await ahead.approve(calls, check, budget);
  assert.equal(ahead.claim("x1", "file_io", { op: "read", path: "other" }), null);
  assert.equal(ahead.claim("x1", "sql_query", { op: "read", path: "a.txt" }), null);
  assert.equal(ahead.claim("nope", "file_io", { op: "read", path: "a.txt" }), null);
  assert.ok(ahead.claim("x1", "file_io", { op: "read", path: "a.txt" }));
  assert.equal(ahead.claim("x1", "file_io", { op: "read", path: "a.txt" }), null, "only once");
  ahead.clear();
  assert.equal(ahead.claim("x2", "file_io", { op: "read", path: "b.txt" }), null);
});
