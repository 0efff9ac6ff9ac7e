import assert from "node:assert/strict";
import {
  buildLaunchPlan,
  DENIED_NETWORKS,
  type LaunchInput,
  resolvePermissions,
} from "../../capsule_runtime/launcher.ts";
import { parseManifest, type ToolName } from "../../capsule_runtime/manifest.ts";

function input(
  tools: ToolName[],
  extra: Partial<LaunchInput> = {},
  perms: Record<string, unknown> = {},
): LaunchInput {
  const manifest = parseManifest({
    agent_id: "worker-1a2b",
    name: "Worker",
    created_at: "2026-01-01T00:00:00Z",
    tools_allowlist: tools,
    permissions: { read_roots: ["."], write_roots: ["out"], file_write: false, ...perms },
  });
  return {
    manifest,
    permissions: resolvePermissions(manifest, "/ws", ["/ws"]),
    capsuleDir: "/data/agents/worker-1a2b",
    homeDir: "/data",
    agentsDir: "/data/agents",
    // The whole data folder is denied and hidden (planLaunch lists it with the secrets).
    secretPaths: ["/data", "/ws/.env", "/root/.ssh"],
    hiddenDirs: ["/data"],
    existingSecrets: [{ path: "/ws/.env", isDir: false }],
    workspace: "/ws",
    denoPath: "/usr/bin/deno",
    guestEntry: "/src/guest/main.ts",
    guestSources: ["/src/guest"],
    denoDir: "/data/deno_cache",
    bwrapPath: "",
    systemPaths: [{ path: "/usr" }, { path: "/bin", symlinkTarget: "usr/bin" }],
    etcPaths: ["/etc/resolv.conf"],
    allowUnsandboxedExec: false,
    ...extra,
  };
}

/**
 * A bare input: no secrets, no hidden folders given (the data folder is then
 * hidden as `homeDir`), no system paths, bubblewrap found. Use with
 * BARE_TOOLS and BARE_PERMS (the manifest's default permissions).
 */
const BARE: Partial<LaunchInput> = {
  secretPaths: [],
  hiddenDirs: undefined,
  existingSecrets: undefined,
  guestSources: [],
  bwrapPath: "/usr/bin/bwrap",
  systemPaths: [],
  etcPaths: [],
};
const BARE_TOOLS: ToolName[] = ["file_io", "terminal", "http_api"];
const BARE_PERMS = { write_roots: [] };

/** A flag's list; a bare flag (e.g. `--allow-run`, any program) reads as ["*"]. */
const flag = (flags: string[], name: string) =>
  flags.includes(name)
    ? ["*"]
    : flags.find((f) => f.startsWith(`${name}=`))?.split("=")[1]?.split(",") ?? [];

Deno.test("every capsule gets --no-prompt, --cached-only and no files of its own", () => {
  const plan = buildLaunchPlan(input([]));
  for (const f of ["--no-prompt", "--cached-only", "--no-config", "--no-npm", "--no-remote"]) {
    assert.ok(plan.denoFlags.includes(f), f);
  }
  // The guest needs no files: with no file tool there is no read or write grant at all.
  assert.deepEqual(flag(plan.denoFlags, "--allow-read"), []);
  assert.deepEqual(flag(plan.denoFlags, "--allow-write"), []);
  assert.ok(
    !plan.denoFlags.some((f) =>
      f.startsWith("--allow-net") || f.startsWith("--allow-run") || f.startsWith("--allow-env")
    ),
  );
  const denied = flag(plan.denoFlags, "--deny-read");
  for (
    const p of [
      "/data/agents/worker-1a2b/manifest.json",
      "/data/agents/worker-1a2b/skill.md",
      "/data",
      "/ws/.env",
      "/root/.ssh",
    ]
  ) {
    // Denied by itself, or by a denied folder it lies in (the data folder covers the capsule's files).
    assert.ok(denied.some((d) => p === d || p.startsWith(d + "/")), `${p} is denied`);
  }
  assert.deepEqual(flag(plan.denoFlags, "--deny-write"), denied);
  assert.equal(plan.sandbox, "deno-only");
  assert.equal(plan.env.OPENAI_API_KEY, undefined);
  assert.deepEqual(Object.keys(plan.env).sort(), [
    "CLOSED_CLAW_CAPSULE",
    "DENO_DIR",
    "DENO_NO_UPDATE_CHECK",
    "HOME",
    "LANG",
    "NO_COLOR",
    "PATH",
  ]);
});

Deno.test("the table: each tool adds exactly its permissions", () => {
  const cases: {
    tools: ToolName[];
    perms?: Record<string, unknown>;
    read?: string[];
    write?: string[];
    net?: boolean;
    run?: string[];
    sandbox?: boolean;
    /** The egress proxy works here (with bubblewrap). */
    egress?: boolean;
    /** The tools left after refusals; default: all of `tools`. */
    left?: ToolName[];
  }[] = [
    { tools: ["file_io"], read: ["/ws"], write: [] },
    { tools: ["file_io"], perms: { file_write: true }, read: ["/ws"], write: ["/ws/out"] },
    { tools: ["file_io"], perms: { read_roots: ["docs", "/etc"] }, read: ["/ws/docs"] },
    { tools: ["http_api"], net: true },
    { tools: ["web_fetch"], net: true },
    { tools: ["sql_query"], perms: { sql_paths: ["db/app.sqlite"] }, read: ["/ws/db/app.sqlite"] },
    // Programs of exec tools run in a sandbox the host starts: the capsule gets nothing for them.
    { tools: ["terminal"], sandbox: true },
    { tools: ["python_exec"], sandbox: true },
    { tools: ["terminal", "file_io"], sandbox: true, read: ["/ws"] },
    // Without the egress proxy, exec tools never share a capsule with a network tool (see the
    // refusal test below); with it they do, and still get no --allow-run.
    {
      tools: ["terminal", "python_exec", "web_fetch"],
      sandbox: true,
      net: true,
      left: ["web_fetch"],
    },
    {
      tools: ["terminal", "python_exec", "web_fetch"],
      sandbox: true,
      egress: true,
      net: true,
    },
  ];
  for (const c of cases) {
    const plan = buildLaunchPlan(
      input(
        c.tools,
        c.sandbox ? { bwrapPath: "/usr/bin/bwrap", egressProxy: c.egress } : {},
        c.perms,
      ),
    );
    const label = c.tools.join("+") + JSON.stringify(c.perms ?? {});
    const read = flag(plan.denoFlags, "--allow-read").filter((p) =>
      p !== "/data/agents/worker-1a2b"
    );
    assert.deepEqual(read, c.read ?? [], `${label} read`);
    const write = flag(plan.denoFlags, "--allow-write").filter((p) =>
      p !== "/data/agents/worker-1a2b/logs"
    );
    assert.deepEqual(write, c.write ?? [], `${label} write`);
    assert.equal(plan.denoFlags.includes("--allow-net"), c.net ?? false, `${label} net`);
    if (c.net) {
      assert.deepEqual(flag(plan.denoFlags, "--deny-net"), DENIED_NETWORKS, `${label} deny-net`);
    }
    assert.deepEqual(flag(plan.denoFlags, "--allow-run"), c.run ?? [], `${label} run`);
    assert.deepEqual(plan.tools, c.left ?? c.tools, `${label} tools`);
  }
});

Deno.test("a manifest cannot widen its roots beyond the run's allowed roots", () => {
  const m = input(["file_io"], {}, {
    read_roots: ["/", "../..", "sub"],
    write_roots: ["/tmp"],
    file_write: true,
  });
  assert.deepEqual(m.permissions.readRoots, ["/ws/sub"]);
  assert.deepEqual(m.permissions.writeRoots, []);
});

Deno.test("without bubblewrap, terminal and python_exec are refused unless the user opts in", () => {
  const refused = buildLaunchPlan(input(["terminal", "python_exec", "file_io"]));
  assert.deepEqual(refused.tools, ["file_io"]);
  assert.deepEqual(refused.refusedTools.map((r) => r.tool), ["terminal", "python_exec"]);
  assert.match(refused.refusedTools[0].reason, /CLOSED_CLAW_ALLOW_UNSANDBOXED_EXEC/);
  assert.deepEqual(flag(refused.denoFlags, "--allow-run"), []);
  const optIn = buildLaunchPlan(input(["terminal"], { allowUnsandboxedExec: true }));
  assert.deepEqual(optIn.tools, ["terminal"]);
  // Even then the capsule never starts programs itself: the host does.
  assert.deepEqual(flag(optIn.denoFlags, "--allow-run"), []);
});

Deno.test("with bubblewrap the whole capsule runs inside it, network only when granted", () => {
  const plan = buildLaunchPlan(input(["file_io"], { bwrapPath: "/usr/bin/bwrap" }));
  assert.equal(plan.command, "/usr/bin/bwrap");
  assert.equal(plan.sandbox, "bwrap");
  const args = plan.args;
  for (const a of ["--unshare-all", "--die-with-parent", "--new-session"]) {
    assert.ok(args.includes(a), a);
  }
  assert.ok(!args.includes("--share-net"), "no network without a network tool");
  const pairs = (opt: string) =>
    args.flatMap((a, i) => (a === opt ? [`${args[i + 1]} ${args[i + 2]}`] : []));
  assert.ok(pairs("--ro-bind-try").includes("/ws /ws"), "workspace read-only");
  assert.ok(!pairs("--bind-try").length, "nothing writable without file_write");
  // The data folder is hidden whole: not even the capsule's own folder is visible.
  assert.ok(args.join(" ").includes("--tmpfs /data"));
  assert.ok(!args.includes("/data/agents/worker-1a2b"));
  assert.ok(pairs("--symlink").includes("usr/bin /bin"));
  assert.ok(
    !args.includes("/etc/shadow") && !pairs("--ro-bind").includes("/etc /etc"),
    "never all of /etc",
  );
  const sep = args.indexOf("--");
  assert.deepEqual(args.slice(sep + 1, sep + 3), ["/usr/bin/deno", "run"]);
  assert.equal(args.at(-1), "/src/guest/main.ts");
  const net = buildLaunchPlan(input(["web_fetch"], { bwrapPath: "/usr/bin/bwrap" }));
  assert.ok(net.args.includes("--share-net"));
  const write = buildLaunchPlan(
    input(["file_io"], { bwrapPath: "/usr/bin/bwrap" }, { file_write: true }),
  );
  const writePairs = write.args.flatMap((
    a,
    i,
  ) => (a === "--bind-try" ? [`${write.args[i + 1]}`] : []));
  assert.deepEqual(writePairs, ["/ws/out"]);
  // The .env inside the visible workspace is masked.
  assert.ok(plan.args.join(" ").includes("--ro-bind /dev/null /ws/.env"));
});

Deno.test("the plan is a pure function of its input", () => {
  const a = buildLaunchPlan(input(["file_io", "web_fetch"], { bwrapPath: "/usr/bin/bwrap" }));
  const b = buildLaunchPlan(input(["file_io", "web_fetch"], { bwrapPath: "/usr/bin/bwrap" }));
  assert.deepEqual(a, b);
});

Deno.test("without the egress proxy, exec tools are refused next to a network tool, with the reason", () => {
  const plan = buildLaunchPlan(
    input(["terminal", "http_api", "python_exec"], { bwrapPath: "/usr/bin/bwrap" }),
  );
  assert.deepEqual(plan.tools, ["http_api"]);
  assert.deepEqual(plan.refusedTools.map((r) => r.tool), ["terminal", "python_exec"]);
  assert.match(plan.refusedTools[0].reason, /separate agents/);
  assert.ok(!plan.denoFlags.some((f) => f.startsWith("--allow-run")));
  assert.ok(plan.args.includes("--share-net"), "the network tool still works");
});

Deno.test("with the egress proxy, exec tools share a capsule with network tools; without bubblewrap the old rule holds", () => {
  const tools: ToolName[] = ["terminal", "http_api", "python_exec"];
  const hosts = { network_hosts: ["api.example.com"] };
  const plan = buildLaunchPlan(
    input(tools, { bwrapPath: "/usr/bin/bwrap", egressProxy: true }, hosts),
  );
  assert.deepEqual(plan.tools, tools);
  assert.deepEqual(plan.refusedTools, []);
  // The capsule never starts programs, whatever it shares: the host does, in their own sandbox.
  assert.ok(!plan.denoFlags.some((f) => f.startsWith("--allow-run")));
  assert.ok(plan.args.includes("--share-net"), "the network tool works");
  assert.deepEqual(flag(plan.denoFlags, "--deny-net"), DENIED_NETWORKS);
  // An exec tool alone never makes the capsule share the network.
  const alone = buildLaunchPlan(
    input(["terminal"], { bwrapPath: "/usr/bin/bwrap", egressProxy: true }, hosts),
  );
  assert.ok(!alone.args.includes("--share-net"));
  assert.ok(!alone.denoFlags.some((f) => f.startsWith("--allow-net")));
  // Without bubblewrap the proxy cannot hold programs: exec tools are refused unless opted in.
  const bare = buildLaunchPlan(input(tools, { egressProxy: true }, hosts));
  assert.deepEqual(bare.tools, ["http_api"]);
  assert.match(bare.refusedTools[0].reason, /CLOSED_CLAW_ALLOW_UNSANDBOXED_EXEC/);
});

Deno.test("exact network_hosts: Deno allows only those names and their public addresses", () => {
  const cases: {
    hosts: string[];
    addresses?: string[];
    /** The --allow-net list; null for a bare --allow-net, [] for none at all. */
    allow: string[] | null;
    warning?: RegExp;
  }[] = [
    { hosts: [], addresses: ["93.184.215.16"], allow: null },
    {
      hosts: ["API.Example.com."],
      addresses: ["93.184.215.16", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
      allow: ["api.example.com", "93.184.215.16", "[2606:2800:21f:cb07:6820:80da:af6b:8b2c]"],
    },
    // Private answers are never allowed (Deno 2.9 cannot deny IPv6 ranges, so this matters).
    {
      hosts: ["api.example.com"],
      addresses: ["10.0.0.5", "fc00::1", "::ffff:127.0.0.1", "93.184.215.16"],
      allow: ["api.example.com", "93.184.215.16"],
    },
    { hosts: ["93.184.215.16"], allow: ["93.184.215.16"] },
    { hosts: ["127.0.0.1", "api.example.com"], allow: ["api.example.com"], warning: /public/ },
    { hosts: ["https://x.example/"], allow: [], warning: /not a host name/ },
    { hosts: ["a.example,1.1.1.1"], allow: [], warning: /not a host name/ },
    { hosts: ["*.example.com", "api.other.com"], allow: null, warning: /not Deno/ },
  ];
  for (const c of cases) {
    const label = JSON.stringify(c.hosts);
    const { denoFlags, warnings } = buildLaunchPlan(
      input(["http_api"], { networkAddresses: c.addresses }, { network_hosts: c.hosts }),
    );
    if (c.allow === null) assert.ok(denoFlags.includes("--allow-net"), label);
    else assert.ok(!denoFlags.includes("--allow-net"), label);
    assert.deepEqual(flag(denoFlags, "--allow-net").filter((f) => f !== "*"), c.allow ?? [], label);
    assert.deepEqual(flag(denoFlags, "--deny-net"), DENIED_NETWORKS, `${label} deny-net`);
    if (c.warning) assert.match(warnings.join("\n"), c.warning, label);
    else assert.deepEqual(warnings, [], label);
  }
});

Deno.test("an incomplete symlink scan: path tools refused without bubblewrap, a warning inside", () => {
  const scan = { incompleteSymlinkScan: { limit: 5 } };
  const tools: ToolName[] = ["file_io", "sql_query", "web_fetch"];
  const perms = { sql_paths: ["db/app.sqlite"] };
  const bare = buildLaunchPlan(input(tools, scan, perms));
  assert.deepEqual(bare.tools, ["web_fetch"]);
  assert.deepEqual(bare.refusedTools.map((r) => r.tool), ["file_io", "sql_query"]);
  assert.match(bare.refusedTools[0].reason, /more than 5 entries/);
  assert.deepEqual(flag(bare.denoFlags, "--allow-read"), []);
  const boxed = buildLaunchPlan(input(tools, { ...scan, bwrapPath: "/usr/bin/bwrap" }, perms));
  assert.deepEqual(boxed.tools, tools);
  assert.match(boxed.warnings.join("\n"), /stopped after 5 entries/);
  assert.deepEqual(buildLaunchPlan(input(tools, {}, perms)).warnings, []);
});

Deno.test("inside bubblewrap a secret in a write-only root is masked too", () => {
  const plan = buildLaunchPlan(
    input(["file_io"], { bwrapPath: "/usr/bin/bwrap" }, {
      read_roots: ["docs"],
      write_roots: ["."],
      file_write: true,
    }),
  );
  const args = plan.args.join(" ");
  assert.ok(args.includes("--bind-try /ws /ws"), "the workspace is bound writable");
  assert.ok(args.includes("--ro-bind /dev/null /ws/.env"), "its .env is masked");
  assert.ok(
    args.indexOf("--ro-bind /dev/null /ws/.env") > args.indexOf("--bind-try /ws /ws"),
    "the mask sits on top of the writable bind",
  );
});

Deno.test("escaping symlinks are denied by their own path", () => {
  const plan = buildLaunchPlan(
    input(BARE_TOOLS, { ...BARE, escapingSymlinks: ["/ws/link_home"] }, BARE_PERMS),
  );
  assert.ok(plan.deniedPaths.includes("/ws/link_home"));
  const denyRead = plan.denoFlags.find((f) => f.startsWith("--deny-read="))!;
  assert.ok(denyRead.split("=")[1].split(",").includes("/ws/link_home"));
});

Deno.test("inside bubblewrap nothing of the data folder is visible, not even the capsule's own folder", () => {
  const plan = buildLaunchPlan(input(BARE_TOOLS, BARE, BARE_PERMS));
  const args = plan.args.slice(0, plan.args.indexOf("--")).join(" "); // bubblewrap's own part
  assert.ok(args.includes("--tmpfs /data"));
  assert.ok(!plan.args.includes("/data/agents/worker-1a2b"));
  for (const name of ["manifest.json", "skill.md", "memory.db"]) {
    assert.ok(!args.includes(`/data/agents/worker-1a2b/${name}`), name);
  }
  // Only Deno's cache is shown again, read-only, after the data folder is hidden.
  assert.ok(plan.args.indexOf("/data/deno_cache") > plan.args.indexOf("/data"));
});

Deno.test("inside bubblewrap Deno's cache files are read-only in a folder of the capsule's own", () => {
  const plan = buildLaunchPlan(input(BARE_TOOLS, BARE, BARE_PERMS));
  const args = plan.args.slice(0, plan.args.indexOf("--")).join(" ");
  // SQLite's side files of its reads (-wal, -shm) go to the capsule's own tmpfs, never the host's.
  assert.ok(args.includes("--tmpfs /data/deno_cache"));
  for (const name of ["v8_code_cache_v2", "dep_analysis_cache_v2", "gen"]) {
    assert.ok(args.includes(`--ro-bind-try /data/deno_cache/${name} /data/deno_cache/${name}`));
  }
  assert.ok(
    !/--(ro-)?bind(-try)? \/data\/deno_cache \//.test(args),
    "the folder itself is not bound",
  );
  assert.ok(args.indexOf("--tmpfs /data/deno_cache") > args.indexOf("--tmpfs /data "));
});

Deno.test("--deny-net holds only forms Deno 2.9 accepts (no IPv6 CIDR ranges)", () => {
  for (const net of DENIED_NETWORKS) {
    assert.ok(!(net.startsWith("[") && net.includes("/")), net);
  }
});

Deno.test("roots written with $WORKSPACE mean the workspace, as in the guest's path checks; outside ones are dropped", () => {
  const manifest = parseManifest({
    agent_id: "worker-1a2b",
    name: "Worker",
    created_at: "2026-01-01T00:00:00Z",
    tools_allowlist: ["file_io"],
    permissions: {
      read_roots: ["$WORKSPACE/data", "${WORKSPACE}/docs", "$WORKSPACE/../etc"],
      write_roots: ["$WORKSPACE/out"],
      file_write: true,
    },
  });
  const p = resolvePermissions(manifest, "/ws", ["/ws"]);
  assert.deepEqual(p.readRoots, ["/ws/data", "/ws/docs"]);
  assert.deepEqual(p.writeRoots, ["/ws/out"]);
});
