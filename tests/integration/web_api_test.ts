/** Every REST route of the dashboard, against a real server on a temporary data dir. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createCapsule } from "../../capsule_runtime/factory.ts";
import { BULK_DELETE_CONFIRMATION } from "../../web/api/agents_routes.ts";
import type { CoordinatorPort } from "../../web/deps.ts";
import { seedRun, startWebFixture, type WebFixture } from "../helpers/web_fixture.ts";
import { ClosedClawError } from "../../core/errors.ts";
import { startWebServer } from "../../web/server.ts";

function addAgent(fx: WebFixture, name: string, tools: ("file_io" | "web_fetch")[] = ["file_io"]) {
  const manifest = createCapsule(fx.settings.agentsDir, {
    name,
    description: `${name} agent`,
    tools_allowlist: tools,
    skill_ids: ["file_system"],
    skill_md: `# ${name}\nReads files.`,
  });
  fx.store.agents.upsertManifest(manifest);
  return manifest.agent_id;
}

async function json(response: Response) {
  const body = await response.json();
  return { status: response.status, body };
}

Deno.test("web api: health, system, status, stats, init and cassettes", async () => {
  await using fx = await startWebFixture();
  const health = await json(await fx.api("GET", "/api/health"));
  assert.equal(health.status, 200);
  assert.equal(health.body.db_exists, true);
  assert.equal(health.body.llm_provider, "openai");
  assert.equal(health.body.openai_key_set, false);
  assert.equal(health.body.coordinator_ok, false);

  const system = await json(await fx.api("GET", "/api/system"));
  assert.equal(system.body.deno_version, Deno.version.deno);
  assert.equal(system.body.db_path, fx.settings.dbPath);
  assert.ok(["bwrap", "deno-only"].includes(system.body.sandbox));

  const status = await json(await fx.api("GET", "/api/system/status"));
  assert.equal(status.body.status, "degraded");
  assert.deepEqual(Object.keys(status.body.checks).sort(), ["coordinator", "llm", "tool_backend"]);

  seedRun(fx, "okrun", "done task");
  seedRun(fx, "badrun", "failed task", [], "error");
  const stats = await json(await fx.api("GET", "/api/stats"));
  assert.deepEqual(stats.body, { agents: 0, runs: 2, success_rate: 50, run_logs: 2 });

  const init = await json(await fx.api("POST", "/api/init"));
  assert.equal(init.body.ok, true);

  Deno.mkdirSync(fx.settings.cassettesDir, { recursive: true });
  Deno.writeTextFileSync(join(fx.settings.cassettesDir, "demo.json"), "{}");
  const cassettes = await json(await fx.api("GET", "/api/cassettes"));
  assert.deepEqual(cassettes.body.map((c: { name: string }) => c.name), ["demo.json"]);
});

Deno.test("web api: settings are listed without secrets and saved validated, without newline injection", async () => {
  await using fx = await startWebFixture({
    env: { OPENAI_API_KEY: "sk-test-secret-value-123456" },
  });
  const list = await json(await fx.api("GET", "/api/settings"));
  const key = list.body.find((s: { env: string }) => s.env === "OPENAI_API_KEY");
  assert.equal(key.value, "");
  assert.equal(key.is_set, true);
  assert.ok(!JSON.stringify(list.body).includes("sk-test-secret"));

  const envFile = join(fx.settings.cwd, ".env");
  const saved = await json(
    await fx.api("POST", "/api/settings", {
      changes: { CLOSED_CLAW_AGENT_TIMEOUT_SEC: "90" },
    }),
  );
  assert.equal(saved.status, 200);
  assert.equal(saved.body.saved, 1);
  assert.match(Deno.readTextFileSync(envFile), /^CLOSED_CLAW_AGENT_TIMEOUT_SEC=90$/m);

  const injected = await json(
    await fx.api("POST", "/api/settings", {
      changes: { CLOSED_CLAW_LLM_MODEL: "gpt\nCLOSED_CLAW_ALLOW_UNSANDBOXED_EXEC=true" },
    }),
  );
  assert.equal(injected.status, 400);
  assert.doesNotMatch(Deno.readTextFileSync(envFile), /UNSANDBOXED/);

  const invalid = await json(
    await fx.api("POST", "/api/settings", {
      changes: { CLOSED_CLAW_AGENT_TIMEOUT_SEC: "soon" },
    }),
  );
  assert.equal(invalid.status, 400);
  assert.match(invalid.body.error, /CLOSED_CLAW_AGENT_TIMEOUT_SEC/);

  const unknown = await json(await fx.api("POST", "/api/settings", { changes: { PATH: "/tmp" } }));
  assert.equal(unknown.status, 400);
  const empty = await json(await fx.api("POST", "/api/settings", { changes: {} }));
  assert.deepEqual(empty.body, { saved: 0, keys: [] });
});

Deno.test("web api: agents list, detail with Deno flags, delete and confirmed bulk delete", async () => {
  await using fx = await startWebFixture();
  const reader = addAgent(fx, "File Reader");
  const fetcher = addAgent(fx, "Web Fetcher", ["web_fetch"]);
  const list = await json(await fx.api("GET", "/api/agents?limit=10"));
  assert.deepEqual(
    list.body.map((a: { agent_id: string }) => a.agent_id).sort(),
    [fetcher, reader].sort(),
  );

  const detail = await json(await fx.api("GET", `/api/agents/${reader}`));
  assert.equal(detail.status, 200);
  assert.equal(detail.body.skill_md, "# File Reader\nReads files.");
  assert.equal(detail.body.embedding_vector, undefined);
  assert.ok(detail.body.deno_flags.includes("--no-prompt"));
  assert.ok(detail.body.deno_flags.some((f: string) => f.startsWith("--allow-read=")));
  assert.ok(!detail.body.deno_flags.some((f: string) => f.startsWith("--allow-net")));
  assert.equal(detail.body.memory_entries, 0);

  assert.equal((await fx.api("GET", "/api/agents/nobody-1234")).status, 404);

  const deleted = await json(await fx.api("DELETE", `/api/agents/${reader}`));
  assert.deepEqual(deleted.body, { deleted: true, agent_id: reader });
  assert.throws(() => Deno.statSync(join(fx.settings.agentsDir, reader)));
  assert.equal((await fx.api("DELETE", `/api/agents/${reader}`)).status, 404);

  const unconfirmed = await json(await fx.api("POST", "/api/agents/delete-bulk", {}));
  assert.equal(unconfirmed.status, 400);
  const wrong = await json(await fx.api("POST", "/api/agents/delete-bulk", { confirm: "yes" }));
  assert.equal(wrong.status, 400);
  assert.equal(fx.store.agents.count(), 1);
  const bulk = await json(
    await fx.api("POST", "/api/agents/delete-bulk", {
      exclude_ids: [],
      confirm: BULK_DELETE_CONFIRMATION,
    }),
  );
  assert.deepEqual(bulk.body, { deleted_count: 1, deleted_ids: [fetcher] });
});

Deno.test("web api: skills list and detail with the agents using them", async () => {
  await using fx = await startWebFixture();
  const agent = addAgent(fx, "Lister");
  const skills = await json(await fx.api("GET", "/api/skills"));
  const fileSystem = skills.body.find((s: { skill_id: string }) => s.skill_id === "file_system");
  assert.equal(fileSystem.agent_count, 1);
  assert.ok(fileSystem.content_length > 0);
  const detail = await json(await fx.api("GET", "/api/skills/file_system"));
  assert.deepEqual(detail.body.using_agents, [{ agent_id: agent, name: "Lister" }]);
  assert.equal((await fx.api("GET", "/api/skills/nope")).status, 404);
  assert.equal((await fx.api("GET", "/api/skills/..%2Fsecrets")).status, 404);
});

Deno.test("web api: runs, enriched with range and status, analysis, status, usage, run log, audit", async () => {
  await using fx = await startWebFixture();
  seedRun(fx, "run-a", "first task", [
    { event: "task_ingested" },
    { event: "task_plan_created", payload: { tasks: [] } },
    { event: "tool_call", payload: { tool: "file_io", ok: false, error: "denied" } },
    { event: "synthesis_complete", payload: { artifacts: ["out.txt"] } },
  ]);
  seedRun(fx, "run-b", "second task", [{ event: "task_ingested" }], "error");
  fx.store.runs.update("run-b", { error_message: "planner failed", current_stage: "planned" });
  fx.store.db.prepare("UPDATE runs SET created_at = ? WHERE run_id = 'run-b'").run(
    "2020-01-01T00:00:00.000Z",
  );
  fx.store.llmCalls.insert({
    run_id: "run-a",
    task_id: null,
    agent_id: null,
    purpose: "plan",
    provider: "openai",
    model: "gpt-4o-mini",
    input_tokens: 100,
    output_tokens: 20,
    cost_usd: 0.001,
    latency_ms: 12,
    outcome: "ok",
    error: "",
  });
  fx.store.audit.record("run_summary", { status: "ok" }, { runId: "run-a" });

  const runs = await json(await fx.api("GET", "/api/runs?limit=1"));
  assert.equal(runs.body.length, 1);
  const day = await json(await fx.api("GET", "/api/runs/enriched?range=24h"));
  assert.deepEqual(day.body.map((r: { run_id: string }) => r.run_id), ["run-a"]);
  const failed = await json(await fx.api("GET", "/api/runs/enriched?range=all&status=error"));
  assert.equal(failed.body[0].run_id, "run-b");
  assert.equal(failed.body[0].failure_reason, "planner failed");
  assert.equal((await fx.api("GET", "/api/runs/enriched?range=1y")).status, 400);
  // Names inherited by every object are not ranges (they used to reach Date and answer 500).
  for (const range of ["toString", "constructor", "__proto__"]) {
    const inherited = await fx.api("GET", `/api/runs/enriched?range=${range}`);
    assert.equal(inherited.status, 400, range);
    await inherited.body?.cancel();
    const page = await fx.api("GET", `/runs?range=${range}`);
    assert.equal(page.status, 200, range);
    await page.body?.cancel();
  }
  assert.equal((await fx.api("GET", "/api/runs?limit=-3")).status, 400);

  const analysis = await json(await fx.api("GET", "/api/runs/run-a/analysis"));
  assert.equal(analysis.body.stages.length, 6);
  const execute = analysis.body.stages.find((s: { name: string }) => s.name === "execute");
  assert.equal(execute.tool_calls, 1);
  assert.equal(execute.errors, 1);
  assert.deepEqual(analysis.body.artifacts, ["out.txt"]);
  assert.equal(analysis.body.usage.input_tokens, 100);
  assert.equal(analysis.body.events.length, 4);

  const status = await json(await fx.api("GET", "/api/runs/run-a/status"));
  assert.equal(status.body.status, "ok");
  assert.equal(status.body.pending_approvals, 0);
  assert.equal((await fx.api("GET", "/api/runs/missing/status")).status, 404);

  const usage = await json(await fx.api("GET", "/api/runs/run-a/usage"));
  assert.equal(usage.body.totals.cost_usd, 0.001);
  assert.equal(usage.body.calls[0].model, "gpt-4o-mini");

  const log = await json(await fx.api("GET", "/api/runlog/run-a?tail=2"));
  assert.deepEqual(log.body.map((e: { event: string }) => e.event), [
    "tool_call",
    "synthesis_complete",
  ]);
  assert.equal((await fx.api("GET", "/api/runlog/nothing")).status, 404);

  const audit = await json(await fx.api("GET", "/api/audit?run_id=run-a"));
  assert.equal(audit.body[0].event_type, "run_summary");
});

Deno.test("web api: active runs and approvals", async () => {
  await using fx = await startWebFixture();
  seedRun(fx, "live-run", "still going", [], "running");
  const active = await json(await fx.api("GET", "/api/runs/active"));
  assert.deepEqual(active.body.map((r: { run_id: string }) => r.run_id), ["live-run"]);
  const approval = fx.store.approvals.create({
    runId: "live-run",
    kind: "api_call",
    request: { url: "https://api.example.com" },
    timeoutSec: 60,
  });
  const pending = await json(await fx.api("GET", "/api/approvals/pending?run_id=live-run"));
  assert.equal(pending.body[0].approval_id, approval.approval_id);
  assert.deepEqual(pending.body[0].request_data, { url: "https://api.example.com" });
  const all = await json(await fx.api("GET", "/api/approvals"));
  assert.equal(all.body.length, 1);
});

Deno.test("web api: without a coordinator, run start, cancel, resume and decide answer 503", async () => {
  await using fx = await startWebFixture();
  seedRun(fx, "r1", "task", [], "error");
  for (
    const [path, body] of [
      ["/api/runs", { task: "do it" }],
      ["/api/runs/r1/cancel", {}],
      ["/api/runs/r1/resume", {}],
    ] as const
  ) {
    const response = await json(await fx.api("POST", path, body));
    assert.equal(response.status, 503, path);
    assert.equal(response.body.error, "the coordinator is not available in this build");
  }
});

Deno.test("web api: the New Run form's options reach the coordinator", async () => {
  const calls: unknown[] = [];
  const decided: unknown[] = [];
  const coordinator: CoordinatorPort = {
    startRun(options) {
      calls.push({ ...options, onEvent: typeof options.onEvent });
      return { runId: "started-run", done: new Promise(() => {}), cancel: () => {} };
    },
    resumeRun: (runId, options) => {
      resumes.push({ runId, maxCostUsd: options.maxCostUsd });
      return { runId, done: Promise.resolve(), cancel: () => {} };
    },
    requestCancel: () => true,
    decideApproval: (...args) => (decided.push(args), true),
  };
  const resumes: unknown[] = [];
  await using fx = await startWebFixture({ coordinator });
  Deno.mkdirSync(join(fx.settings.workspace, "sub"), { recursive: true });
  const started = await json(
    await fx.api("POST", "/api/runs", {
      task: "  list files  ",
      tools: ["file_io"],
      workspace: "sub",
      model: "gpt-4o",
      max_cost_usd: 0.5,
      create_approval_mode: "deny",
    }),
  );
  assert.equal(started.status, 202);
  assert.deepEqual(started.body, { run_id: "started-run", status: "running" });
  assert.deepEqual(calls[0], {
    task: "list files",
    context: undefined,
    sessionId: undefined,
    toolsAllowed: ["file_io"],
    workspace: join(fx.settings.workspace, "sub"),
    llmModel: "gpt-4o",
    maxCostUsd: 0.5,
    createApprovalMode: "deny",
    apiApprovalMode: "web",
    onEvent: "function",
  });
  const outside = await json(await fx.api("POST", "/api/runs", { task: "x", workspace: "/etc" }));
  assert.equal(outside.status, 400);
  // A folder inside the workspace that is a symlink out of it is judged by where it leads.
  const elsewhere = await Deno.makeTempDir({ prefix: "claw-elsewhere-" });
  try {
    Deno.symlinkSync(elsewhere, join(fx.settings.workspace, "projects"));
    const linked = await json(
      await fx.api("POST", "/api/runs", { task: "x", workspace: "projects" }),
    );
    assert.equal(linked.status, 400);
    assert.equal(linked.body.code, "workspace_outside");
  } finally {
    Deno.removeSync(elsewhere, { recursive: true });
  }
  const missing = await json(await fx.api("POST", "/api/runs", { task: "x", workspace: "nope" }));
  assert.equal(missing.body.code, "workspace_missing");
  assert.equal(calls.length, 1, "no refused request started a run");
  assert.equal((await fx.api("POST", "/api/runs", { task: "   " })).status, 400);
  assert.equal((await fx.api("POST", "/api/runs", { task: "x", tools: ["rm"] })).status, 400);
  assert.equal(
    (await fx.api("POST", "/api/runs", { task: "x", api_approval_mode: "interactive" })).status,
    400,
  );

  seedRun(fx, "stopped", "t", [], "error");
  const resumed = await json(await fx.api("POST", "/api/runs/stopped/resume", {}));
  assert.equal(resumed.status, 202);
  const raised = await fx.api("POST", "/api/runs/stopped/resume", { max_cost_usd: 2 });
  assert.equal(raised.status, 202);
  assert.deepEqual(resumes, [
    { runId: "stopped", maxCostUsd: undefined },
    { runId: "stopped", maxCostUsd: 2 },
  ]);
  assert.equal(
    (await fx.api("POST", "/api/runs/stopped/resume", { max_cost_usd: -1 })).status,
    400,
  );
  seedRun(fx, "finished", "t", [], "ok");
  assert.equal((await fx.api("POST", "/api/runs/finished/resume", {})).status, 409);
  const cancel = await json(await fx.api("POST", "/api/runs/stopped/cancel", {}));
  assert.deepEqual(cancel.body, { cancel_requested: true, run_id: "stopped" });

  const approval = fx.store.approvals.create({
    runId: "stopped",
    kind: "api_call",
    request: {},
    timeoutSec: 60,
  });
  const decision = await json(
    await fx.api("POST", `/api/approvals/${approval.approval_id}/decide`, {
      approved: true,
      note: "fine",
    }),
  );
  assert.deepEqual(decision.body, {
    approval_id: approval.approval_id,
    approved: true,
    resolved: true,
  });
  assert.deepEqual(decided[0], [approval.approval_id, true, "fine", "dashboard"]);
  assert.equal(
    (await fx.api("POST", "/api/approvals/unknown1/decide", { approved: true })).status,
    404,
  );
  assert.equal(
    (await fx.api("POST", `/api/approvals/${approval.approval_id}/decide`, {})).status,
    400,
  );
  const badId = await fx.api("POST", "/api/approvals/..%2f..%2fx/decide", { approved: true });
  assert.equal(badId.status, 400);
  assert.match((await badId.json()).error, /not a valid approval id/);
});

Deno.test("web api: tools list, and the tool tester runs file_io inside a sandboxed capsule", async () => {
  await using fx = await startWebFixture();
  const tools = await json(await fx.api("GET", "/api/tools"));
  assert.deepEqual(tools.body.map((t: { name: string }) => t.name), [
    "terminal",
    "http_api",
    "web_fetch",
    "file_io",
    "python_exec",
    "sql_query",
  ]);
  assert.ok(tools.body.every((t: { args_schema: unknown }) => typeof t.args_schema === "object"));
  assert.equal((await fx.api("POST", "/api/tools/rm_rf/test", { args: {} })).status, 404);

  Deno.writeTextFileSync(join(fx.settings.workspace, "hello.txt"), "hello from the workspace");
  const read = await json(
    await fx.api("POST", "/api/tools/file_io/test", {
      args: { op: "read", path: "hello.txt" },
    }),
  );
  assert.equal(read.status, 200);
  assert.equal(read.body.ok, true, JSON.stringify(read.body));
  assert.equal(read.body.mode, "sandbox");
  assert.match(JSON.stringify(read.body.result), /hello from the workspace/);

  const escape = await json(
    await fx.api("POST", "/api/tools/file_io/test", {
      args: { op: "read", path: "../../etc/passwd" },
    }),
  );
  assert.equal(escape.body.ok, false);
  assert.equal(escape.body.allowed, false);
  // The throw-away capsules are gone.
  assert.deepEqual(
    [...Deno.readDirSync(fx.settings.agentsDir)].filter((e) =>
      e.isDirectory && !e.name.startsWith(".")
    ),
    [],
  );
});

Deno.test("web server: a busy port is one clear error, not a stack trace", async () => {
  await using fx = await startWebFixture();
  assert.throws(
    () => startWebServer(fx.deps, { port: fx.server.port }),
    (error: unknown) =>
      error instanceof ClosedClawError && error.code === "port_in_use" &&
      error.toLine().includes(`Port ${fx.server.port}`) && error.toLine().includes("--port"),
  );
});

Deno.test("web api: prune lists, then deletes agents unused or never successful; audited", async () => {
  await using fx = await startWebFixture();
  const old = createCapsule(fx.settings.agentsDir, {
    name: "Stale",
    description: "Stale agent",
    tools_allowlist: ["file_io"],
  });
  const created_at = new Date(Date.now() - 90 * 86_400_000).toISOString();
  fx.store.agents.upsertManifest({ ...old, created_at });
  const stale = old.agent_id;
  const fresh = addAgent(fx, "Fresh");
  const plan = await json(await fx.api("GET", "/api/agents/prune"));
  assert.equal(plan.status, 200);
  assert.deepEqual(plan.body.remove.map((i: { agent_id: string }) => i.agent_id), [stale]);
  const page = await fx.api("GET", "/agents");
  assert.match(await page.text(), /Prune 1 unused agent\(s\)/);
  const pruned = await json(await fx.api("POST", "/api/agents/prune", { unused_days: 30 }));
  assert.deepEqual(pruned.body, { pruned: [stale], kept_in_use: [] });
  assert.deepEqual(fx.store.agents.list().map((a) => a.agent_id), [fresh]);
  assert.equal(fx.store.audit.list({ limit: 1 })[0].event_type, "agents_pruned");
  assert.doesNotMatch(await (await fx.api("GET", "/agents")).text(), /Prune \d/);
  assert.equal((await fx.api("POST", "/api/agents/prune", { unused_days: -1 })).status, 400);
});

Deno.test("web api: merge folds one agent into another and disables it; the agent page offers it", async () => {
  await using fx = await startWebFixture();
  const keep = addAgent(fx, "Lister");
  const twin = addAgent(fx, "Twin");
  fx.store.agents.recordUsage(twin, true, 10);
  const page = await (await fx.api("GET", `/agents/${keep}`)).text();
  assert.match(page, new RegExp(`<option value="${twin}">`));
  const merged = await json(await fx.api("POST", `/api/agents/${keep}/merge`, { from: twin }));
  assert.equal(merged.status, 200);
  assert.deepEqual(merged.body, { into: keep, from: twin, usage_count: 1, memories_moved: 0 });
  assert.equal(fx.store.agents.get(twin)!.status, "disabled");
  assert.equal(fx.store.audit.list({ limit: 1 })[0].event_type, "agents_merged");
  const self = await fx.api("POST", `/api/agents/${keep}/merge`, { from: keep });
  assert.equal(self.status, 400);
  const unknown = await fx.api("POST", `/api/agents/${keep}/merge`, { from: "nobody-0000" });
  assert.equal(unknown.status, 404);
  assert.equal((await fx.api("POST", `/api/agents/${keep}/merge`, { from: "../x" })).status, 400);
});
