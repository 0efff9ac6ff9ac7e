/**
 * MCP servers nobody here wrote (`@modelcontextprotocol/server-filesystem`
 * and `server-memory` from npm, run with node) as tools of an agent, through
 * the real CLI: `mcp add` starts each once in its sandbox and pins its tools,
 * a `closed-claw run` with a fake model grants them through the profile and
 * calls them (the host runs each call), the filesystem server started with
 * `/` as its root still cannot read a file outside the capsule's roots
 * because bubblewrap never mounts it, and a changed declaration is withheld
 * until `mcp approve`.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
// The SDK's "./*" export maps `x.js` to types at `x.js.d.ts`; see mcp_server/server.ts.
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { machineFacts } from "../../capsule_runtime/machine.ts";
import {
  cataloguePath,
  declarationsHash,
  type McpServerEntry,
  saveServer,
} from "../../capsule_runtime/mcp_catalogue.ts";
import { McpToolset } from "../../capsule_runtime/mcp_tools.ts";
import type { LaunchPlan } from "../../capsule_runtime/launcher.ts";
import type { RunCapsuleOptions } from "../../capsule_runtime/capsule_types.ts";
import { connectMcpServer, mcpLimitPrefix } from "../../capsule_runtime/mcp_client.ts";
import { DEFAULT_LIMITS } from "../../capsule_runtime/limits.ts";
import { findOnPath } from "../../capsule_runtime/bwrap_probe.ts";
import { pidsCgroupBase } from "../../capsule_runtime/pids_cgroup.ts";
import { catalogueSandbox } from "../../cli/mcp_servers.ts";
import { HAS_SCRIPT, runCli, talkOnTerminal } from "../helpers/cli.ts";
import { type Brain, finalStep, startBrain, toolStep } from "../helpers/coordinator_brain.ts";
import { tempDir, testSettings } from "../helpers/temp.ts";
import { events } from "../helpers/run_events.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const NODE_MODULES = join(REPO, "node_modules");
const SERVER = (name: string) =>
  join(NODE_MODULES, "@modelcontextprotocol", name, "dist", "index.js");

/** Caches the npm servers (once; the registry is reachable or they are cached already). */
async function cacheServers(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "cache",
      "--config",
      join(REPO, "deno.json"),
      "npm:@modelcontextprotocol/server-filesystem@2026.8.31",
      "npm:@modelcontextprotocol/server-memory@2026.8.31",
    ],
    cwd: REPO,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (out.code !== 0) return new TextDecoder().decode(out.stderr).trim().split("\n").pop() ?? "";
  for (const name of ["server-filesystem", "server-memory"]) {
    try {
      Deno.statSync(SERVER(name));
    } catch {
      return `${SERVER(name)} is missing after caching`;
    }
  }
  return "";
}

const facts = await machineFacts();
const node = (() => {
  try {
    return Deno.statSync("/usr/bin/node").isFile ? "/usr/bin/node" : "";
  } catch {
    return "";
  }
})();
const prlimit = findOnPath("prlimit");
const missing = [
  !facts.bwrapPath && `bubblewrap (${facts.bwrapError || "not found"})`,
  !node && "node at /usr/bin/node",
].filter(Boolean);
const cacheProblem = missing.length ? "" : await cacheServers();
if (cacheProblem) missing.push(`the npm MCP servers (${cacheProblem})`);

/** What the filesystem server, started without any sandbox with root `/`, reads at `path`. */
async function readDirectly(path: string): Promise<string> {
  const client = new Client({ name: "test", version: "0" });
  await client.connect(
    new StdioClientTransport({
      command: node,
      args: [SERVER("server-filesystem"), "/"],
      stderr: "ignore",
    }),
  );
  try {
    const result = await client.callTool({ name: "read_text_file", arguments: { path } });
    return (result as CallToolResult).content.map((c) => (c.type === "text" ? c.text : "")).join(
      "",
    );
  } finally {
    await client.close();
  }
}

/** A one-subtask brain whose agent makes the script's calls in order, keeping what each returned. */
function callingBrain(
  script: () => [string, Record<string, unknown>][],
  seen: string[],
): Brain {
  return {
    complexity: "simple",
    plan: () => [{
      task_id: "use-mcp",
      title: "Use the MCP tools",
      description: "Read the notes with the filesystem server and keep facts in the memory server.",
      role_tag: "mcp-user",
      tools: ["file_io"],
    }],
    // The profile names catalogue servers and one that is not in the catalogue.
    profileExtra: { mcp_servers: ["fs", "mem", "ghost"] },
    agent: ({ step, last }) => {
      if (step > 0) seen.push(last);
      const calls = script();
      return step < calls.length ? toolStep(...calls[step]) : finalStep("done");
    },
    synthesis: "done",
  };
}

Deno.test({
  name: missing.length
    ? `MCP servers as sandboxed agent tools (skipped: needs ${missing.join(", ")})`
    : "MCP servers from npm: added and pinned, granted, called through a run, confined by bubblewrap, withheld when changed until approved",
  ignore: missing.length > 0,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using dir = await tempDir();
    // A file outside every root the capsule has (the run's workspace is dir/ws).
    const outsideDir = join(dir.path, "elsewhere");
    Deno.mkdirSync(outsideDir);
    const outside = join(outsideDir, "secret-plan.txt");
    Deno.writeTextFileSync(outside, "the outside secret\n");
    const seen: string[] = [];
    let calls: [string, Record<string, unknown>][] = [];
    const brain = callingBrain(() => calls, seen);
    const { fake, workspace, env } = await startBrain(dir.path, brain);
    Deno.writeTextFileSync(join(workspace, "notes.txt"), "hello from the workspace\n");
    const cli = (args: string[]) => runCli(args, { cwd: workspace, env });
    try {
      // 1. Add both servers: each starts once in its sandbox and its tools are pinned.
      const fs = await cli([
        "mcp",
        "add",
        "fs",
        "--yes",
        "--read",
        NODE_MODULES,
        "--",
        node,
        SERVER("server-filesystem"),
        "/",
      ]);
      assert.equal(fs.code, 0, fs.stdout + fs.stderr);
      assert.match(fs.stdout, /mcp__fs__read_text_file {2}\[read-only\]/);
      assert.match(fs.stdout, /mcp__fs__write_file {2}\[may change things \(asks first\)\]/);
      const mem = await cli([
        "mcp",
        "add",
        "mem",
        "--yes",
        "--read",
        NODE_MODULES,
        "--env",
        "MEMORY_FILE_PATH=/tmp/memory.jsonl",
        "--",
        node,
        SERVER("server-memory"),
      ]);
      assert.equal(mem.code, 0, mem.stdout + mem.stderr);
      const list = await cli(["mcp", "list", "--json"]);
      const servers = JSON.parse(list.stdout) as { name: string; hash: string }[];
      assert.deepEqual(servers.map((s) => s.name), ["fs", "mem"]);
      // The names of a server's variables are listed, never their values.
      assert.match(list.stdout, /"MEMORY_FILE_PATH"/);
      assert.doesNotMatch(list.stdout, /memory\.jsonl/);
      assert.match(servers[0].hash, /^sha256:[0-9a-f]{64}$/);

      // 2. A run: the profile grants fs and mem (ghost is dropped); the agent calls their tools.
      calls = [
        ["mcp__fs__read_text_file", { path: join(workspace, "notes.txt") }],
        ["mcp__fs__read_text_file", { path: outside }],
        ["mcp__mem__create_entities", {
          entities: [{ name: "Ada", entityType: "person", observations: ["wrote notes"] }],
        }],
        ["mcp__mem__read_graph", {}],
      ];
      const run = await cli(["run", "Use the MCP servers", "--json"]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const runId = JSON.parse(run.stdout).run_id as string;
      assert.equal(seen.length, 4, seen.join("\n---\n"));
      // The filesystem server reads inside the workspace...
      assert.match(seen[0], /hello from the workspace/);
      // ...and, although its own root is "/", cannot read the file outside: it is not mounted.
      assert.doesNotMatch(seen[1], /outside secret/);
      assert.match(seen[1], /ENOENT|no such file/i);
      assert.doesNotMatch(seen[1], /outside allowed directories|Access denied/i);
      // The same server started directly (no sandbox) with the same root does read it.
      assert.match(await readDirectly(outside), /the outside secret/);
      // The memory server's tools work (its write asked for approval, approved by the mode).
      assert.match(seen[3], /Ada/);
      assert.match(seen[3], /wrote notes/);
      const dropped = events(workspace, runId, "mcp_server_dropped");
      assert.deepEqual(dropped.map((e) => e.server), ["ghost"]);
      const mcp = events(workspace, runId, "mcp_servers");
      assert.deepEqual(
        (mcp[0].served as { server: string }[]).map((s) => s.server).sort(),
        ["fs", "mem"],
      );
      assert.deepEqual(mcp[0].withheld, []);
      const approvals = events(workspace, runId, "approval_decision");
      assert.deepEqual(approvals.map((a) => a.endpoint), ["mcp__mem__create_entities"]);
      const toolCalls = events(workspace, runId, "tool_call").map((e) => e.tool);
      assert.deepEqual(toolCalls, calls.map(([tool]) => tool));

      // 3. Changed declarations (simulated in the stored pin): withheld until approved.
      const path = cataloguePath(join(workspace, ".closed_claw"));
      const catalogue = JSON.parse(Deno.readTextFileSync(path));
      const memEntry = catalogue.servers.find((s: { name: string }) => s.name === "mem");
      memEntry.tools[0].description = "An older description the user approved";
      memEntry.hash = `sha256:${"0".repeat(64)}`;
      Deno.writeTextFileSync(path, JSON.stringify(catalogue));
      seen.length = 0;
      calls = [["mcp__mem__read_graph", {}]];
      const withheld = await cli(["run", "Use the MCP servers", "--json"]);
      const withheldId = JSON.parse(withheld.stdout).run_id as string;
      // The agent was never given the tool: the guest refuses it before the host is asked.
      assert.match(seen[0], /mcp__mem__read_graph" is not available/);
      const report = events(workspace, withheldId, "mcp_servers")[0];
      const why = report.withheld as { server: string; reason: string }[];
      assert.deepEqual(why.map((w) => w.server), ["mem"]);
      assert.match(why[0].reason, /declarations changed since they were approved/);
      assert.match(why[0].reason, /closed-claw mcp approve mem/);
      assert.deepEqual((report.served as { server: string }[]).map((s) => s.server), ["fs"]);
      const changed = await cli(["mcp", "list"]);
      assert.match(changed.stdout, /mem {2}CHANGED/);

      // 4. Approving shows the difference and pins the new declarations; the tools come back.
      const approve = await cli(["mcp", "approve", "mem", "--yes"]);
      assert.equal(approve.code, 0, approve.stdout + approve.stderr);
      assert.match(approve.stdout, /~ create_entities description:/);
      assert.match(approve.stdout, /- An older description the user approved/);
      seen.length = 0;
      const again = await cli(["run", "Use the MCP servers", "--json"]);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(seen[0], /entities/);
      const after = JSON.parse(Deno.readTextFileSync(path));
      assert.equal(
        after.servers.find((s: { name: string }) => s.name === "mem").pending,
        undefined,
      );

      // 5. Removing a server takes it out of the catalogue.
      const removed = await cli(["mcp", "remove", "fs"]);
      assert.equal(removed.code, 0, removed.stdout + removed.stderr);
      const left = JSON.parse((await cli(["mcp", "list", "--json"])).stdout);
      assert.deepEqual(left.map((s: { name: string }) => s.name), ["mem"]);
    } finally {
      await fake.close();
    }
  },
});

Deno.test({
  name: missing.length || !HAS_SCRIPT
    ? "mcp add asks on the terminal (skipped: needs bubblewrap, node, the servers and `script`)"
    : "mcp add shows the tools and adds only after 'yes' on the terminal; without a terminal it needs --yes",
  ignore: missing.length > 0 || !HAS_SCRIPT,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using dir = await tempDir();
    const workspace = join(dir.path, "ws");
    Deno.mkdirSync(workspace);
    const env = { CLOSED_CLAW_HOME: join(dir.path, "data") };
    const add = ["mcp", "add", "mem", "--read", NODE_MODULES, "--", node, SERVER("server-memory")];
    const piped = await runCli(add, { cwd: workspace, env });
    assert.equal(piped.code, 2, piped.stdout + piped.stderr);
    assert.match(piped.stderr, /pass --yes/);
    const list = () => runCli(["mcp", "list", "--json"], { cwd: workspace, env });
    assert.deepEqual(JSON.parse((await list()).stdout), []);
    const no = await talkOnTerminal(add, { cwd: workspace, env }, [
      { expect: "Type 'yes' to approve", reply: "no" },
    ]);
    assert.equal(no.code, 1, no.seen);
    assert.match(no.seen, /mcp__mem__read_graph {2}\[read-only\]/);
    assert.match(no.seen, /Not added/);
    assert.deepEqual(JSON.parse((await list()).stdout), []);
    const yes = await talkOnTerminal(add, { cwd: workspace, env }, [
      { expect: "Type 'yes' to approve", reply: "yes" },
    ]);
    assert.equal(yes.code, 0, yes.seen);
    assert.match(yes.seen, /Added 'mem', pinned at sha256:/);
    assert.deepEqual(JSON.parse((await list()).stdout).map((s: { name: string }) => s.name), [
      "mem",
    ]);
  },
});

Deno.test({
  name: missing.length || !prlimit
    ? "MCP servers under the program limits (skipped: needs bubblewrap, node, the servers and prlimit)"
    : "an MCP server runs under the manifest's limits: it starts under the defaults, not under 64 MiB",
  ignore: missing.length > 0 || !prlimit,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using dir = await tempDir();
    const settings = testSettings(dir.path, { CLOSED_CLAW_WORKSPACE: dir.path });
    const sandbox = await catalogueSandbox(settings);
    const entry: McpServerEntry = {
      name: "fs",
      command: node,
      args: [SERVER("server-filesystem"), "/"],
      read_paths: [NODE_MODULES],
      env: {},
      tools: [],
      hash: "",
      approved_at: "",
    };
    const ok = await connectMcpServer(entry, sandbox, mcpLimitPrefix(DEFAULT_LIMITS, prlimit));
    assert.ok(ok.tools.some((t) => t.name === "read_text_file"));
    await ok.close();
    const tight = mcpLimitPrefix({ ...DEFAULT_LIMITS, memory_mb: 64 }, prlimit);
    await assert.rejects(connectMcpServer(entry, sandbox, tight), /MCP server 'fs' did not start/);
  },
});

const pidsBase = pidsCgroupBase();

Deno.test({
  name: missing.length || !pidsBase
    ? "MCP servers in a pids cgroup (skipped: needs bubblewrap, node, the servers and a writable pids cgroup as root)"
    : "an MCP server runs in a pids cgroup of its own: it starts under the defaults, not under 3 tasks, and the group goes with the connection",
  ignore: missing.length > 0 || !pidsBase,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using dir = await tempDir();
    const settings = testSettings(dir.path, { CLOSED_CLAW_WORKSPACE: dir.path });
    const sandbox = await catalogueSandbox(settings);
    const entry: McpServerEntry = {
      name: "mem",
      command: node,
      args: [SERVER("server-memory")],
      read_paths: [NODE_MODULES],
      env: {},
      tools: [],
      hash: "",
      approved_at: "",
    };
    /** The groups under the base that hold a process of `server-memory` (other tests make others). */
    const ours = () =>
      [...Deno.readDirSync(pidsBase)].filter((e) => e.isDirectory).map((e) =>
        join(pidsBase, e.name)
      )
        .filter((group) => {
          const procs = (() => {
            try {
              return Deno.readTextFileSync(join(group, "cgroup.procs")).split("\n").filter(Boolean);
            } catch {
              return [];
            }
          })();
          return procs.some((pid) => {
            try {
              return Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes("server-memory");
            } catch {
              return false;
            }
          });
        });
    const limit = (processes: number) => ({
      base: pidsBase,
      processes,
      memoryBytes: DEFAULT_LIMITS.memory_mb * 1024 * 1024,
    });
    const ok = await connectMcpServer(entry, sandbox, [], limit(DEFAULT_LIMITS.processes));
    assert.ok(ok.tools.some((t) => t.name === "read_graph"));
    const groups = ours();
    assert.equal(groups.length, 1);
    await ok.close();
    assert.equal(existsSync(groups[0]), false);
    // Too few tasks for the sandbox and the server: it does not start, and no group is left.
    await assert.rejects(
      connectMcpServer(entry, sandbox, [], limit(3)),
      /MCP server 'mem' did not start/,
    );
    assert.deepEqual(ours(), []);
  },
});

Deno.test({
  name: missing.length
    ? "MCP servers spend the run's write budget (skipped: needs bubblewrap, node and the servers)"
    : "an MCP server's writes spend the run's write budget: past it the call fails, the servers stop and later calls fail",
  ignore: missing.length > 0,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using dir = await tempDir();
    const workspace = join(dir.path, "ws");
    Deno.mkdirSync(workspace);
    const settings = testSettings(dir.path, { CLOSED_CLAW_WORKSPACE: workspace });
    const read = await catalogueSandbox(settings);
    const sandbox = { ...read, writeRoots: [read.workspace] };
    const entry: McpServerEntry = {
      name: "fs",
      command: node,
      args: [SERVER("server-filesystem"), "/"],
      read_paths: [NODE_MODULES],
      env: {},
      tools: [],
      hash: "",
      approved_at: "",
    };
    const first = await connectMcpServer(entry, sandbox);
    saveServer(settings.homeDir, {
      ...entry,
      tools: first.tools,
      hash: declarationsHash(first.tools),
      approved_at: new Date().toISOString(),
    });
    await first.close();
    const limits = { ...DEFAULT_LIMITS, bytes_written_mb: 1 };
    const plan = {
      programSandbox: sandbox,
      permissions: { writeRoots: [read.workspace] },
      limits: { enforce: true, limits, prlimitPath: "", pidsCgroupBase: "" },
      warnings: [],
    } as unknown as LaunchPlan;
    const options = {
      settings,
      manifest: {
        agent_id: "writer-0001",
        tools_allowlist: ["file_io"],
        permissions: { network_hosts: [], mcp_servers: ["fs"] },
        limits,
      },
    } as unknown as RunCapsuleOptions;
    const events: unknown[] = [];
    const toolset = await McpToolset.open(options, plan, (e) => events.push(e));
    assert.ok(toolset, JSON.stringify(events));
    const write = (name: string, kib: number) =>
      toolset.call(
        "mcp__fs__write_file",
        { path: join(read.workspace, name), content: "x".repeat(kib * 1024) },
        new AbortController().signal,
      );
    try {
      const small = await write("a.txt", 300);
      assert.equal(small.ok, true, small.error);
      const big = await write("b.txt", 900);
      assert.equal(big.ok, false);
      assert.match(big.error, /^limit_bytes_written: .*more than 1 MiB written in this run/);
      assert.match(big.error, /the MCP servers were stopped/);
      const after = await write("c.txt", 1);
      assert.equal(after.ok, false);
      assert.match(after.error, /limit_bytes_written/);
      assert.equal(existsSync(join(read.workspace, "c.txt")), false);
    } finally {
      await toolset.close();
    }
  },
});
