/**
 * A Streamable HTTP MCP server nobody here wrote (`@modelcontextprotocol/
 * server-everything` in its streamableHttp mode, run with node) as tools of
 * an agent, through the real CLI: `mcp add --url` refuses a loopback URL,
 * reaches the server at a public-looking test host (1.2.3.4 in a network
 * namespace of its own) and pins its tools; a run grants it through the
 * profile, which puts its host on the agent's network_hosts, and the agent's
 * calls reach it through the host (read-only tools straight away, the others
 * after approval); a changed declaration is withheld as for stdio servers.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cataloguePath } from "../../capsule_runtime/mcp_catalogue.ts";
import { runCli } from "../helpers/cli.ts";
import { type Brain, finalStep, startBrain, toolStep } from "../helpers/coordinator_brain.ts";
import { tempDir } from "../helpers/temp.ts";
import { cacheEverything, EVERYTHING } from "../helpers/mcp_everything.ts";
import { ALLOWED_IP, has, startUpstream } from "../helpers/test_hosts.ts";
import { events } from "../helpers/run_events.ts";

const nodeFound = (() => {
  try {
    return Deno.statSync("/usr/bin/node").isFile;
  } catch {
    return false;
  }
})();
const missing = [
  Deno.uid() !== 0 && "root",
  !has("ip") && "ip",
  !nodeFound && "node at /usr/bin/node",
].filter(Boolean) as string[];
const cacheProblem = missing.length ? "" : await cacheEverything();
if (cacheProblem) missing.push(`the npm server (${cacheProblem})`);

Deno.test({
  name: missing.length
    ? `MCP over Streamable HTTP (skipped: needs ${missing.join(", ")})`
    : "mcp add --url: a loopback URL is refused; a server at a public-looking host is pinned, granted with its host and called by an agent; a changed declaration is withheld",
  ignore: missing.length > 0,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using upstream = await startUpstream(() => {}, () => [
      "/usr/bin/env",
      "PORT=80",
      "/usr/bin/node",
      EVERYTHING,
      "streamableHttp",
    ]);
    void upstream;
    await using dir = await tempDir();
    const seen: string[] = [];
    let calls: [string, Record<string, unknown>][] = [];
    const brain: Brain = {
      complexity: "simple",
      plan: () => [{
        task_id: "use-remote",
        title: "Use the remote MCP server",
        description: "Echo a message and add two numbers with the remote server.",
        role_tag: "remote-user",
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
    const cli = (args: string[]) => runCli(args, { cwd: workspace, env });
    const url = `http://${ALLOWED_IP}/mcp`;
    try {
      // 1. Loopback and local names are refused before anything is sent, in one line.
      const local = await cli([
        "mcp",
        "add",
        "every",
        "--yes",
        "--url",
        "http://127.0.0.1:3001/mcp",
      ]);
      assert.equal(local.code, 2, local.stdout + local.stderr);
      assert.match(local.stderr, /refused: address 127\.0\.0\.1 is loopback/);
      assert.doesNotMatch(local.stderr, /\n\s+at /);
      const named = await cli(["mcp", "add", "every", "--yes", "--url", "http://localhost/mcp"]);
      assert.equal(named.code, 2);
      assert.match(named.stderr, /local or metadata name/);
      const both = await cli(["mcp", "add", "every", "--url", url, "--", "node", "x.js"]);
      assert.equal(both.code, 2);
      assert.match(both.stderr, /either --url URL or -- COMMAND/);

      // 2. The real server at a public-looking address: its tools are shown and pinned.
      const add = await cli([
        "mcp",
        "add",
        "every",
        "--yes",
        "--url",
        url,
        "--header",
        "X-Test: yes",
      ]);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      assert.match(add.stdout, /mcp__every__echo {2}\[read-only\]/);
      assert.match(add.stdout, /mcp__every__toggle-simulated-logging {2}\[may change things/);
      assert.match(add.stdout, /lists 1\.2\.3\.4/);
      const list = JSON.parse((await cli(["mcp", "list", "--json"])).stdout);
      assert.equal(list[0].url, url);
      assert.deepEqual(list[0].headers, ["X-Test"]);
      assert.match(list[0].hash, /^sha256:[0-9a-f]{64}$/);
      assert.match(
        (await cli(["mcp", "list"])).stdout,
        /every {2}pinned .*\n {2}http:\/\/1\.2\.3\.4\/mcp/,
      );

      // 3. A run: the profile grants it (with its host); the agent's calls reach it.
      calls = [
        ["mcp__every__echo", { message: "hello over HTTP" }],
        ["mcp__every__get-sum", { a: 19, b: 23 }],
        ["mcp__every__toggle-simulated-logging", {}],
      ];
      const run = await cli(["run", "Use the remote MCP server", "--json"]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const runId = JSON.parse(run.stdout).run_id as string;
      assert.equal(seen.length, 3, seen.join("\n---\n"));
      assert.match(seen[0], /Echo: hello over HTTP/);
      assert.match(seen[1], /42/);
      assert.match(seen[2], /logging/i);
      const report = events(workspace, runId, "mcp_servers")[0];
      assert.deepEqual((report.served as { server: string }[]).map((s) => s.server), ["every"]);
      assert.deepEqual(report.withheld, []);
      // Only the tool not declared read-only asked for approval.
      const approvals = events(workspace, runId, "approval_decision");
      assert.deepEqual(approvals.map((a) => a.endpoint), [
        "mcp__every__toggle-simulated-logging",
      ]);
      const agents = Deno.readDirSync(join(workspace, ".closed_claw", "agents"));
      const hosts = [...agents].filter((a) => a.isDirectory).map((a) =>
        JSON.parse(
          Deno.readTextFileSync(join(workspace, ".closed_claw", "agents", a.name, "manifest.json")),
        ).permissions
      ).find((p) => p.mcp_servers?.includes("every"))?.network_hosts;
      assert.deepEqual(hosts, [ALLOWED_IP]);

      // 4. A changed declaration (simulated in the stored pin) is withheld until approved.
      const path = cataloguePath(join(workspace, ".closed_claw"));
      const catalogue = JSON.parse(Deno.readTextFileSync(path));
      catalogue.servers[0].hash = `sha256:${"0".repeat(64)}`;
      Deno.writeTextFileSync(path, JSON.stringify(catalogue));
      seen.length = 0;
      calls = [["mcp__every__echo", { message: "again" }]];
      const withheld = await cli(["run", "Use the remote MCP server", "--json"]);
      const withheldId = JSON.parse(withheld.stdout).run_id as string;
      assert.match(seen[0], /mcp__every__echo" is not available/);
      const why = events(workspace, withheldId, "mcp_servers")[0].withheld as {
        reason: string;
      }[];
      assert.match(why[0].reason, /declarations changed since they were approved/);
      const approve = await cli(["mcp", "approve", "every", "--yes"]);
      assert.equal(approve.code, 0, approve.stdout + approve.stderr);
      assert.match(approve.stdout, /declares what was approved|Approved: 'every'/);
    } finally {
      await fake.close();
    }
  },
});
