/**
 * MCP servers run by Deno where bubblewrap does not work, through the real
 * CLI with no `bwrap` on its PATH: `mcp add` starts the fixture server
 * (tests/fixtures/mcp_deno_server.ts, stored with `-A`) and
 * `@modelcontextprotocol/server-filesystem` through `deno run npm:` under
 * Deno's permissions and pins them; a `closed-claw run` with a fake model
 * grants both through the profile, reads inside the workspace with each, and
 * a read outside is refused by Deno (`NotCapable`), not by the server; the
 * server never sees the provider key the CLI holds. A server not run by Deno
 * cannot be added there, with a line that says what to do.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { machineFacts } from "../../capsule_runtime/machine.ts";
import { runCli } from "../helpers/cli.ts";
import { type Brain, finalStep, startBrain, toolStep } from "../helpers/coordinator_brain.ts";
import { tempDir } from "../helpers/temp.ts";
import { events } from "../helpers/run_events.ts";
import { cacheDenoServers, MCP_DENO_FIXTURE as FIXTURE } from "../helpers/mcp_deno_fixture.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const FS_SERVER = "npm:@modelcontextprotocol/server-filesystem@2026.8.31";
const DENO = Deno.realPathSync(Deno.execPath());

const cacheProblem = await cacheDenoServers(FS_SERVER);

Deno.test({
  name: cacheProblem
    ? `Deno-run MCP servers through the CLI without bubblewrap (skipped: ${cacheProblem})`
    : "without bubblewrap, `deno run` MCP servers are added, granted and called through a run under Deno's permissions; a read outside the roots is refused by Deno",
  ignore: cacheProblem !== "",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using dir = await tempDir();
    const outside = join(dir.path, "elsewhere.txt");
    Deno.writeTextFileSync(outside, "the outside secret\n");
    const seen: string[] = [];
    let calls: [string, Record<string, unknown>][] = [];
    const brain: Brain = {
      complexity: "simple",
      plan: () => [{
        task_id: "use-mcp",
        title: "Use the MCP tools",
        description: "Read the notes with the MCP servers.",
        role_tag: "mcp-user",
        tools: ["file_io"],
      }],
      profileExtra: { mcp_servers: ["dn", "fsd"] },
      agent: ({ step, last }) => {
        if (step > 0) seen.push(last);
        return step < calls.length ? toolStep(...calls[step]) : finalStep("done");
      },
      synthesis: "done",
    };
    const started = await startBrain(dir.path, brain);
    const { fake } = started;
    const workspace = Deno.realPathSync(started.workspace);
    // No bubblewrap on the CLI's PATH: only Deno's permissions confine the servers.
    const env = { ...started.env, PATH: "/nonexistent" };
    Deno.writeTextFileSync(join(workspace, "notes.txt"), "hello from the workspace\n");
    const cli = (args: string[]) => runCli(args, { cwd: workspace, env });
    try {
      const dn = await cli([
        "mcp",
        "add",
        "dn",
        "--yes",
        "--env",
        "GREETING=hello",
        "--",
        DENO,
        "run",
        "-A",
        // A script given relative to where `mcp add` runs is stored as its real path.
        relative(workspace, FIXTURE),
      ]);
      assert.equal(dn.code, 0, dn.stdout + dn.stderr);
      const listed = JSON.parse((await cli(["mcp", "list", "--json"])).stdout);
      assert.deepEqual(listed[0].args, ["run", "-A", Deno.realPathSync(FIXTURE)]);
      assert.match(dn.stdout, /Note: -A dropped from its arguments/);
      assert.match(dn.stdout, /mcp__dn__read_file {2}\[read-only\]/);
      const fsd = await cli([
        "mcp",
        "add",
        "fsd",
        "--yes",
        "--",
        DENO,
        "run",
        FS_SERVER,
        workspace,
      ]);
      assert.equal(fsd.code, 0, fsd.stdout + fsd.stderr);
      assert.match(fsd.stdout, /mcp__fsd__read_text_file {2}\[read-only\]/);
      // A server not run by Deno cannot be confined here: refused in one line.
      const sh = await cli(["mcp", "add", "shell", "--yes", "--", "/bin/sh", "-c", "true"]);
      assert.equal(sh.code, 2, sh.stdout + sh.stderr);
      assert.match(sh.stderr, /bubblewrap.*does not work here/);
      assert.match(sh.stderr, /or start the server with Deno: mcp add NAME -- deno run/);
      // A Deno flag that is not known to grant nothing: refused in one line, nothing added.
      const flag = await cli([
        "mcp",
        "add",
        "pre",
        "--yes",
        "--",
        DENO,
        "run",
        "--preload",
        "x.ts",
        FIXTURE,
      ]);
      assert.equal(flag.code, 2, flag.stdout + flag.stderr);
      assert.match(flag.stderr, /^error: mcp: 'pre' cannot start: .*the Deno flag --preload/);
      assert.equal(flag.stderr.trim().split("\n").length, 1, flag.stderr);
      // A config named relative to where `mcp add` runs is stored as its real path, so a
      // run never reads one from the agent's workspace.
      Deno.writeTextFileSync(join(workspace, "srv.json"), "{}\n");
      const cfg = await cli([
        "mcp",
        "add",
        "cfg",
        "--yes",
        "--",
        DENO,
        "run",
        "-c",
        "srv.json",
        FIXTURE,
      ]);
      assert.equal(cfg.code, 0, cfg.stdout + cfg.stderr);
      const stored = JSON.parse((await cli(["mcp", "list", "--json"])).stdout)
        .find((s: { name: string }) => s.name === "cfg");
      assert.deepEqual(stored.args.slice(0, 3), ["run", "-c", join(workspace, "srv.json")]);
      assert.equal((await cli(["mcp", "remove", "cfg"])).code, 0);

      calls = [
        ["mcp__dn__read_file", { path: join(workspace, "notes.txt") }],
        ["mcp__dn__read_file", { path: outside }],
        ["mcp__fsd__read_text_file", { path: join(workspace, "notes.txt") }],
        ["mcp__dn__get_env", { names: ["GREETING", "OPENAI_API_KEY"] }],
      ];
      const run = await cli(["run", "Use the MCP servers", "--json"]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const runId = JSON.parse(run.stdout).run_id as string;
      assert.equal(seen.length, 4, seen.join("\n---\n"));
      assert.match(seen[0], /hello from the workspace/);
      assert.doesNotMatch(seen[1], /outside secret/);
      assert.match(seen[1], /NotCapable: Requires read access/);
      assert.match(seen[2], /hello from the workspace/);
      assert.match(seen[3], /GREETING.*hello/);
      assert.match(seen[3], /OPENAI_API_KEY.*null/);
      assert.doesNotMatch(seen[3], /test-key-0123456789/);
      const report = events(workspace, runId, "mcp_servers")[0];
      assert.deepEqual(
        (report.served as { server: string }[]).map((s) => s.server).sort(),
        ["dn", "fsd"],
      );
      assert.deepEqual(report.withheld, []);

      // `mcp approve` starts it the same way: a changed pin is shown and approved again.
      const path = join(workspace, ".closed_claw", "mcp_servers.json");
      const catalogue = JSON.parse(Deno.readTextFileSync(path));
      const entry = catalogue.servers.find((e: { name: string }) => e.name === "dn");
      entry.tools[0].description = "An older description";
      entry.hash = `sha256:${"0".repeat(64)}`;
      Deno.writeTextFileSync(path, JSON.stringify(catalogue));
      const approve = await cli(["mcp", "approve", "dn", "--yes"]);
      assert.equal(approve.code, 0, approve.stdout + approve.stderr);
      assert.match(approve.stdout, /- An older description/);
      assert.match(approve.stdout, /Approved: 'dn' is pinned at sha256:/);
    } finally {
      await fake.close();
    }
  },
});

const bwrapWorks = (await machineFacts()).bwrapPath !== "";

Deno.test({
  name: cacheProblem || !bwrapWorks
    ? "Deno-run MCP servers inside bubblewrap (skipped: needs bubblewrap and the cached servers)"
    : "where bubblewrap works, `deno run` MCP servers run inside it with the host's Deno cache read-only: reads in the workspace work, a file elsewhere is not there",
  ignore: cacheProblem !== "" || !bwrapWorks,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using dir = await tempDir();
    const outside = join(dir.path, "elsewhere.txt");
    Deno.writeTextFileSync(outside, "the outside secret\n");
    const seen: string[] = [];
    let calls: [string, Record<string, unknown>][] = [];
    const brain: Brain = {
      complexity: "simple",
      plan: () => [{
        task_id: "use-mcp",
        title: "Use the MCP tools",
        description: "Read the notes with the MCP servers.",
        role_tag: "mcp-user",
        tools: ["file_io"],
        mcp_servers: ["dn", "fsd"],
      }],
      agent: ({ step, last }) => {
        if (step > 0) seen.push(last);
        return step < calls.length ? toolStep(...calls[step]) : finalStep("done");
      },
      synthesis: "done",
    };
    const started = await startBrain(dir.path, brain);
    const workspace = Deno.realPathSync(started.workspace);
    Deno.writeTextFileSync(join(workspace, "notes.txt"), "hello from the workspace\n");
    const cli = (args: string[]) => runCli(args, { cwd: workspace, env: started.env });
    try {
      // Inside bubblewrap the stored flags stand (the sandbox confines it); its code is bound
      // with --read, as for a node server.
      const fixtures = join(REPO, "tests", "fixtures");
      const dn = await cli([
        "mcp",
        "add",
        "dn",
        "--yes",
        "--read",
        fixtures,
        "--",
        DENO,
        "run",
        "-A",
        FIXTURE,
      ]);
      assert.equal(dn.code, 0, dn.stdout + dn.stderr);
      assert.doesNotMatch(dn.stdout, /dropped/);
      const fsd = await cli([
        "mcp",
        "add",
        "fsd",
        "--yes",
        "--",
        DENO,
        "run",
        "-A",
        FS_SERVER,
        "/",
      ]);
      assert.equal(fsd.code, 0, fsd.stdout + fsd.stderr);
      calls = [
        ["mcp__dn__read_file", { path: join(workspace, "notes.txt") }],
        ["mcp__dn__read_file", { path: outside }],
        ["mcp__fsd__read_text_file", { path: outside }],
        ["mcp__dn__get_env", { names: ["OPENAI_API_KEY", "DENO_DIR"] }],
      ];
      const run = await cli(["run", "Use the MCP servers", "--json"]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.equal(seen.length, 4, seen.join("\n---\n"));
      assert.match(seen[0], /hello from the workspace/);
      // -A, yet the file is simply not in its sandbox (for server-filesystem with root / too).
      assert.doesNotMatch(seen[1] + seen[2], /outside secret/);
      assert.match(seen[1], /NotFound|No such file/);
      assert.match(seen[2], /ENOENT|no such file/i);
      assert.match(seen[3], /OPENAI_API_KEY\\?":null/);
      assert.match(seen[3], /DENO_DIR\\?":\\?"\//);
    } finally {
      await started.fake.close();
    }
  },
});
