import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { tempDir, testSettings } from "../helpers/temp.ts";
import { openStore } from "../../store/mod.ts";
import { createCapsule } from "../../capsule_runtime/factory.ts";

/** A user error is one line on stderr, with no stack trace. */
function assertOneLineError(stderr: string, pattern: RegExp) {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  assert.match(lines[0], pattern);
  assert.ok(!/\bat .*:\d+:\d+/.test(stderr), "no stack trace");
}

Deno.test("--help lists every command and --version prints the version", async () => {
  await using dir = await tempDir();
  const help = await runCli(["--help"], { cwd: dir.path });
  assert.equal(help.code, 0);
  for (
    const name of [
      "init",
      "doctor",
      "agents",
      "agent",
      "runs",
      "audit",
      "runlog",
      "tools",
      "delete-agent",
      "delete-all-agents",
    ]
  ) assert.match(help.stdout, new RegExp(`\\n  ${name} `));
  const version = await runCli(["--version"], { cwd: dir.path });
  assert.match(version.stdout, /^closed-claw \d+\.\d+\.\d+\n$/);
  const sub = await runCli(["runlog", "--help"], { cwd: dir.path });
  assert.equal(sub.code, 0);
  assert.match(sub.stdout, /--tail <n>/);
});

Deno.test("unknown commands, unknown flags and bad values exit 2 with one clear line", async () => {
  await using dir = await tempDir();
  const cases: [string[], RegExp][] = [
    [["agnets"], /Unknown command "agnets"\. Did you mean `agents`\?/],
    [["runs", "--limt", "5"], /runs: unknown option --limt\./],
    [["runs", "--limit", "abc"], /--limit must be a whole number/],
    [
      ["runs", "--status", "weird"],
      /--status must be one of running, ok, error, cancelled, interrupted/,
    ],
    [["runlog"], /runlog: missing <run_id>\./],
    [["agent", "../../etc"], /is not a valid agent id/],
    [["delete-agent", ".."], /is not a valid agent id/],
    [["runlog", "../x"], /is not a valid run id/],
  ];
  for (const [args, pattern] of cases) {
    const result = await runCli(args, { cwd: dir.path });
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assertOneLineError(result.stderr, pattern);
  }
});

Deno.test("a bad setting stops every command with one line naming the variable and the fix", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(join(dir.path, ".env"), "CLOSED_CLAW_MAX_PARALLEL_AGENTS=lots\n");
  // Until the user accepts it, a .env is ignored (an agent could have written it), with one warning.
  const ignored = await runCli(["runs"], { cwd: dir.path });
  assert.equal(ignored.code, 0, ignored.stderr);
  assert.match(
    ignored.stderr,
    /^warning: Ignoring .*\.env: not accepted by you yet .*closed-claw trust/,
  );
  assert.equal((await runCli(["trust", ".env"], { cwd: dir.path })).code, 0);
  const result = await runCli(["runs"], { cwd: dir.path });
  assert.equal(result.code, 2);
  assertOneLineError(
    result.stderr,
    /CLOSED_CLAW_MAX_PARALLEL_AGENTS="lots" \(from \.env\) is not valid: expected a whole number from 1 to 64\. Fix or remove it/,
  );
});

Deno.test("every listing command works on an empty data dir, and init creates it", async () => {
  await using dir = await tempDir();
  for (const args of [["agents"], ["runs"], ["audit"], ["tools"]]) {
    const result = await runCli(args, { cwd: dir.path });
    assert.equal(result.code, 0, `${args}: ${result.stderr}`);
  }
  const runs = await runCli(["runs", "--json"], { cwd: dir.path });
  assert.deepEqual(JSON.parse(runs.stdout), []);
  const tools = JSON.parse((await runCli(["tools", "--json"], { cwd: dir.path })).stdout);
  assert.deepEqual(tools.supported_tools, [
    "terminal",
    "http_api",
    "web_fetch",
    "file_io",
    "python_exec",
    "sql_query",
  ]);
  const init = await runCli(["init", "--json"], { cwd: dir.path });
  assert.equal(init.code, 0, init.stderr);
  const report = JSON.parse(init.stdout);
  assert.deepEqual(report.builtin_agents_installed, ["terminal-master"]);
  assert.equal(report.agents, 1, "the built-in agent");
  const again = JSON.parse((await runCli(["init", "--json"], { cwd: dir.path })).stdout);
  assert.deepEqual(again.builtin_agents_installed, [], "installed once");
  for (const sub of ["registry.db", "agents/registry.json", "runs"]) {
    await Deno.stat(join(dir.path, ".closed_claw", sub));
  }
});

Deno.test("doctor reports each check and how to fix a missing key", async () => {
  await using dir = await tempDir();
  const result = await runCli(["doctor", "--json"], { cwd: dir.path });
  assert.equal(result.code, 1, "no key configured is a failure");
  const report = JSON.parse(result.stdout);
  const names = report.checks.map((c: { name: string }) => c.name);
  assert.deepEqual(names, [
    "deno",
    "data dir",
    "sqlite",
    "embedder",
    "os sandbox",
    "egress proxy",
    "limits",
    "config files",
    "llm provider",
  ]);
  // The browser tests' chromium is the project's concern, shown only with --dev.
  const dev = JSON.parse((await runCli(["doctor", "--json", "--dev"], { cwd: dir.path })).stdout);
  assert.ok(dev.checks.some((c: { name: string }) => c.name === "chromium"));
  assert.equal(report.checks.find((c: { name: string }) => c.name === "config files").status, "ok");
  // Which resource limits hold here, and which not, in one line.
  const limits = report.checks.find((c: { name: string }) => c.name === "limits");
  assert.match(limits.detail, /bytes written per run/);
  assert.match(limits.detail, /processes\/threads/);
  // Whether programs can reach their agent's hosts through the egress proxy here.
  const sandbox = report.checks.find((c: { name: string }) => c.name === "os sandbox");
  const egress = report.checks.find((c: { name: string }) => c.name === "egress proxy");
  if (sandbox.status === "ok") assert.match(egress.detail, /network_hosts|python3/);
  else assert.match(egress.detail, /refused unless CLOSED_CLAW_ALLOW_UNSANDBOXED_EXEC/);
  const provider = report.checks.find((c: { name: string }) => c.name === "llm provider");
  assert.equal(provider.status, "fail");
  assert.match(provider.fix, /OPENAI_API_KEY/);
  assert.equal(report.llm_key_configured, false);
  const ok = await runCli(["doctor"], {
    cwd: dir.path,
    env: { OPENAI_API_KEY: "sk-test-123456789" },
  });
  assert.match(ok.stdout, /llm provider\s+openai \/ gpt-4o-mini/);
  assert.match(ok.stdout, /egress proxy\s+(available|not available)/);
  assert.ok(!ok.stdout.includes("sk-test-123456789"), "the key itself is never printed");
});

Deno.test("agents, agent, tools, delete-agent and delete-all-agents on a populated registry", async () => {
  await using dir = await tempDir();
  const settings = testSettings(dir.path);
  const store = openStore(settings.dbPath);
  const ids: string[] = [];
  for (const name of ["File Reader", "Web Fetcher"]) {
    const m = createCapsule(settings.agentsDir, {
      name,
      description: `${name} agent`,
      tools_allowlist: name === "File Reader" ? ["file_io"] : ["web_fetch"],
      skill_md: `# ${name}\n\n## Scope Constraints\nOnly ${name}.\n`,
      embedding_vector: [0.5, 0.5],
    });
    store.agents.upsertManifest(m);
    ids.push(m.agent_id);
  }
  store.agents.recordUsage(ids[0], true, 50);
  store.close();
  const env = { CLOSED_CLAW_HOME: settings.homeDir };
  const cwd = dir.path;

  const agents = JSON.parse((await runCli(["agents", "--json"], { cwd, env })).stdout);
  assert.equal(agents[0].agent_id, ids[0], "most used first");
  assert.deepEqual(Object.keys(agents[0]).sort(), [
    "agent_id",
    "description",
    "last_used_at",
    "name",
    "skill_md",
    "status",
    "success_rate",
    "tools_allowlist",
    "usage_count",
  ]);
  const table = await runCli(["agents"], { cwd, env });
  assert.match(table.stdout, /AGENT\s+STATUS\s+USES/);

  const one = JSON.parse((await runCli(["agent", ids[0], "--json"], { cwd, env })).stdout);
  assert.equal(one.found, true);
  assert.equal(one.agent.embedding_vector, "<hidden: 2 floats>");
  assert.equal(one.agent.usage_count, 1, "live metrics from the database");
  assert.match(one.skill_md, /Scope Constraints/);
  assert.equal(one.memory_entries, 0);
  const missing = await runCli(["agent", "nobody-0000", "--json"], { cwd, env });
  assert.equal(missing.code, 1);
  assert.deepEqual(JSON.parse(missing.stdout), { found: false, agent_id: "nobody-0000" });

  const tools = JSON.parse(
    (await runCli(["tools", "--agent-id", ids[1], "--json"], { cwd, env })).stdout,
  );
  assert.deepEqual(tools.agent.tools_allowlist, ["web_fetch"]);

  const refused = await runCli(["delete-agent", ids[0]], { cwd, env, stdin: "no\n" });
  assert.equal(refused.code, 1);
  await Deno.stat(join(settings.agentsDir, ids[0]));
  const deleted = await runCli(["delete-agent", ids[0], "--json"], { cwd, env, stdin: "yes\n" });
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.match(deleted.stdout, /"deleted": true/);
  await assert.rejects(Deno.stat(join(settings.agentsDir, ids[0])));
  const index = JSON.parse(await Deno.readTextFile(join(settings.agentsDir, "registry.json")));
  assert.deepEqual(index.agents.map((a: { agent_id: string }) => a.agent_id), [ids[1]]);
  assert.equal(index.version, "1.5");
  assert.equal("embedding_vector" in index.agents[0], false);

  const gone = await runCli(["delete-agent", ids[0], "--yes", "--json"], { cwd, env });
  assert.equal(gone.code, 1);
  assert.equal(JSON.parse(gone.stdout).reason, "not found in registry");

  const notAll = await runCli(["delete-all-agents"], { cwd, env, stdin: "delete all\n" });
  assert.equal(notAll.code, 1, "the exact words are required");
  const all = await runCli(["delete-all-agents", "--json"], { cwd, env, stdin: "DELETE ALL\n" });
  assert.deepEqual(JSON.parse(all.stdout.slice(all.stdout.indexOf("{"))), {
    deleted_count: 1,
    agent_ids: [ids[1]],
  });
});

Deno.test("runs shows interrupted runs, audit lists events, runlog tails a log", async () => {
  await using dir = await tempDir();
  const settings = testSettings(dir.path);
  const store = openStore(settings.dbPath);
  store.runs.create({
    run_id: "deadrun1",
    task: "a task whose process died",
    owner_pid: 999_999_999,
  });
  store.audit.record("run_summary", { status: "error" }, { runId: "deadrun1" });
  store.close();
  Deno.mkdirSync(settings.runLogsDir, { recursive: true });
  const lines = ["task_ingested", "task_plan_created", "run_summary"].map((event, i) =>
    JSON.stringify({ ts: `2026-01-01T00:00:0${i}Z`, event, payload: { i } })
  );
  await Deno.writeTextFile(join(settings.runLogsDir, "deadrun1.jsonl"), lines.join("\n") + "\n");
  const env = { CLOSED_CLAW_HOME: settings.homeDir };
  const cwd = dir.path;

  const runs = JSON.parse((await runCli(["runs", "--json"], { cwd, env })).stdout);
  assert.equal(runs[0].status, "interrupted");
  const audit = JSON.parse((await runCli(["audit", "--json"], { cwd, env })).stdout);
  assert.equal(audit[0].event_type, "run_summary");
  assert.deepEqual(audit[0].payload, { status: "error" });

  const tail = JSON.parse(
    (await runCli(["runlog", "deadrun1", "--tail", "2", "--json"], { cwd, env })).stdout,
  );
  assert.deepEqual(tail.map((e: { event: string }) => e.event), [
    "task_plan_created",
    "run_summary",
  ]);
  const raw = await runCli(["runlog", "deadrun1", "--raw"], { cwd, env });
  assert.equal(raw.stdout, lines.join("\n") + "\n");
  const missing = await runCli(["runlog", "nosuchrun"], { cwd, env });
  assert.equal(missing.code, 1);
  assertOneLineError(
    missing.stderr,
    /No run with an id starting "nosuchrun"\. List them with `closed-claw runs`/,
  );
});

Deno.test("run ids: a prefix or `last` works for runlog and audit; an unknown run is named as such; no float noise", async () => {
  await using dir = await tempDir();
  const settings = testSettings(dir.path);
  const store = openStore(settings.dbPath);
  store.runs.create({ run_id: "cafe0001", task: "first", owner_pid: 999_999_999 });
  store.audit.record("run_summary", { status: "ok" }, { runId: "cafe0001" });
  store.close();
  Deno.mkdirSync(settings.runLogsDir, { recursive: true });
  const line = JSON.stringify({
    ts: "2026-01-01T00:00:00Z",
    event: "llm_call",
    payload: { cost_usd: 0.00016409999999999998, tokens: 12 },
  });
  await Deno.writeTextFile(join(settings.runLogsDir, "cafe0001.jsonl"), line + "\n");
  const env = { CLOSED_CLAW_HOME: settings.homeDir };
  const cwd = dir.path;

  const log = await runCli(["runlog", "cafe"], { cwd, env });
  assert.equal(log.code, 0, log.stderr);
  assert.match(log.stdout, /llm_call\s+cost_usd=0\.000164 tokens=12\n$/);
  const last = await runCli(["runlog", "last", "--json"], { cwd, env });
  assert.equal(
    JSON.parse(last.stdout)[0].payload.cost_usd,
    0.00016409999999999998,
    "JSON as stored",
  );

  const audit = JSON.parse(
    (await runCli(["audit", "--run-id", "last", "--json"], { cwd, env })).stdout,
  );
  assert.equal(audit[0].run_id, "cafe0001");
  const unknown = await runCli(["audit", "--run-id", "zzz"], { cwd, env });
  assert.equal(unknown.code, 1);
  assertOneLineError(
    unknown.stderr,
    /^error: No run with an id starting "zzz"\. List them with `closed-claw runs`/,
  );
  assert.equal(unknown.stdout, "", 'not "No audit events yet."');
});

Deno.test("hints name the command that works here: `deno task cli` in the clone, `closed-claw` elsewhere", async () => {
  await using dir = await tempDir();
  const env = {
    HOME: dir.path,
    CLOSED_CLAW_HOME: join(dir.path, ".closed_claw"),
    CLOSED_CLAW_CONFIG_DIR: join(dir.path, ".config", "closed-claw"),
  };
  const clone = new URL("../..", import.meta.url).pathname;
  const inClone = await runCli(["runlog", "zzz"], { cwd: clone, env });
  assert.equal(inClone.code, 1);
  assert.match(inClone.stderr, /List them with `deno task cli runs`/);
  const elsewhere = await runCli(["runlog", "zzz"], { cwd: dir.path, env });
  assert.match(elsewhere.stderr, /List them with `closed-claw runs`/);
});
