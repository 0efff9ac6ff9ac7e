import assert from "node:assert/strict";
import { preparePhasePool } from "../../coordinator/planner.ts";
import { singleAnswer, summarizePools } from "../../coordinator/synthesize.ts";
import { planSubtask as sub } from "../helpers/plan.ts";
import { runState } from "../helpers/run_context.ts";

Deno.test("the result summary lists completed and failed subtasks in the seed's format", () => {
  const pool = preparePhasePool({ subtasks: [sub("a"), sub("b")] }, "execution", 4, ["file_io"]);
  assert.equal(summarizePools([]), "No sub-tasks were generated.");
  assert.equal(summarizePools(pool), "No sub-tasks completed out of 2 total.");
  pool[0].status = "completed";
  pool[0].result = "done";
  pool[1].status = "failed";
  pool[1].error = "boom";
  assert.equal(
    summarizePools(pool),
    [
      "Completed sub-tasks:",
      "- [execution/execute-a] (file-reader) Title a: done",
      "Failed/Cancelled sub-tasks:",
      "- [execution/execute-b] (file-reader) Title b: error=boom",
    ].join("\n"),
  );
});

Deno.test("only a run of one completed subtask with an answer skips the synthesis", () => {
  const [one] = preparePhasePool({ subtasks: [sub("a")] }, "execution", 4, ["file_io"]);
  one.status = "completed";
  one.result = "42 rows";
  assert.equal(singleAnswer(runState({ execution_subtask_pool: [one] })), "42 rows");
  assert.equal(singleAnswer(runState({ execution_subtask_pool: [{ ...one, result: " " }] })), null);
  assert.equal(
    singleAnswer(runState({ execution_subtask_pool: [{ ...one, status: "failed" }] })),
    null,
  );
  // A complex task has a discovery subtask too: two subtasks are synthesized.
  const scout = { ...one, task_id: "discover-a", phase: "discovery" as const };
  assert.equal(
    singleAnswer(runState({ discovery_subtask_pool: [scout], execution_subtask_pool: [one] })),
    null,
  );
});

Deno.test("a bounded summary keeps every subtask, each result cut to a fair share", () => {
  const pool = preparePhasePool(
    { subtasks: [sub("a"), sub("b"), sub("c")] },
    "execution",
    4,
    ["file_io"],
  );
  pool.forEach((t) => (t.status = "completed"));
  pool[0].result = "A".repeat(3000);
  pool[1].result = "short";
  pool[2].result = "C".repeat(3000);
  const whole = summarizePools(pool);
  assert.equal(summarizePools(pool, whole.length), whole, "nothing is cut when it fits");
  const bounded = summarizePools(pool, 1000);
  assert.ok(bounded.length <= 1000);
  const lines = bounded.split("\n");
  assert.equal(lines.length, 4);
  assert.ok(lines[2].endsWith("Title b: short"), "a short result is whole");
  // The two long ones share what is left equally, each marked as cut.
  const a = lines[1].split(": ")[1];
  const c = lines[3].split(": ")[1];
  assert.ok(a.endsWith("…") && c.endsWith("…"));
  assert.ok(Math.abs(a.length - c.length) <= 1);
  assert.ok(bounded.length >= 990, `the budget is used: ${bounded.length}`);
});
