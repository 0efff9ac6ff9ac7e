/** Tool events, model calls and audit events, stored with the subtasks of their run. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../store/mod.ts";
import { tempDir } from "../helpers/temp.ts";

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
