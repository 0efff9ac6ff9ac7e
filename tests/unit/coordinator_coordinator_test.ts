import assert from "node:assert/strict";
import { newRunId } from "../../core/ids.ts";
import { ClosedClawError } from "../../core/errors.ts";
import { openStore } from "../../store/mod.ts";
import { resumeRun } from "../../coordinator/mod.ts";
import { tempDir, testSettings } from "../helpers/temp.ts";

Deno.test("a resume refused for a missing key leaves the run stopped and resumable", async () => {
  await using dir = await tempDir();
  const settings = testSettings(dir.path, { CLOSED_CLAW_LLM_PROVIDER: "openai" });
  const store = openStore(settings.dbPath);
  try {
    const runId = newRunId();
    store.runs.create({ run_id: runId, task: "Read notes.txt", options: {}, owner_pid: null });
    store.runs.update(runId, { status: "error", error_message: "execution_phase_failed" });
    assert.throws(
      () => resumeRun({ settings, store }, runId),
      (error) => error instanceof ClosedClawError && error.code === "llm_key_missing",
    );
    const row = store.runs.get(runId)!;
    assert.equal(row.status, "error", "a long-lived process (the dashboard) can retry later");
    assert.equal(row.owner_pid, null);
  } finally {
    store.close();
  }
});
