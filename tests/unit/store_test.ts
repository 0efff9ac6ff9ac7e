import assert from "node:assert/strict";
import { join } from "node:path";
import {
  migrate,
  MIGRATIONS,
  openDatabase,
  openStore,
  retryWhileBusy,
  SCHEMA_VERSION,
  schemaVersion,
} from "../../store/mod.ts";
import { MemoryStore } from "../../store/memory.ts";
import { parseManifest } from "../../capsule_runtime/manifest.ts";
import { ClosedClawError } from "../../core/errors.ts";
import { tempDir } from "../helpers/temp.ts";

function manifest(id: string, extra: Record<string, unknown> = {}) {
  return parseManifest({
    agent_id: id,
    name: `Agent ${id}`,
    description: "reads files",
    embedding_vector: [0.1, 0.2, 0.3],
    tools_allowlist: ["file_io"],
    tags: ["auto", "fs.read"],
    created_at: new Date().toISOString(),
    ...extra,
  });
}

Deno.test("a new database is migrated to the current version, and migrating again does nothing", async () => {
  await using dir = await tempDir();
  const db = openDatabase(join(dir.path, "r.db"));
  assert.deepEqual(migrate(db), MIGRATIONS.map((_, i) => i + 1));
  assert.equal(schemaVersion(db), SCHEMA_VERSION);
  assert.deepEqual(migrate(db), []);
  const journal = db.prepare("PRAGMA journal_mode").get() as { journal_mode: string };
  assert.equal(journal.journal_mode, "wal");
  db.close();
});

Deno.test("an older schema is upgraded step by step and keeps its data", async () => {
  await using dir = await tempDir();
  const db = openDatabase(join(dir.path, "old.db"));
  const steps = [
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",
    "ALTER TABLE notes ADD COLUMN tag TEXT NOT NULL DEFAULT 'none'",
    "CREATE INDEX notes_tag ON notes(tag)",
  ];
  migrate(db, steps.slice(0, 1));
  db.prepare("INSERT INTO notes (body) VALUES (?)").run("kept");
  assert.equal(schemaVersion(db), 1);
  assert.deepEqual(migrate(db, steps), [2, 3]);
  assert.deepEqual(
    { ...(db.prepare("SELECT body, tag FROM notes").get() as object) },
    { body: "kept", tag: "none" },
  );
  db.close();
});

Deno.test("a failing migration step rolls back and leaves the version unchanged", async () => {
  await using dir = await tempDir();
  const db = openDatabase(join(dir.path, "bad.db"));
  const steps = ["CREATE TABLE a (x)", "CREATE TABLE b (y); INSERT INTO nowhere VALUES (1)"];
  assert.throws(() => migrate(db, steps));
  assert.equal(schemaVersion(db), 1);
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type='table' AND name='b'").all();
  assert.equal(tables.length, 0);
  db.close();
});

Deno.test("a database newer than this build is refused with a clear error", async () => {
  await using dir = await tempDir();
  const db = openDatabase(join(dir.path, "new.db"));
  db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 5}`);
  assert.throws(() => migrate(db), (e) => e instanceof ClosedClawError && e.code === "db_too_new");
  db.close();
});

Deno.test("writing a stale manifest never resets an agent's metrics", async () => {
  await using dir = await tempDir();
  const store = openStore(join(dir.path, "r.db"));
  store.agents.upsertManifest(manifest("reader-1a2b"));
  store.agents.recordUsage("reader-1a2b", true, 100);
  store.agents.recordUsage("reader-1a2b", false, 300);
  store.agents.setStatus("reader-1a2b", "degraded");
  store.agents.upsertManifest(manifest("reader-1a2b", { description: "reads and lists files" }));
  const row = store.agents.get("reader-1a2b")!;
  assert.equal(row.description, "reads and lists files");
  assert.equal(row.usage_count, 2);
  assert.equal(row.success_count, 1);
  assert.equal(row.failure_count, 1);
  assert.equal(row.success_rate, 0.5);
  assert.equal(row.avg_latency_ms, 200);
  assert.equal(row.status, "degraded");
  assert.deepEqual(row.tools_allowlist, ["file_io"]);
  assert.deepEqual(store.agents.findByTag("fs.read").map((a) => a.agent_id), ["reader-1a2b"]);
  assert.equal(store.agents.delete("reader-1a2b"), true);
  assert.equal(store.agents.delete("reader-1a2b"), false);
  store.close();
});

Deno.test("runs are listed newest first, filtered, and interrupted when their process is gone", async () => {
  await using dir = await tempDir();
  const store = openStore(join(dir.path, "r.db"));
  store.runs.create({ run_id: "r1", task: "first", owner_pid: 111 });
  await new Promise((r) => setTimeout(r, 5));
  store.runs.create({ run_id: "r2", task: "second", owner_pid: 222 });
  store.runs.update("r1", { status: "ok", latency_ms: 12, result: "done" });
  store.runs.addUsage("r2", 10, 5, 0.001);
  store.runs.addUsage("r2", 1, 1, 0.002);
  assert.deepEqual(store.runs.list().map((r) => r.run_id), ["r2", "r1"]);
  assert.deepEqual(store.runs.list({ status: "ok" }).map((r) => r.run_id), ["r1"]);
  const r2 = store.runs.get("r2")!;
  assert.equal(r2.input_tokens, 11);
  assert.ok(Math.abs(r2.cost_usd - 0.003) < 1e-12);
  assert.deepEqual(store.runs.markInterrupted((pid) => pid === 111), ["r2"]);
  assert.equal(store.runs.get("r2")!.status, "interrupted");
  assert.equal(store.runs.get("r1")!.status, "ok");
  store.runs.saveState("r2", { phase: "execution", done: ["a"] });
  assert.deepEqual(store.runs.loadState("r2"), { phase: "execution", done: ["a"] });
  assert.equal(store.runs.loadState("r1"), null);
  // Unknown columns are ignored rather than spliced into SQL.
  store.runs.update("r1", { ["status = 'x', task" as "status"]: "ok" });
  assert.equal(store.runs.get("r1")!.task, "first");
  store.close();
});

Deno.test("subtasks, tool events, model calls and audit events round-trip", async () => {
  await using dir = await tempDir();
  const store = openStore(join(dir.path, "r.db"));
  store.runs.create({ run_id: "run1", task: "t" });
  store.subtasks.saveAll([{
    run_id: "run1",
    task_id: "discover-a",
    phase: "discovery",
    title: "Look",
    description: "look around",
    role_tag: "explorer",
    depends_on: [],
    acceptance_criteria: ["found it"],
    requires_tool: true,
    status: "completed",
    assigned_agent_id: null,
    result: "ok",
    error: null,
    attempts: 1,
    position: 0,
    started_at: null,
    finished_at: null,
  }]);
  assert.equal(store.subtasks.listForRun("run1")[0].requires_tool, true);
  store.toolEvents.insert({
    run_id: "run1",
    task_id: "discover-a",
    agent_id: "a-1",
    attempt: 1,
    tool: "file_io",
    args: { op: "read" },
    allowed: true,
    ok: false,
    reason: "",
    error: "missing",
    result: { x: 1 },
    latency_ms: 3,
  });
  assert.deepEqual(store.toolEvents.listForRun("run1")[0].result, { x: 1 });
  for (const tokens of [100, 50]) {
    store.llmCalls.insert({
      run_id: "run1",
      task_id: null,
      agent_id: null,
      purpose: "plan",
      provider: "openai",
      model: "gpt-4o-mini",
      input_tokens: tokens,
      output_tokens: 10,
      cost_usd: 0.01,
      latency_ms: 5,
      outcome: "ok",
      error: "",
    });
  }
  assert.deepEqual(store.llmCalls.totals({ runId: "run1" }), {
    calls: 2,
    input_tokens: 150,
    output_tokens: 20,
    cost_usd: 0.02,
  });
  store.audit.record("run_summary", { status: "ok" }, { runId: "run1" });
  store.audit.record("tool_call", { tool: "file_io" }, { runId: "run1" });
  assert.deepEqual(store.audit.list().map((e) => e.event_type), ["tool_call", "run_summary"]);
  store.close();
});

Deno.test("an approval is decided once: the first decider wins", async () => {
  await using dir = await tempDir();
  const a = openStore(join(dir.path, "r.db"));
  const b = openStore(join(dir.path, "r.db")); // a second connection, like the dashboard
  const req = a.approvals.create({
    runId: "run1",
    kind: "api_call",
    request: { provider: "api.example.com" },
    timeoutSec: 30,
  });
  assert.deepEqual(b.approvals.listPending().map((p) => p.approval_id), [req.approval_id]);
  assert.equal(
    b.approvals.decide(req.approval_id, "approved", "web_user", "approved_via_web"),
    true,
  );
  assert.equal(a.approvals.decide(req.approval_id, "timed_out", "web_timeout", "late"), false);
  assert.equal(a.approvals.get(req.approval_id)!.status, "approved");
  assert.equal(a.approvals.countPending(), 0);
  a.close();
  b.close();
});

Deno.test("a circuit opens at the threshold, half-opens after the window and grants one trial", async () => {
  await using dir = await tempDir();
  const store = openStore(join(dir.path, "r.db"));
  const t0 = Date.now();
  store.breakers.recordFailure("openai", "500", 3);
  store.breakers.recordFailure("openai", "500", 3);
  assert.equal(store.breakers.state("openai", 60, t0), "closed");
  store.breakers.recordFailure("openai", "500", 3);
  assert.equal(store.breakers.state("openai", 60, t0 + 1000), "open");
  assert.equal(store.breakers.claimTrial("openai", 60, t0 + 1000), false);
  const later = t0 + 61_000;
  assert.equal(store.breakers.state("openai", 60, later), "half_open");
  assert.equal(store.breakers.claimTrial("openai", 60, later), true);
  assert.equal(store.breakers.claimTrial("openai", 60, later), false, "only one trial");
  store.breakers.recordSuccess("openai");
  assert.equal(store.breakers.state("openai", 60, later), "closed");
  assert.equal(store.breakers.get("openai").failure_count, 0);
  store.close();
});

Deno.test("capsule memory returns recent and relevant entries", async () => {
  await using dir = await tempDir();
  const memory = MemoryStore.open(join(dir.path, "memory.db"));
  const v = (x: number, y: number) => {
    const n = Math.hypot(x, y);
    return new Float32Array([x / n, y / n]);
  };
  memory.add({ content: "listed the src folder", embedding: v(1, 0), sessionId: "s" });
  memory.add({ content: "counted python files", embedding: v(0, 1) });
  memory.add({ content: "no embedding" });
  assert.deepEqual(memory.recent(2).map((m) => m.content), [
    "no embedding",
    "counted python files",
  ]);
  const relevant = memory.relevant(v(0.9, 0.1), 1);
  assert.equal(relevant[0].content, "listed the src folder");
  assert.ok(relevant[0].score! > 0.9);
  assert.equal(memory.count(), 3);
  memory.close();
});

Deno.test("a busy database is retried until it frees up; other errors are not retried", () => {
  let calls = 0;
  const value = retryWhileBusy(() => {
    if (++calls < 3) throw new Error("database is locked");
    return "opened";
  }, 5_000);
  assert.equal(value, "opened");
  assert.equal(calls, 3);

  let other = 0;
  assert.throws(() =>
    retryWhileBusy(() => {
      other++;
      throw new Error("no such table: x");
    }, 5_000), /no such table/);
  assert.equal(other, 1);

  let clock = 0;
  assert.throws(
    () =>
      retryWhileBusy(
        () => {
          clock += 1_000;
          throw new Error("database is locked");
        },
        2_500,
        () => clock,
      ),
    /database is locked/,
    "gives up after the timeout",
  );
});
