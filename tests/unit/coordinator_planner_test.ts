import assert from "node:assert/strict";
import { type Plan, preparePhasePool } from "../../coordinator/planner.ts";
import { planSubtask as sub } from "../helpers/plan.ts";

Deno.test("phase pools get prefixed, de-duplicated ids, remapped dependencies and a cap", () => {
  const plan: Plan = {
    subtasks: [sub("scan"), sub("scan", ["scan"]), sub("report", ["scan", "ghost"]), sub("extra")],
  };
  const pool = preparePhasePool(plan, "discovery", 3, ["file_io"]);
  assert.deepEqual(pool.map((t) => t.task_id), [
    "discover-scan",
    "discover-scan-2",
    "discover-report",
  ]);
  assert.deepEqual(pool.map((t) => t.depends_on), [[], ["discover-scan"], ["discover-scan"]]);
  assert.deepEqual(pool.map((t) => t.status), ["pending", "waiting", "waiting"]);
  assert.equal(pool[0].role_tag, "file-reader");
  assert.deepEqual(pool[0].tools, ["file_io"]);
  assert.deepEqual(pool[0].acceptance_criteria, ["c1"]);
  const exec = preparePhasePool({ subtasks: [sub("execute-write")] }, "execution", 4, ["file_io"]);
  assert.equal(exec[0].task_id, "execute-write");
});

Deno.test("a subtask writes files only when the run allows file_io", () => {
  const writer = { ...sub("save"), tools: ["file_io" as const], writes_files: true };
  const [allowed] = preparePhasePool({ subtasks: [writer] }, "execution", 4, ["file_io"]);
  assert.equal(allowed.writes_files, true);
  // Without file_io no agent can get write permission, so routing would never find a fit.
  const [denied] = preparePhasePool({ subtasks: [writer] }, "execution", 4, ["terminal"]);
  assert.deepEqual(denied.tools, []);
  assert.equal(denied.writes_files, false);
});
