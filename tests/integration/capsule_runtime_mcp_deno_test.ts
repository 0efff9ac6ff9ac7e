/**
 * Where bubblewrap does not work (forced here with `osSandbox: false`), a
 * stdio MCP server started with `deno run` runs as a separate process under
 * Deno permissions from the agent's manifest and the catalogue entry: the
 * fixture server (tests/fixtures/mcp_deno_server.ts, no checks of its own,
 * stored with `-A --allow-net`, which are dropped) reads inside the agent's
 * roots, while a read outside, a write without file_write, a fetch, a program
 * and other variables are refused by Deno itself (`NotCapable`), and the
 * process's own environment (/proc/<pid>/environ) holds exactly the fixed
 * variables and the entry's, no provider key. A server run by node is withheld
 * there, with a reason that says to install bubblewrap or use Deno.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { planLaunch } from "../../capsule_runtime/launch_plan.ts";
import { DENIED_NETWORKS } from "../../capsule_runtime/launch_network.ts";
import {
  declarationsHash,
  type McpServerEntry,
  type McpToolDeclaration,
  saveServer,
} from "../../capsule_runtime/mcp_catalogue.ts";
import {
  connectDenoMcpServer,
  denoServerCommand,
  type DenoServerInput,
  hostDenoDir,
  withDenoCache,
} from "../../capsule_runtime/mcp_deno.ts";
import { McpToolset } from "../../capsule_runtime/mcp_tools.ts";
import type { CapsuleEvent, RunCapsuleOptions } from "../../capsule_runtime/capsule_types.ts";
import { type CapsuleFixture, capsuleFixture } from "../fixtures/capsule_harness.ts";
import type { LaunchPlan } from "../../capsule_runtime/launcher.ts";
import { tempDir } from "../helpers/temp.ts";
import { waitFor } from "../helpers/wait.ts";
import { DEFAULT_LIMITS } from "../../capsule_runtime/limits.ts";
import { cacheDenoServers, MCP_DENO_FIXTURE as FIXTURE } from "../helpers/mcp_deno_fixture.ts";

const DENO = Deno.realPathSync(Deno.execPath());

const cacheProblem = await cacheDenoServers();

/**
 * A test that starts the Deno MCP fixture: skipped, saying why, when its
 * imports could not be cached here; servers it starts outlive the test's
 * own resource accounting (they are stopped by the toolset, not the test).
 */
function denoServerTest(what: string, name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: cacheProblem
      ? `${what} (skipped: the fixture's imports are not cached: ${cacheProblem})`
      : name,
    ignore: cacheProblem !== "",
    sanitizeResources: false,
    sanitizeOps: false,
    fn,
  });
}

const warnings = (events: CapsuleEvent[]) =>
  events.flatMap((e) => e.type === "log" && e.level === "warn" ? [e.msg] : []);

/** A server's permissions with nothing granted (for command lines that must be refused). */
const NOTHING_GRANTED: DenoServerInput = {
  workspace: "/ws",
  readRoots: [],
  writeRoots: [],
  deniedPaths: [],
  readOnlyDirs: [],
  networkHosts: [],
  denoDir: "",
};

/** A `deno run` catalogue entry for the fixture server, not yet pinned; `over` changes any field. */
function denoEntry(over: Partial<McpServerEntry> = {}): McpServerEntry {
  return {
    name: "dn",
    command: DENO,
    args: ["run", FIXTURE],
    read_paths: [],
    env: {},
    tools: [],
    hash: "",
    approved_at: "",
    ...over,
  };
}

/** The fixture capsule's MCP toolset without bubblewrap; its events go to `onEvent`. */
function openToolset(fx: CapsuleFixture, plan: LaunchPlan, onEvent: (e: CapsuleEvent) => void) {
  const options = {
    settings: fx.settings,
    manifest: fx.manifest,
    workspace: fx.workspace,
    osSandbox: false,
  } as RunCapsuleOptions;
  return McpToolset.open(options, plan, onEvent);
}

/**
 * Saves `entry` pinned to the declarations of one start in `workspace` (as
 * `mcp add` would); returns them.
 */
async function pinFromOneStart(
  home: string,
  entry: McpServerEntry,
  workspace: string,
): Promise<McpToolDeclaration[]> {
  const first = await connectDenoMcpServer(entry, {
    workspace,
    readRoots: [],
    writeRoots: [],
    deniedPaths: [],
    readOnlyDirs: [],
    networkHosts: [],
    denoDir: await hostDenoDir(),
  });
  saveServer(home, {
    ...entry,
    tools: first.tools,
    hash: declarationsHash(first.tools),
    approved_at: new Date().toISOString(),
  });
  await first.close();
  return first.tools;
}

denoServerTest(
  "Deno-run MCP server without bubblewrap",
  "without bubblewrap a `deno run` MCP server runs under Deno permissions from the manifest: reads in its roots, Deno refuses the rest, no provider key in its environment",
  async () => {
    await using fx = await capsuleFixture({
      tools: ["file_io"],
      permissions: { read_roots: ["."], mcp_servers: ["dn"] },
    });
    Deno.writeTextFileSync(join(fx.workspace, "notes.txt"), "hello from the workspace\n");
    Deno.writeTextFileSync(join(fx.workspace, ".env"), "OPENAI_API_KEY=sk-in-dotenv\n");
    const outside = join(fx.root, "elsewhere.txt");
    Deno.writeTextFileSync(outside, "the outside secret\n");
    const entry = denoEntry({
      // What a user might copy from a README: the broad flags must not widen anything.
      args: ["run", "-A", "--allow-net", FIXTURE],
      env: { GREETING: "hello" },
    });
    const workspace = Deno.realPathSync(fx.workspace);
    const pinned = await pinFromOneStart(fx.settings.homeDir, entry, workspace);

    const hostKey = Deno.env.get("OPENAI_API_KEY");
    Deno.env.set("OPENAI_API_KEY", "sk-host-key-must-not-leak");
    const plan = await planLaunch(fx.settings, fx.manifest, { osSandbox: false });
    assert.equal(plan.sandbox, "deno-only");
    const events: CapsuleEvent[] = [];
    const toolset = await openToolset(fx, plan, (e) => events.push(e));
    if (hostKey === undefined) Deno.env.delete("OPENAI_API_KEY");
    else Deno.env.set("OPENAI_API_KEY", hostKey);
    assert.ok(toolset, JSON.stringify(events));
    const call = (tool: string, args: Record<string, unknown>) =>
      toolset.call(`mcp__dn__${tool}`, args, new AbortController().signal);
    try {
      const report = events.find((e) => e.type === "mcp_servers");
      assert.deepEqual(report, {
        type: "mcp_servers",
        served: [{
          server: "dn",
          tools: pinned.map((t) => `mcp__dn__${t.name}`),
        }],
        withheld: [],
      });
      assert.match(
        warnings(events).join("\n"),
        /MCP server 'dn': -A --allow-net dropped from its stored arguments/,
      );
      // Inside the agent's roots: read.
      const inside = await call("read_file", { path: join(workspace, "notes.txt") });
      assert.equal(inside.ok, true, inside.error);
      assert.match(String(inside.result.text), /hello from the workspace/);
      // Outside them: Deno refuses, although the server itself checks nothing.
      const out = await call("read_file", { path: outside });
      assert.equal(out.ok, false);
      assert.match(out.error, /^NotCapable: Requires read access to ".*elsewhere\.txt"/);
      // A secret file inside the roots and the data folder are denied too.
      const dotenv = await call("read_file", { path: join(workspace, ".env") });
      assert.match(dotenv.error, /^NotCapable: Requires read access/);
      const data = await call("read_file", { path: join(fx.settings.homeDir, "mcp_servers.json") });
      assert.match(data.error, /^NotCapable: Requires read access/);
      // No file_write: no write anywhere; no network_hosts: no network; no programs.
      const write = await call("write_file", { path: join(workspace, "x.txt"), content: "x" });
      assert.match(write.error, /^NotCapable: Requires write access/);
      const fetched = await call("fetch_url", { url: "http://93.184.215.16/" });
      assert.match(fetched.error, /^NotCapable: Requires net access/);
      const ran = await call("run_program", { program: "/bin/true" });
      assert.match(ran.error, /^NotCapable: Requires run access/);
      // Its variables: the entry's only (others read as unset, whatever the process holds).
      const env = await call("get_env", { names: ["GREETING", "OPENAI_API_KEY", "HOME", "PATH"] });
      assert.deepEqual(JSON.parse(String(env.result.text)), {
        GREETING: "hello",
        OPENAI_API_KEY: null,
        HOME: null,
        PATH: null,
      });
      // The process's own environment: the fixed variables and the entry's, nothing of the host.
      const pid = Number((await call("whoami", {})).result.text);
      const environ = Deno.readTextFileSync(`/proc/${pid}/environ`).split("\0").filter(Boolean);
      assert.deepEqual(environ.map((kv) => kv.split("=")[0]).sort(), [
        "DENO_DIR",
        "DENO_NO_PACKAGE_JSON",
        "DENO_NO_UPDATE_CHECK",
        "GREETING",
        "HOME",
        "LANG",
        "NO_COLOR",
        "PATH",
        "TMPDIR",
      ]);
      assert.doesNotMatch(environ.join("\n"), /sk-host-key|OPENAI|ANTHROPIC|GEMINI/);
      // The command line: Deno's permissions from the manifest, none from the stored args.
      const cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
      assert.ok(cmdline.includes("--no-prompt"), cmdline.join(" "));
      assert.ok(!cmdline.includes("-A") && !cmdline.includes("--allow-net"), cmdline.join(" "));
      assert.ok(cmdline.includes(`--allow-read=${workspace}`), cmdline.join(" "));
      assert.ok(!cmdline.some((w) => /^--allow-(write|net|run|ffi|sys|all)/.test(w)));
      // The manifest's program limits hold it (prlimit, memory as data), where prlimit is here.
      if (plan.limits?.prlimitPath) {
        const limits = Deno.readTextFileSync(`/proc/${pid}/limits`);
        const data = plan.limits.limits.memory_mb * 1024 * 1024;
        assert.match(limits, new RegExp(`Max data size\\s+${data}\\s+${data}`));
        // Not RLIMIT_NPROC: outside a user namespace of its own it would count the user's processes.
        const nproc = plan.limits.limits.processes;
        assert.doesNotMatch(limits, new RegExp(`Max processes\\s+${nproc}\\s`));
        assert.match(limits, new RegExp(`Max open files\\s+${plan.limits.limits.open_files}\\s`));
      }
    } finally {
      await toolset.close();
    }
  },
);

Deno.test({
  // The command line only: what these flags let a running server do is Deno's to enforce.
  name:
    "denoServerCommand: writes only in the write roots, nets only the exact network_hosts, private ranges denied",
  fn: () => {
    const entry = denoEntry({
      args: ["run", "--allow-all", "-R", "--config", "/x/deno.json", FIXTURE, "--allow-run"],
      read_paths: ["/opt/server-code"],
      env: { A: "1", B: "2" },
    });
    const { argv, dropped } = denoServerCommand(entry, {
      workspace: "/ws",
      readRoots: ["/ws"],
      writeRoots: ["/ws/out"],
      deniedPaths: ["/ws/.env", "/ws/.closed_claw"],
      readOnlyDirs: ["/product"],
      networkHosts: ["api.example.com", "*.example.org"],
      denoDir: "/cache/deno",
    });
    assert.deepEqual(dropped, ["--allow-all", "-R"]);
    const deno = argv.indexOf(DENO);
    assert.deepEqual(argv.slice(0, 2), ["/usr/bin/env", "-i"]);
    assert.deepEqual(argv.slice(deno), [
      DENO,
      "run",
      "--no-prompt",
      "--cached-only",
      "--allow-read=/ws,/ws/out,/opt/server-code",
      "--allow-write=/ws/out",
      "--deny-read=/ws/.env,/ws/.closed_claw",
      "--deny-write=/ws/.env,/ws/.closed_claw,/product",
      "--allow-net=api.example.com",
      `--deny-net=${DENIED_NETWORKS.join(",")}`,
      "--allow-sys=hostname",
      "--allow-env=A,B",
      "--ignore-env",
      "--no-lock",
      "--config",
      "/x/deno.json",
      FIXTURE,
      // The script's own arguments are its own.
      "--allow-run",
    ]);
    // A flag that is not known to grant nothing refuses the start, in one line.
    assert.throws(
      () =>
        denoServerCommand(
          { ...entry, args: ["run", "--preload", "x.ts", FIXTURE] },
          NOTHING_GRANTED,
        ),
      /the Deno flag --preload, which Closed Claw does not pass on/,
    );
    // A config, import map or CA named by a relative path would be read from the agent's
    // workspace, where an agent may have written one of its own: refused.
    for (const flags of [["-c", "deno.json"], ["--import-map=./map.json"], ["--cert", "ca.pem"]]) {
      assert.throws(
        () => denoServerCommand({ ...entry, args: ["run", ...flags, FIXTURE] }, NOTHING_GRANTED),
        /names the relative path .*read from the agent's workspace/,
      );
    }
  },
});

Deno.test("without bubblewrap a stdio MCP server run by node is withheld, with the way out", async () => {
  await using fx = await capsuleFixture({
    tools: ["file_io"],
    permissions: { read_roots: ["."], mcp_servers: ["nodefs"] },
  });
  saveServer(fx.settings.homeDir, {
    name: "nodefs",
    command: "/usr/bin/node",
    args: ["/opt/server-filesystem/dist/index.js", "/"],
    read_paths: [],
    env: {},
    tools: [],
    hash: declarationsHash([]),
    approved_at: new Date().toISOString(),
  });
  const plan = await planLaunch(fx.settings, fx.manifest, { osSandbox: false });
  const events: CapsuleEvent[] = [];
  const toolset = await openToolset(fx, plan, (e) => events.push(e));
  assert.equal(toolset, null);
  const report = events.find((e) => e.type === "mcp_servers") as
    | Extract<CapsuleEvent, { type: "mcp_servers" }>
    | undefined;
  assert.deepEqual(report?.served, []);
  assert.deepEqual(report?.withheld.map((w) => w.server), ["nodefs"]);
  assert.match(
    report!.withheld[0].reason,
    /bubblewrap does not work here.*install bubblewrap, or run the server with Deno/,
  );
});

Deno.test("without bubblewrap a Deno-run MCP server is withheld when the symlink scan stopped early", async () => {
  await using fx = await capsuleFixture({
    tools: ["file_io"],
    permissions: { read_roots: ["."], mcp_servers: ["dn"] },
  });
  for (let i = 0; i < 5; i++) Deno.writeTextFileSync(join(fx.workspace, `f${i}.txt`), "x");
  saveServer(fx.settings.homeDir, {
    ...denoEntry(),
    hash: declarationsHash([]),
    approved_at: new Date().toISOString(),
  });
  const plan = await planLaunch(fx.settings, fx.manifest, {
    osSandbox: false,
    symlinkScanLimit: 2,
    secretScanLimit: 2,
  });
  assert.equal(plan.incompleteSymlinkScan, true);
  const events: CapsuleEvent[] = [];
  assert.equal(await openToolset(fx, plan, (e) => events.push(e)), null);
  const report = events.find((e) => e.type === "mcp_servers") as
    | Extract<CapsuleEvent, { type: "mcp_servers" }>
    | undefined;
  assert.deepEqual(report?.withheld.map((w) => w.server), ["dn"]);
  assert.match(report!.withheld[0].reason, /too many entries to check every symlink/);
});

denoServerTest(
  "Deno-run MCP server writes",
  "without bubblewrap a Deno-run MCP server of an agent with file_write writes in its write roots only",
  async () => {
    await using fx = await capsuleFixture({
      tools: ["file_io"],
      permissions: {
        read_roots: ["."],
        write_roots: ["out"],
        file_write: true,
        mcp_servers: ["dn"],
      },
    });
    Deno.mkdirSync(join(fx.workspace, "out"));
    const workspace = Deno.realPathSync(fx.workspace);
    const entry = denoEntry();
    await pinFromOneStart(fx.settings.homeDir, entry, workspace);
    const plan = await planLaunch(fx.settings, fx.manifest, { osSandbox: false });
    const events: CapsuleEvent[] = [];
    const toolset = await openToolset(fx, plan, (e) => events.push(e));
    assert.ok(toolset, JSON.stringify(events));
    const write = (path: string) =>
      toolset.call("mcp__dn__write_file", { path, content: "x" }, new AbortController().signal);
    try {
      const inside = await write(join(workspace, "out", "a.txt"));
      assert.equal(inside.ok, true, inside.error);
      assert.equal(Deno.readTextFileSync(join(workspace, "out", "a.txt")), "x");
      const beside = await write(join(workspace, "b.txt"));
      assert.match(beside.error, /^NotCapable: Requires write access to ".*b\.txt"/);
      const manifest = await write(join(fx.settings.agentsDir, fx.manifest.agent_id, "x.txt"));
      assert.match(manifest.error, /^NotCapable: Requires write access/);
    } finally {
      await toolset.close();
    }
  },
);

Deno.test("inside bubblewrap a Deno server sees the Deno cache read-only, with --cached-only and --no-config; others are unchanged", async () => {
  await using dir = await tempDir();
  const denoDir = join(dir.path, "deno");
  Deno.mkdirSync(join(denoDir, "location_data"), { recursive: true });
  const sandbox = {
    bwrapPath: "/usr/bin/bwrap",
    systemPaths: [],
    etcPaths: [],
    workspace: "/ws",
    readRoots: ["/ws"],
    writeRoots: [],
    hiddenDirs: [],
    readOnlyDirs: [],
    secrets: [],
    env: {},
  };
  const entry = denoEntry({ args: ["run", "-A", FIXTURE], env: { DENO_DIR: "/mine" } });
  const run = withDenoCache(entry, sandbox, denoDir);
  assert.deepEqual(run.entry.args, ["run", "--cached-only", "--no-config", "-A", FIXTURE]);
  assert.equal(run.entry.env.DENO_DIR, "/mine", "the entry's own variables win");
  assert.equal(run.entry.env.DENO_NO_PACKAGE_JSON, "1");
  assert.deepEqual(run.sandbox.readRoots, ["/ws", denoDir]);
  assert.deepEqual(run.sandbox.secrets, [{ path: join(denoDir, "location_data"), isDir: true }]);
  const configured = withDenoCache(
    { ...entry, args: ["run", "--config", "/x/deno.json", "--cached-only", FIXTURE] },
    sandbox,
    denoDir,
  );
  assert.deepEqual(configured.entry.args, [
    "run",
    "--config",
    "/x/deno.json",
    "--cached-only",
    FIXTURE,
  ]);
  const node = { ...entry, command: "/usr/bin/node", args: ["server.js"] };
  assert.equal(withDenoCache(node, sandbox, denoDir).entry, node);
});

denoServerTest(
  "MCP write budget",
  "an MCP server that writes on after it answered is stopped once the run's write budget is spent, with no further call",
  async () => {
    await using fx = await capsuleFixture({
      tools: ["file_io"],
      permissions: { read_roots: ["."], write_roots: ["."], file_write: true, mcp_servers: ["dn"] },
    });
    fx.manifest = { ...fx.manifest, limits: { ...DEFAULT_LIMITS, bytes_written_mb: 1 } };
    const entry = denoEntry();
    const workspace = Deno.realPathSync(fx.workspace);
    await pinFromOneStart(fx.settings.homeDir, entry, workspace);
    const plan = await planLaunch(fx.settings, fx.manifest, { osSandbox: false });
    const toolset = await openToolset(fx, plan, () => {});
    assert.ok(toolset);
    try {
      const file = join(workspace, "grows.bin");
      const started = await toolset.call(
        "mcp__dn__write_in_background",
        { path: file },
        new AbortController().signal,
      );
      assert.equal(started.ok, true, started.error);
      // No call follows: the watch alone must stop it. Closing gives a server 2 s to leave
      // after its stdin ends (the MCP SDK's grace), then ends it; it writes 2.5 MiB/s.
      const size = () => {
        try {
          return Deno.statSync(file).size;
        } catch {
          return 0; // not made yet
        }
      };
      await waitFor(() => size() > 1024 * 1024, "the budget to be passed");
      let last = -1;
      await waitFor(
        async () => {
          const now = size();
          if (now === last) return true;
          last = now;
          await new Promise((r) => setTimeout(r, 1_000));
          return false;
        },
        "the server to stop writing",
        15_000,
      );
      assert.ok(last < 16 * 1024 * 1024, `${last} bytes written`);
      const next = await toolset.call(
        "mcp__dn__read_file",
        { path: file },
        new AbortController().signal,
      );
      assert.match(next.error, /^limit_bytes_written: .*\(the MCP servers were stopped\)$/);
    } finally {
      await toolset.close();
    }
  },
);
