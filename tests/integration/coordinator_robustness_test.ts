/**
 * The end of a run when the database refuses writes, and embedding settings
 * changed between runs of one process (as the dashboard does).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../store/mod.ts";
import { parseRunLog, resumeRun, type RunLogEvent, startRun } from "../../coordinator/mod.ts";
import { tempDir, testSettings } from "../helpers/temp.ts";
import {
  type Brain,
  brainHandler,
  finalStep,
  startBrain,
  toolStep,
} from "../helpers/coordinator_brain.ts";

const readNotes: Brain = {
  plan: () => [{
    task_id: "read",
    title: "Read notes.txt",
    description: "Read notes.txt.",
    role_tag: "reader",
  }],
  agent: ({ step, last }) =>
    step === 0
      ? toolStep("file_io", { op: "read", path: "notes.txt" })
      : finalStep(`notes.txt: ${last.slice(0, 80)}`),
  synthesis: "notes read",
};

Deno.test("a database that refuses the run's last writes: run_finished is logged, the log closed, the outcome an error", async () => {
  await using dir = await tempDir();
  // A one-subtask run synthesizes only with this setting; the synthesis call is the cue below.
  const { fake, settings, workspace } = await startBrain(dir.path, readNotes, {
    CLOSED_CLAW_SYNTHESIZE_SINGLE: "true",
  });
  await Deno.writeTextFile(join(workspace, "notes.txt"), "hello");
  const store = openStore(settings.dbPath);
  try {
    const answer = brainHandler(readNotes);
    let readOnly = true;
    fake.handle((req, index) => {
      // The synthesis call (no schema, no tools): from here on the database takes no writes.
      const synthesis = !req.body?.response_format && !req.body?.tools;
      if (synthesis && readOnly) store.db.exec("PRAGMA query_only = ON");
      return answer(req, index);
    });
    const run = startRun({ settings, store }, { task: "Read notes.txt" });
    const outcome = await run.done;
    assert.equal(outcome.status, "error");
    assert.match(outcome.error, /^run_not_recorded: the end of the run could not be saved/);
    assert.match(outcome.error, /readonly|read-only/);
    assert.match(outcome.error, new RegExp(`closed-claw resume ${run.runId}`));
    const log = parseRunLog(
      await Deno.readTextFile(join(settings.runLogsDir, `${run.runId}.jsonl`)),
    );
    const last = log[log.length - 1];
    assert.equal(last.event, "run_finished");
    assert.equal(last.payload.status, "error");
    assert.match(String(last.payload.error), /^run_not_recorded/);

    // The row could not be updated; this process (a dashboard, say) can still resume the run.
    store.db.exec("PRAGMA query_only = OFF");
    readOnly = false;
    assert.equal(store.runs.get(run.runId)!.status, "running");
    const resumed = await resumeRun({ settings, store }, run.runId).done;
    assert.equal(resumed.status, "ok", resumed.error);
    assert.equal(resumed.result, "notes read");
    assert.equal(store.runs.get(run.runId)!.status, "ok");
  } finally {
    store.close();
    await fake.close();
  }
});

Deno.test("embedding settings changed between runs of one process reach the next run, with the fallback warning logged", async () => {
  await using dir = await tempDir();
  const { fake, settings, workspace, env } = await startBrain(dir.path, readNotes);
  await Deno.writeTextFile(join(workspace, "notes.txt"), "hello");
  const store = openStore(settings.dbPath);
  try {
    const warningsOf = async (runSettings: typeof settings) => {
      const events: RunLogEvent[] = [];
      const outcome = await startRun({ settings: runSettings, store }, {
        task: "Read notes.txt",
        onEvent: (e) => events.push(e),
      }).done;
      assert.equal(outcome.status, "ok", outcome.error);
      return events.filter((e) => e.event === "embedder_warning").map((e) => e.payload);
    };
    assert.deepEqual(await warningsOf(settings), []);
    const neural = testSettings(dir.path, {
      ...env,
      CLOSED_CLAW_ENABLE_SENTENCE_TRANSFORMERS: "true",
      CLOSED_CLAW_EMBEDDING_MODEL: "closed-claw-test/missing-model",
    });
    const [warning] = await warningsOf(neural);
    assert.ok(warning, "the fallback is explained in the run log");
    assert.match(String(warning.warning), /Neural embeddings unavailable/);
    assert.match(String(warning.warning), /closed-claw-test\/missing-model/);
    assert.equal(warning.embedder, "hash-ngram-v1");
    assert.equal((await warningsOf(neural)).length, 1, "every run on the fallback says so");
    assert.deepEqual(await warningsOf(settings), [], "switching back needs no restart");
  } finally {
    store.close();
    await fake.close();
  }
});
