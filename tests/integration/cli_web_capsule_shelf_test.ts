/**
 * `closed-claw web` lives across runs: a run started from the dashboard that
 * ends well leaves its agent's capsule for the next one (warm "carried"), and
 * stopping the dashboard ends it. Run as users run it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { decode, spawnCli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp.ts";
import { waitFor } from "../helpers/wait.ts";
import { startBrain, taskFileBrain } from "../helpers/coordinator_brain.ts";
import { processAlive } from "../fixtures/capsule_harness.ts";

Deno.test("the dashboard's next run of an agent starts on the capsule its last run left; stopping the dashboard ends it", async () => {
  await using dir = await tempDir();
  const { fake, settings, workspace, env } = await startBrain(dir.path, taskFileBrain(), {
    CLOSED_CLAW_LOW_CONFIDENCE_THRESHOLD: "0.2",
  });
  await Deno.writeTextFile(join(workspace, "first.txt"), "one\n");
  await Deno.writeTextFile(join(workspace, "second.txt"), "two\n");
  const web = spawnCli(["web", "--port", "0"], { cwd: dir.path, env });
  let out = "";
  const reader = web.stdout.getReader();
  try {
    for (const deadline = Date.now() + 30_000; !out.includes("Press Ctrl-C");) {
      const { value, done } = await reader.read();
      if (done || Date.now() > deadline) throw new Error(`the dashboard did not start:\n${out}`);
      out += decode(value);
    }
    const base = /dashboard\S* at (http:\/\/\S+)/.exec(out)![1];
    const token = /\?token=([A-Za-z0-9_-]+)/.exec(out)![1];
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const runTask = async (task: string) => {
      const started = await fetch(`${base}/api/runs`, {
        method: "POST",
        headers,
        body: JSON.stringify({ task, create_approval_mode: "approve" }),
      });
      assert.equal(started.status, 202, await started.clone().text());
      const { run_id } = await started.json();
      let status = "running";
      await waitFor(
        async () => {
          const res = await fetch(`${base}/api/runs/${run_id}/status`, { headers });
          status = (await res.json()).status;
          return status !== "running";
        },
        `run ${run_id} to end`,
        30_000,
      );
      assert.equal(status, "ok");
      const log = Deno.readTextFileSync(join(settings.runLogsDir, `${run_id}.jsonl`));
      return log.trim().split("\n").map((l) => JSON.parse(l))
        .filter((e) => e.event === "capsule_started").map((e) => e.payload);
    };
    const [first] = await runTask("Read first.txt and say what it holds.");
    const [second] = await runTask("Read second.txt and say what it holds.");
    assert.equal(second.agent_id, first.agent_id);
    assert.equal(second.pid, first.pid, "the second run started on the first run's capsule");
    assert.equal(second.warm, "carried");
    assert.ok(processAlive(second.pid));
    web.kill("SIGINT");
    await web.status;
    await waitFor(() => !processAlive(second.pid), "the waiting capsule to end", 5_000);
  } finally {
    reader.releaseLock();
    try {
      web.kill("SIGKILL");
    } catch {
      // already stopped
    }
    await web.output().catch(() => {});
    await fake.close();
  }
});
