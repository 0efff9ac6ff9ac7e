/** The data-flow rule's pure decisions: what is private, what reaches the network, what to say. */
import assert from "node:assert/strict";
import {
  crossingKey,
  crossingsFor,
  crossingSummary,
  type FlowSource,
  isPrivate,
  NETWORK_TOOLS,
  networkReachOf,
  networkToolsOf,
  PREVIEW_CHARS,
  privateToolsUsed,
  readsPrivateData,
  withheldLine,
} from "../../coordinator/data_flow.ts";

const call = (tool: string, args: Record<string, unknown> = {}, allowed = true) => ({
  tool,
  args,
  allowed,
});

function src(overrides: Partial<FlowSource> = {}): FlowSource {
  return {
    task_id: "execute-read",
    title: "Read",
    text: "the secret is 42",
    private_tools: ["file_io"],
    inherited_from: [],
    ...overrides,
  };
}

Deno.test("the network tools are http_api and web_fetch; programs have no network today", () => {
  assert.deepEqual([...NETWORK_TOOLS].sort(), ["http_api", "web_fetch"]);
  assert.deepEqual(networkToolsOf(["file_io", "web_fetch", "terminal", "python_exec"]), [
    "web_fetch",
  ]);
  assert.deepEqual(networkToolsOf(["terminal", "python_exec", "sql_query"]), []);
});

Deno.test("reads, queries and programs are private; network calls, writes and refusals are not", () => {
  for (const op of ["read", "list"]) assert.ok(readsPrivateData(call("file_io", { op })));
  assert.ok(readsPrivateData(call("sql_query", { query: "SELECT 1" })));
  assert.ok(readsPrivateData(call("terminal", { cmd: "cat x" })));
  assert.ok(readsPrivateData(call("python_exec", { code: "print(1)" })));
  assert.ok(!readsPrivateData(call("web_fetch", { url: "https://example.com" })));
  assert.ok(!readsPrivateData(call("http_api", { url: "https://example.com" })));
  for (const op of ["write", "append"]) assert.ok(!readsPrivateData(call("file_io", { op })));
  assert.ok(
    !readsPrivateData(call("file_io", { op: "read" }, false)),
    "a refused call read nothing",
  );
  assert.deepEqual(
    privateToolsUsed([
      call("web_fetch"),
      call("sql_query"),
      call("file_io", { op: "read" }),
      call("file_io", { op: "read" }),
    ]),
    ["file_io", "sql_query"],
  );
});

Deno.test("only private, non-empty results bound for a networked agent are crossings", () => {
  const secret = src();
  const inherited = src({ task_id: "b", private_tools: [], inherited_from: ["execute-read"] });
  const clean = src({ task_id: "c", private_tools: [] });
  const empty = src({ task_id: "d", text: "  " });
  assert.ok(isPrivate(secret) && isPrivate(inherited) && !isPrivate(clean));
  const all = [secret, inherited, clean, empty];
  assert.deepEqual(crossingsFor(all, ["web_fetch"]).map((s) => s.task_id), ["execute-read", "b"]);
  assert.deepEqual(crossingsFor(all, ["file_io", "terminal"]), []);
  assert.notEqual(crossingKey("a", "b", "x"), crossingKey("a", "b", "y"));
});

Deno.test("the summary names source, target and tools with a bounded preview; the withheld line says why", () => {
  const long = src({ text: "S".repeat(1000) });
  const to = { task_id: "execute-post", agent_id: "agent_1", network_tools: ["web_fetch"] };
  const summary = crossingSummary(long, to);
  assert.match(summary, /subtask execute-read \(read with file_io\)/);
  assert.match(summary, /agent agent_1 for subtask execute-post.*\(web_fetch\)/);
  assert.ok(summary.includes("S".repeat(PREVIEW_CHARS)));
  assert.ok(!summary.includes("S".repeat(PREVIEW_CHARS + 1)));
  assert.match(summary, /\(1000 chars\)/);
  const line = withheldLine(src(), ["web_fetch"], "auto_denied_by_policy");
  assert.match(line, /^\[withheld\] The result of subtask execute-read was withheld/);
  assert.match(line, /private data \(read with file_io\).*network \(web_fetch\).*denied/);
  assert.ok(!line.includes("the secret is 42"));
});

Deno.test("programs granted network hosts make their agent networked for the data-flow rule", () => {
  assert.deepEqual(networkReachOf(["file_io", "terminal"], []), []);
  assert.deepEqual(networkReachOf(["file_io", "terminal", "python_exec"], ["github.com"]), [
    "terminal",
    "python_exec",
  ]);
  const secret: FlowSource = {
    task_id: "read",
    title: "Read",
    text: "payroll",
    private_tools: ["file_io"],
    inherited_from: [],
  };
  assert.deepEqual(crossingsFor([secret], ["terminal"]), []);
  assert.deepEqual(crossingsFor([secret], ["terminal"], ["github.com"]).map((s) => s.task_id), [
    "read",
  ]);
});
