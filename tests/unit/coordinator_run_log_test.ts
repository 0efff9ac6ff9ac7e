/** The run log: a torn last line is ended before the next event; a failed write says so. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ClosedClawError } from "../../core/errors.ts";
import { parseRunLog, RunLog } from "../../coordinator/run_log.ts";
import { tempDir } from "../helpers/temp.ts";

Deno.test("RunLog: a torn last line (full disk, crash) gets its newline; readers skip it", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "run_torn.jsonl");
  const whole = JSON.stringify({ ts: "2026-01-01T00:00:00Z", event: "task_ingested", payload: {} });
  await Deno.writeTextFile(path, `${whole}\n{"t`);
  const log = new RunLog(dir.path, "run_torn");
  log.emit("run_resumed", { stage: "planned" });
  log.emit("run_finished", {});
  log.close();
  const text = await Deno.readTextFile(path);
  assert.deepEqual(text.split("\n").slice(0, 2), [whole, '{"t']);
  assert.ok(text.endsWith("\n"));
  assert.deepEqual(parseRunLog(text).map((e) => e.event), [
    "task_ingested",
    "run_resumed",
    "run_finished",
  ]);
});

Deno.test("RunLog: a log ending in a newline, or empty, is appended to as it is", async () => {
  await using dir = await tempDir();
  const log = new RunLog(dir.path, "run_clean");
  log.emit("a");
  log.close();
  const again = new RunLog(dir.path, "run_clean");
  again.emit("b");
  again.close();
  const text = await Deno.readTextFile(join(dir.path, "run_clean.jsonl"));
  assert.equal(text.split("\n").length, 3);
  assert.deepEqual(parseRunLog(text).map((e) => e.event), ["a", "b"]);
});

Deno.test({
  name: "RunLog: an unwritable folder is a run_log_write_failed error naming resume",
  ignore: Deno.uid() === 0, // root writes anywhere
  fn: async () => {
    await using dir = await tempDir();
    const logs = join(dir.path, "runs");
    await Deno.mkdir(logs);
    await Deno.chmod(logs, 0o500);
    try {
      assert.throws(() => new RunLog(logs, "run_ro"), (error: unknown) => {
        assert.ok(error instanceof ClosedClawError);
        assert.equal(error.code, "run_log_write_failed");
        assert.match(error.toLine(), /closed-claw resume run_ro/);
        return true;
      });
    } finally {
      await Deno.chmod(logs, 0o700);
    }
  },
});
