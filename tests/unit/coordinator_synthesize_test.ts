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
