/** The run page names the worker machines a subtask's capsules ran on. */
import assert from "node:assert/strict";
import { workersByTask } from "../../web/analysis.ts";
import { SubtaskGraph } from "../../web/pages/charts.tsx";
import type { RunLogEvent } from "../../coordinator/run_log.ts";

const started = (task: string, worker?: string): RunLogEvent => ({
  ts: new Date().toISOString(),
  event: "capsule_started",
  payload: { task_id: task, sandbox: "bwrap", ...(worker ? { worker } : {}) },
});

Deno.test("workersByTask: each subtask's workers once, in order; local capsules add none", () => {
  const workers = workersByTask([
    started("a", "w1"),
    started("b"),
    started("a", "w1"),
    started("a", "w2"),
  ]);
  assert.deepEqual(workers, { a: ["w1", "w2"] });
});

Deno.test("the subtask graph shows @worker in a node's line and its title", () => {
  const html = SubtaskGraph({
    nodes: [
      { id: "a", label: "Read", status: "completed", depends_on: [], agent: "r-1", worker: "w2" },
      { id: "b", label: "Here", status: "completed", depends_on: [], agent: "r-1" },
    ],
  }).toString();
  assert.match(html, /class="small node-worker mono">@w2</);
  assert.match(html, /on worker w2\)/);
  assert.ok(!/b: Here \([^)]*worker/.test(html), "a local subtask names no worker");
});
