/**
 * A claw lives across runs: an agent's next run starts on the capsule its
 * last run left (warm "carried"), from a fresh state, and `close()` ends it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createClaw, type RunLogEvent } from "../../mod.ts";
import { tempDir } from "../helpers/temp.ts";
import { finalStep, isAgentStep, startBrain, toolStep } from "../helpers/coordinator_brain.ts";
import { promptText } from "../fakes/mod.ts";
import { processAlive } from "../fixtures/capsule_harness.ts";
import { waitFor } from "../helpers/wait.ts";

Deno.test("a claw's next run starts on the capsule its last run left, from a fresh state; close() ends it", async () => {
  await using dir = await tempDir();
  const { fake, settings, workspace, env } = await startBrain(dir.path, {
    complexity: "simple",
    plan: (task) => [{
      task_id: "read",
      title: "Read",
      description: task,
      role_tag: "reader",
      tools: ["file_io"],
    }],
    agent: ({ step, prompt }) =>
      step === 0
        ? toolStep("file_io", { op: "read", path: /Read (\w+\.txt)/.exec(prompt)?.[1] ?? "?" })
        : finalStep("I read the file."),
    synthesis: "Read.",
  }, { CLOSED_CLAW_LOW_CONFIDENCE_THRESHOLD: "0.2" });
  await Deno.writeTextFile(join(workspace, "first.txt"), "first secret ALPHA-111\n");
  await Deno.writeTextFile(join(workspace, "second.txt"), "second text BETA-222\n");
  const claw = createClaw({
    cwd: dir.path,
    envFile: false,
    env: {
      ...env,
      CLOSED_CLAW_HOME: settings.homeDir,
      CLOSED_CLAW_CONFIG_DIR: join(dir.path, ".config", "closed-claw"),
    },
  });
  const started: Record<string, unknown>[] = [];
  try {
    const onEvent = (e: RunLogEvent) => {
      if (e.event === "capsule_started") started.push(e.payload);
    };
    for (const file of ["first.txt", "second.txt"]) {
      const outcome = await claw.run(`Read ${file} and say what it holds.`, { onEvent }).done;
      assert.equal(outcome.status, "ok", outcome.error);
    }
    assert.equal(started.length, 2);
    assert.equal(started[0].agent_id, started[1].agent_id, "the second run reused the agent");
    assert.equal(started[1].pid, started[0].pid, "and the capsule process the first left");
    assert.equal(started[1].warm, "carried");
    // The first run's read never reached the second run's model calls.
    const second = fake.requests.filter(isAgentStep).map(promptText)
      .filter((p) => p.includes("Read second.txt"));
    assert.ok(second.length >= 1);
    for (const p of second) assert.doesNotMatch(p, /ALPHA-111/);
    assert.ok(processAlive(Number(started[1].pid)), "it waits for a third run");
  } finally {
    await claw.close();
    await fake.close();
  }
  // Closing the claw ended what waited.
  await waitFor(() => !processAlive(Number(started[1].pid)), "the waiting capsule to end", 5_000);
});
