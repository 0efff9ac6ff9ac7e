import assert from "node:assert/strict";
import { type Plan, preparePhasePool } from "../../coordinator/planner.ts";
import { chooseCandidate, effectiveScore, toolsFit } from "../../coordinator/routing.ts";
import { checkResultText, GIVE_UP_PHRASES, verifyToolUse } from "../../coordinator/validate.ts";
import { summarizePools } from "../../coordinator/synthesize.ts";

const sub = (task_id: string, depends_on: string[] = []): Plan["subtasks"][number] => ({
  task_id,
  title: `Title ${task_id}`,
  description: "d",
  role_tag: "File Reader",
  depends_on,
  acceptance_criteria: [" c1 ", ""],
  requires_tool: true,
  tools: ["file_io", "terminal"],
  writes_files: false,
});

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

Deno.test("reuse needs tools that fit and a weighted score over the threshold", () => {
  const base = {
    description: "",
    semantic_score: 0.9,
    status: "active",
    tools: ["file_io"],
    file_write: false,
  };
  const read = { tools: ["file_io" as const], writes_files: false };
  const fresh = { ...base, agent_id: "fresh", score: 0.9, usage_count: 1, success_rate: 0 };
  const proven = { ...base, agent_id: "proven", score: 0.8, usage_count: 10, success_rate: 1 };
  const failing = { ...base, agent_id: "failing", score: 1, usage_count: 10, success_rate: 0 };
  assert.ok(Math.abs(effectiveScore(fresh) - 0.585) < 1e-9);
  assert.equal(effectiveScore(proven), 0.8);
  assert.ok(Math.abs(effectiveScore(failing) - 0.3) < 1e-9);
  const choice = chooseCandidate([fresh, proven, failing], read, ["file_io"], 0.62);
  assert.equal(choice.best?.agent_id, "proven");
  assert.equal(choice.reuse, true);
  assert.equal(chooseCandidate([fresh], read, ["file_io"], 0.62).reuse, false);
  const exec = { tools: ["terminal" as const], writes_files: false };
  assert.equal(chooseCandidate([proven], exec, ["file_io", "terminal"], 0.1).best, null);
  assert.equal(toolsFit(proven, read, []), false, "run's allowed tools also bind");
  assert.equal(toolsFit(proven, { ...read, writes_files: true }, ["file_io"]), false);
  assert.equal(
    toolsFit({ ...proven, file_write: true }, { ...read, writes_files: true }, ["file_io"]),
    true,
  );
  const degraded = { ...proven, status: "degraded" };
  assert.equal(chooseCandidate([degraded], read, ["file_io"], 0.1).best, null);
});

Deno.test("validation: required tools, give-up phrases and absolute paths", () => {
  assert.equal(verifyToolUse(false, []), null);
  assert.equal(verifyToolUse(true, []), "required_tool_call_not_observed");
  assert.equal(
    verifyToolUse(true, [{ tool: "file_io", allowed: true, ok: false, error: "no such file" }]),
    "required_tool_failed: no such file",
  );
  assert.equal(verifyToolUse(true, [{ tool: "x", allowed: true, ok: true, error: "" }]), null);
  for (const phrase of GIVE_UP_PHRASES) {
    assert.equal(
      checkResultText(`Sorry, the ${phrase.toUpperCase()}.`, []),
      "agent_self_reported_failure_in_result_text",
    );
  }
  const abs = ["Give the absolute path of the file"];
  assert.equal(checkResultText("It is at ~/notes.txt", abs), "unresolved_env_var_in_absolute_path");
  assert.equal(checkResultText("notes.txt", abs), "no_absolute_path_in_result");
  assert.equal(checkResultText("/home/u/notes.txt", abs), null);
});

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

Deno.test("a subtask writes files only when the run allows file_io", () => {
  const writer = { ...sub("save"), tools: ["file_io" as const], writes_files: true };
  const [allowed] = preparePhasePool({ subtasks: [writer] }, "execution", 4, ["file_io"]);
  assert.equal(allowed.writes_files, true);
  // Without file_io no agent can get write permission, so routing would never find a fit.
  const [denied] = preparePhasePool({ subtasks: [writer] }, "execution", 4, ["terminal"]);
  assert.deepEqual(denied.tools, []);
  assert.equal(denied.writes_files, false);
});
