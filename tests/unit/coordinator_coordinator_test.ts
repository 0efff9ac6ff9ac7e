import assert from "node:assert/strict";
import { newRunId } from "../../core/ids.ts";
import { ClosedClawError } from "../../core/errors.ts";
import { openStore } from "../../store/mod.ts";
import { resumeRun } from "../../coordinator/mod.ts";
import { runLockPath } from "../../coordinator/run_owner.ts";
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

Deno.test("a resume that waited for another process's lock re-reads the run: one finished meanwhile is not resumed again", async () => {
  await using dir = await tempDir();
  const settings = testSettings(dir.path, { CLOSED_CLAW_LLM_PROVIDER: "openai" });
  const store = openStore(settings.dbPath);
  try {
    const runId = newRunId();
    store.runs.create({ run_id: runId, task: "Read notes.txt", options: {}, owner_pid: null });
    store.runs.update(runId, { status: "interrupted", error_message: "killed" });
    // Another process is resuming the run: it holds the lock, finishes ok, and lets go.
    const script = `
      import { DatabaseSync } from "node:sqlite";
      const [lock, db, id] = Deno.args;
      Deno.mkdirSync(lock.slice(0, lock.lastIndexOf("/")), { recursive: true });
      const f = Deno.openSync(lock, { read: true, write: true, create: true });
      f.lockSync(true);
      console.log("locked");
      await new Promise((r) => setTimeout(r, 400));
      new DatabaseSync(db).prepare("UPDATE runs SET status = 'ok' WHERE run_id = ?").run(id);
      f.unlockSync();
    `;
    const other = new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", script, runLockPath(store, runId)!, settings.dbPath, runId],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = other.stdout.pipeThrough(new TextDecoderStream()).getReader();
    assert.match((await reader.read()).value ?? "", /locked/);
    assert.throws(
      () => resumeRun({ settings, store }, runId),
      (error) => error instanceof ClosedClawError && error.code === "run_finished",
    );
    reader.releaseLock();
    await other.stdout.cancel().catch(() => {});
    assert.equal((await other.status).success, true);
    assert.equal(store.runs.get(runId)!.status, "ok");
  } finally {
    store.close();
  }
});
