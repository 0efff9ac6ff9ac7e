/** `agents prune` and `agents merge` as a user runs them. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { tempDir, testSettings } from "../helpers/temp.ts";
import { MemoryStore, openStore, type Store } from "../../store/mod.ts";
import { createCapsule } from "../../capsule_runtime/factory.ts";
import type { Settings } from "../../core/settings.ts";

const DAY = 86_400_000;

function agent(
  settings: Settings,
  store: Store,
  name: string,
  options: { ageDays?: number; tags?: string[] } = {},
): string {
  const m = createCapsule(settings.agentsDir, {
    name,
    description: `${name} agent`,
    tools_allowlist: ["file_io"],
    tags: options.tags,
  });
  const created = new Date(Date.now() - (options.ageDays ?? 0) * DAY).toISOString();
  store.agents.upsertManifest({ ...m, created_at: created });
  return m.agent_id;
}

Deno.test("agents prune removes unused and never-successful agents, keeps in-use and built-in ones, asks first, audits", async () => {
  await using dir = await tempDir();
  const settings = testSettings(dir.path);
  const store = openStore(settings.dbPath);
  const stale = agent(settings, store, "Stale Lister", { ageDays: 60 });
  const failing = agent(settings, store, "Failing Lister");
  store.agents.recordUsage(failing, false, 10);
  store.agents.recordUsage(failing, false, 10);
  const fresh = agent(settings, store, "Fresh Lister");
  store.agents.recordUsage(fresh, true, 10);
  const busy = agent(settings, store, "Busy Lister", { ageDays: 60 });
  const builtin = agent(settings, store, "Builtin Lister", { ageDays: 60, tags: ["builtin"] });
  store.runs.create({ run_id: "live0001", task: "still running", owner_pid: Deno.pid });
  store.runs.saveState("live0001", { role_agent_map: { lister: busy } });
  store.close();
  const env = { CLOSED_CLAW_HOME: settings.homeDir };
  const cwd = dir.path;

  const dry = await runCli(["agents", "prune", "--dry-run"], { cwd, env });
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, new RegExp(`${stale}\\s+never used since`));
  assert.match(dry.stdout, new RegExp(`${failing}\\s+never succeeded in 2 uses`));
  assert.match(dry.stdout, new RegExp(`Kept ${busy}: a running run uses it\\.`));
  assert.match(dry.stdout, /Dry run: 2 agent\(s\) would be deleted\./);
  assert.ok(!dry.stdout.includes(fresh) && !dry.stdout.includes(builtin));

  const refused = await runCli(["agents", "prune"], { cwd, env, stdin: "no\n" });
  assert.equal(refused.code, 1);
  assert.match(refused.stdout, /Nothing deleted\./);
  await Deno.stat(join(settings.agentsDir, stale));

  const pruned = await runCli(["agents", "prune"], { cwd, env, stdin: "yes\n" });
  assert.equal(pruned.code, 0, pruned.stderr);
  assert.match(pruned.stdout, /Pruned 2 agent\(s\)\./);
  const after = openStore(settings.dbPath);
  try {
    assert.deepEqual(
      after.agents.list().map((a) => a.agent_id).sort(),
      [builtin, busy, fresh].sort(),
    );
    const [event] = after.audit.list({ limit: 1 });
    assert.equal(event.event_type, "agents_pruned");
    assert.deepEqual(
      (event.payload as { deleted: string[] }).deleted.sort(),
      [failing, stale].sort(),
    );
  } finally {
    after.close();
  }
  await assert.rejects(Deno.stat(join(settings.agentsDir, stale)));

  // With a shorter window, the 60-day-old busy agent is still kept while its run runs.
  const json = await runCli(["agents", "prune", "--unused-days", "0", "--yes", "--json"], {
    cwd,
    env,
  });
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout);
  assert.deepEqual(report.kept_in_use, [busy]);
  assert.deepEqual(report.deleted, [fresh]);
});

Deno.test("agents prune on an empty or tidy registry says so", async () => {
  await using dir = await tempDir();
  const settings = testSettings(dir.path);
  const env = { CLOSED_CLAW_HOME: settings.homeDir };
  const empty = await runCli(["agents", "prune"], { cwd: dir.path, env });
  assert.equal(empty.code, 0, empty.stderr);
  assert.equal(empty.stdout, "No agents yet; nothing to prune.\n");
  const store = openStore(settings.dbPath);
  const fresh = agent(settings, store, "Fresh Lister");
  store.agents.recordUsage(fresh, false, 10);
  store.close();
  const tidy = await runCli(["agents", "prune"], { cwd: dir.path, env });
  assert.match(tidy.stdout, /^Nothing to prune: no agent is unused for 30 days/);
});

Deno.test("agents merge folds B's uses and memories into A and disables B; audited", async () => {
  await using dir = await tempDir();
  const settings = testSettings(dir.path);
  const store = openStore(settings.dbPath);
  const keep = agent(settings, store, "File Lister");
  const twin = agent(settings, store, "Twin Lister");
  store.agents.recordUsage(keep, true, 100);
  store.agents.recordUsage(twin, true, 300);
  store.agents.recordUsage(twin, false, 300);
  const memory = MemoryStore.open(join(settings.agentsDir, twin, "memory.db"));
  memory.add({ content: "src has 12 files", runId: "r1" });
  memory.close();
  store.close();
  const env = { CLOSED_CLAW_HOME: settings.homeDir };
  const cwd = dir.path;

  const usage = await runCli(["agents", "merge", keep], { cwd, env });
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /agents merge needs two agents/);

  // Prefixes work: "file" and "twin" are unique.
  const merged = await runCli(["agents", "merge", "file", "twin"], { cwd, env, stdin: "yes\n" });
  assert.equal(merged.code, 0, merged.stderr);
  assert.match(
    merged.stdout,
    new RegExp(`Merged ${twin} into ${keep}: 3 uses, 1 memories moved; ${twin} is disabled\\.`),
  );
  const after = openStore(settings.dbPath);
  try {
    const a = after.agents.get(keep)!;
    assert.equal(a.usage_count, 3);
    assert.equal(a.success_count, 2);
    assert.ok(Math.abs(a.success_rate - 2 / 3) < 1e-9);
    assert.ok(Math.abs(a.avg_latency_ms! - 700 / 3) < 1e-6);
    assert.equal(after.agents.get(twin)!.status, "disabled");
    const [event] = after.audit.list({ limit: 1 });
    assert.equal(event.event_type, "agents_merged");
    assert.equal(event.agent_id, keep);
  } finally {
    after.close();
  }
  const moved = MemoryStore.open(join(settings.agentsDir, keep, "memory.db"));
  try {
    assert.deepEqual(moved.recent().map((m) => m.content), ["src has 12 files"]);
  } finally {
    moved.close();
  }
  const manifest = JSON.parse(
    await Deno.readTextFile(join(settings.agentsDir, twin, "manifest.json")),
  );
  assert.equal(manifest.status, "disabled");
  const self = await runCli(["agents", "merge", keep, keep, "--yes"], { cwd, env });
  assert.equal(self.code, 2);
  assert.match(self.stderr, /Cannot merge .* into itself/);
});
