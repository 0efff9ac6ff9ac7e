/**
 * Twin agents: ten similar file-listing tasks in a row, each its own run
 * through the real coordinator, fake model and real capsules. Routing should
 * reuse the agent the first run created (or a near-identical one) instead of
 * creating a twin per run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../store/mod.ts";
import { parseRunLog } from "../../coordinator/run_log.ts";
import { startRun } from "../../coordinator/mod.ts";
import { tempDir } from "../helpers/temp.ts";
import { type Brain, finalStep, startBrain, toolStep } from "../helpers/coordinator_brain.ts";

/** Ten similar tasks, as a planner names them: mostly `file-lister`, sometimes a synonym. */
const TASKS = [
  { task: "List the files in src", role: "file-lister" },
  { task: "List the files in docs", role: "file-lister" },
  { task: "Which files are in tests?", role: "file-lister" },
  { task: "List files of the examples folder", role: "files-lister" },
  { task: "Show me the files under src", role: "file-lister" },
  { task: "What files does docs contain?", role: "file-lister" },
  { task: "List every file in tests", role: "file-listing" },
  { task: "Give me the file list of src", role: "file-lister" },
  { task: "List the files in the examples folder", role: "file-lister" },
  { task: "Enumerate the files in docs", role: "files-lister" },
];

/** Lists `.` and answers. */
const brain: Brain = {
  complexity: "simple",
  plan: (_phase, prompt) => {
    const t = TASKS.find((t) => prompt.includes(t.task)) ?? TASKS[0];
    const folder = /(src|docs|tests|examples)/.exec(t.task)?.[1] ?? ".";
    return [{
      task_id: "list",
      title: `List the files in ${folder}`,
      description: `List the files in the ${folder} folder and report their names.`,
      role_tag: t.role,
      acceptance_criteria: ["The file names are reported"],
    }];
  },
  agent: ({ step }) =>
    step === 0 ? toolStep("file_io", { op: "list", path: "." }) : finalStep("a.txt, b.txt"),
  synthesis: "Listed.",
};

Deno.test("ten similar tasks in a row reuse agents instead of creating a twin per run", async () => {
  await using dir = await tempDir();
  const { fake, settings, workspace } = await startBrain(dir.path, brain);
  for (const folder of ["src", "docs", "tests", "examples"]) {
    await Deno.mkdir(join(workspace, folder));
  }
  const store = openStore(settings.dbPath);
  try {
    const created: string[] = [];
    for (const { task } of TASKS) {
      const run = startRun({ settings, store }, { task });
      const outcome = await run.done;
      assert.equal(outcome.status, "ok", outcome.error);
      const log = parseRunLog(
        await Deno.readTextFile(join(settings.runLogsDir, `${run.runId}.jsonl`)),
      );
      for (const e of log) {
        if (e.event === "agent_created_for_role") created.push(String(e.payload.agent_id));
      }
    }
    // Before twin detection and the unweighted reuse gate: 10 agents, one per run (6 with
    // the gate alone). Now: one `file-lister` (its `files-lister` twin is reused) and one
    // `file-listing`, whose profile is not near-identical (0.73) and whose tasks'
    // embedding does not reach the threshold.
    assert.equal(created.length, 2, `agents created: ${created.join(", ")}`);
    assert.equal(store.agents.count(), 2);
  } finally {
    store.close();
    await fake.close();
  }
});
