import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../store/mod.ts";
import { tempDir } from "../helpers/temp.ts";

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
