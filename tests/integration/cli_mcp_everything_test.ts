/**
 * `@modelcontextprotocol/server-everything` from npm (stdio, run with node in
 * its bubblewrap sandbox) driven through full `closed-claw run`s with a fake
 * model: its tools answer through the host (echo, get-sum, an annotated
 * message with an image, get-env), the host's side-effect treatment follows
 * the server's annotations (readOnlyHint: no approval, no side effect in the
 * journal; readOnlyHint false: asks first, journaled as a side effect), and a
 * denied approval refuses only that call. get-env shows the environment the
 * server really got: the sandbox's, never the provider key.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { machineFacts } from "../../capsule_runtime/machine.ts";
import { runCli } from "../helpers/cli.ts";
import { type Brain, finalStep, startBrain, toolStep } from "../helpers/coordinator_brain.ts";
import { tempDir } from "../helpers/temp.ts";
import { cacheEverything, EVERYTHING, NODE_MODULES } from "../helpers/mcp_everything.ts";
import { events } from "../helpers/run_events.ts";

const facts = await machineFacts();
const node = (() => {
  try {
    return Deno.statSync("/usr/bin/node").isFile ? "/usr/bin/node" : "";
  } catch {
    return "";
  }
})();
const missing = [
  !facts.bwrapPath && `bubblewrap (${facts.bwrapError || "not found"})`,
  !node && "node at /usr/bin/node",
].filter(Boolean) as string[];
const cacheProblem = missing.length ? "" : await cacheEverything();
if (cacheProblem) missing.push(`the npm server (${cacheProblem})`);

/** The journaled tool steps of a run: the tool each asked for and whether it had side effects. */
function journaledTools(workspace: string, runId: string): [string, boolean][] {
  const db = new DatabaseSync(join(workspace, ".closed_claw", "registry.db"), { readOnly: true });
  try {
    const rows = db.prepare(
      "SELECT request_json, side_effects FROM step_journal WHERE run_id = ? AND kind = 'tool' AND decision_json IS NOT NULL ORDER BY id",
    ).all(runId) as { request_json: string; side_effects: number }[];
    return rows.map((r) => [JSON.parse(r.request_json).tool as string, r.side_effects === 1]);
  } finally {
    db.close();
  }
}

Deno.test({
  name: missing.length
    ? `server-everything through a run (skipped: needs ${missing.join(", ")})`
    : "server-everything from npm through runs: echo, get-sum, an annotated message, get-env (no key), and a side-effecting tool that asks first and is refused when denied",
  ignore: missing.length > 0,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using dir = await tempDir();
    const seen: string[] = [];
    let calls: [string, Record<string, unknown>][] = [];
    const brain: Brain = {
      complexity: "simple",
      plan: () => [{
        task_id: "everything",
        title: "Try the everything server",
        description: "Echo, add, and look at an annotated message with the everything server.",
        role_tag: "mcp-tester",
        tools: ["file_io"],
      }],
      profileExtra: { mcp_servers: ["every"] },
      agent: ({ step, last }) => {
        if (step > 0) seen.push(last);
        return step < calls.length ? toolStep(...calls[step]) : finalStep("done");
      },
      synthesis: "done",
    };
    const { fake, workspace, env } = await startBrain(dir.path, brain);
    const cli = (args: string[], extra: Record<string, string> = {}) =>
      runCli(args, { cwd: workspace, env: { ...env, ...extra } });
    try {
      const add = await cli([
        "mcp",
        "add",
        "every",
        "--yes",
        "--read",
        NODE_MODULES,
        "--",
        node,
        EVERYTHING,
        "stdio",
      ]);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      assert.match(add.stdout, /mcp__every__echo {2}\[read-only\]/);
      assert.match(add.stdout, /mcp__every__get-annotated-message {2}\[read-only\]/);
      assert.match(add.stdout, /mcp__every__toggle-simulated-logging {2}\[may change things/);

      // 1. Approve mode: every call runs; only the one not declared read-only asked first.
      calls = [
        ["mcp__every__echo", { message: "hello everything" }],
        ["mcp__every__get-sum", { a: 19, b: 23 }],
        ["mcp__every__get-annotated-message", { messageType: "success", includeImage: true }],
        ["mcp__every__get-env", {}],
        ["mcp__every__toggle-simulated-logging", {}],
      ];
      const run = await cli(["run", "Try the everything server", "--json"]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const runId = JSON.parse(run.stdout).run_id as string;
      assert.equal(seen.length, 5, seen.join("\n---\n"));
      assert.match(seen[0], /Echo: hello everything/);
      assert.match(seen[1], /The sum of 19 and 23 is 42/);
      assert.match(seen[2], /completed successfully/i);
      assert.match(seen[2], /\[image content\]/);
      // The server's environment is the sandbox's: no provider key, no host variables.
      const serverEnv = JSON.parse(JSON.parse(seen[3]).text) as Record<string, string>;
      assert.equal(serverEnv.HOME, "/tmp");
      assert.deepEqual(Object.keys(serverEnv).sort(), ["HOME", "LANG", "PATH", "PWD", "TMPDIR"]);
      assert.doesNotMatch(seen[3], /OPENAI|test-key-0123456789|CLOSED_CLAW/);
      assert.match(seen[4], /Started simulated, random-leveled logging/);
      const approvals = events(workspace, runId, "approval_decision");
      assert.deepEqual(approvals.map((a) => [a.endpoint, a.approved]), [
        ["mcp__every__toggle-simulated-logging", true],
      ]);
      assert.deepEqual(journaledTools(workspace, runId), [
        ["mcp__every__echo", false],
        ["mcp__every__get-sum", false],
        ["mcp__every__get-annotated-message", false],
        ["mcp__every__get-env", false],
        ["mcp__every__toggle-simulated-logging", true],
      ]);
      const toolCalls = events(workspace, runId, "tool_call");
      assert.deepEqual(toolCalls.map((c) => [c.tool, c.ok]), calls.map(([t]) => [t, true]));

      // 2. Deny mode: the side-effecting call is refused; a read-only one still runs.
      seen.length = 0;
      calls = [
        ["mcp__every__toggle-simulated-logging", {}],
        ["mcp__every__echo", { message: "still here" }],
      ];
      const denied = await cli(["run", "Try the everything server", "--json"], {
        CLOSED_CLAW_API_APPROVAL_MODE: "deny",
      });
      const deniedId = JSON.parse(denied.stdout).run_id as string;
      assert.equal(seen.length, 2, seen.join("\n---\n"));
      assert.doesNotMatch(seen[0], /Started simulated/);
      assert.match(seen[0], /denied|not approved|refused/i);
      assert.match(seen[1], /Echo: still here/);
      const decisions = events(workspace, deniedId, "approval_decision");
      assert.deepEqual(decisions.map((a) => [a.endpoint, a.approved]), [
        ["mcp__every__toggle-simulated-logging", false],
      ]);
    } finally {
      await fake.close();
    }
  },
});
