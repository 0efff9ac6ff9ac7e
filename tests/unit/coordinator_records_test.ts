import assert from "node:assert/strict";
import { createCapsule } from "../../capsule_runtime/factory.ts";
import { auditCommitted, auditRun, blendFitness, fitnessOf } from "../../coordinator/records.ts";
import { parseRunLog, RunLog } from "../../coordinator/run_log.ts";
import { openStore } from "../../store/mod.ts";
import { VectorIndex } from "../../store/vector_index.ts";
import { runContext, runState } from "../helpers/run_context.ts";
import { tempDir, testSettings } from "../helpers/temp.ts";

Deno.test("fitness follows the seed's weights and blends across runs", () => {
  const perfect = {
    subtasks: 2,
    succeeded: 2,
    failed: 0,
    latency_ms: 2000,
    tool_calls: 4,
    tool_ok: 4,
  };
  assert.equal(fitnessOf(perfect), 1);
  assert.ok(Math.abs(fitnessOf({ ...perfect, tool_calls: 0, tool_ok: 0 }) - 0.875) < 1e-9);
  assert.equal(blendFitness(0, 0.5), 0.5);
  assert.equal(blendFitness(1, 0.5), 0.8);
});

Deno.test("the audit records every agent once, degrades a failing one, and never counts twice", async () => {
  await using dir = await tempDir();
  const settings = testSettings(dir.path);
  const store = openStore(settings.dbPath);
  const log = new RunLog(settings.runLogsDir, "run1");
  try {
    const failing = createCapsule(settings.agentsDir, {
      name: "Bad",
      description: "",
      tools_allowlist: [],
    });
    const good = createCapsule(settings.agentsDir, {
      name: "Good",
      description: "",
      tools_allowlist: [],
    });
    for (const m of [failing, good]) store.agents.upsertManifest(m);
    for (let i = 0; i < 4; i++) store.agents.recordUsage(failing.agent_id, false, 10);
    store.runs.create({ run_id: "run1", task: "t" });
    const stats = { latency_ms: 100, tool_calls: 1, tool_ok: 1 };
    const state = runState({
      run_id: "run1",
      agent_stats: {
        [failing.agent_id]: { subtasks: 1, succeeded: 0, failed: 1, ...stats },
        [good.agent_id]: { subtasks: 2, succeeded: 2, failed: 0, ...stats },
      },
      tool_event_count: 2,
      response_status: "error",
      response_error: "x",
    });
    const index = new VectorIndex(store.db, 8);
    const ctx = runContext({ settings, store, log, state, index });
    auditRun(ctx);
    auditRun(ctx); // a resumed run audits again
    const bad = store.agents.get(failing.agent_id)!;
    assert.deepEqual([bad.usage_count, bad.status], [5, "degraded"]);
    const ok = store.agents.get(good.agent_id)!;
    assert.deepEqual([ok.usage_count, ok.success_count, ok.avg_latency_ms], [2, 2, 50]);
    assert.ok(ok.fitness_score > 0.9);
    log.close();
    const events = parseRunLog(await Deno.readTextFile(log.path)).map((e) => e.event);
    assert.deepEqual(events, ["agent_degraded", "run_summary", "run_summary"]);
    assert.equal(store.audit.list({ runId: "run1" }).length, 2);
  } finally {
    store.close();
  }
});

Deno.test("an audit whose checkpoint cannot be written is undone with it, so the resumed run counts once", async () => {
  await using dir = await tempDir();
  const settings = testSettings(dir.path);
  const store = openStore(settings.dbPath);
  const log = new RunLog(settings.runLogsDir, "run1");
  try {
    const agent = createCapsule(settings.agentsDir, {
      name: "Reader",
      description: "",
      tools_allowlist: [],
    });
    store.agents.upsertManifest(agent);
    store.runs.create({ run_id: "run1", task: "t" });
    const stats = { latency_ms: 100, tool_calls: 1, tool_ok: 1 };
    const state = runState({
      run_id: "run1",
      stage: "validated",
      agent_stats: { [agent.agent_id]: { subtasks: 1, succeeded: 1, failed: 0, ...stats } },
    });
    const ctx = runContext({ settings, store, log, state, index: new VectorIndex(store.db, 8) });
    const auditedBefore = structuredClone(state.audited_stats);
    assert.throws(
      () =>
        auditCommitted(ctx, () => {
          state.stage = "audited";
          throw new Error("disk full");
        }),
      /disk full/,
    );
    // Neither the uses nor the state say it was audited: a resume audits once, now.
    assert.equal(store.agents.get(agent.agent_id)!.usage_count, 0);
    assert.equal(state.stage, "validated");
    assert.deepEqual(state.audited_stats, auditedBefore);
    auditCommitted(ctx, () => (state.stage = "audited"));
    assert.equal(store.agents.get(agent.agent_id)!.usage_count, 1);
  } finally {
    log.close();
    store.close();
  }
});
