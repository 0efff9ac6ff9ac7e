/**
 * The step journal through the real CLI (its own permission flags), a fake
 * OpenAI server and real capsules: a subtask retried after its capsule died,
 * and a run resumed after Ctrl-C, continue the agent's conversation from the
 * journal: the side effect that completed is not repeated and the model step
 * already answered is not asked (and paid for) again.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { RecordedRequest } from "../fakes/mod.ts";
import { pidsWithCommand } from "../fixtures/capsule_harness.ts";
import { runCli, spawnCli } from "../helpers/cli.ts";
import {
  brainHandler,
  effectLines,
  isAgentStep,
  payingBrain,
  startBrain,
} from "../helpers/coordinator_brain.ts";
import { tempDir } from "../helpers/temp.ts";
import { waitFor } from "../helpers/wait.ts";

/** How many assistant messages an agent step request carries (-1: not an agent step). */
function agentStep(req: RecordedRequest): number {
  if (!isAgentStep(req)) return -1;
  return (req.body.messages as { role: string }[]).filter((m) => m.role === "assistant").length;
}

/** The one run log in the workspace's data folder. */
function runLogName(workspace: string): string {
  const dir = join(workspace, ".closed_claw", "runs");
  return [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".jsonl"))[0].name;
}

function runEvents(workspace: string): { event: string; payload: Record<string, unknown> }[] {
  const path = join(workspace, ".closed_claw", "runs", runLogName(workspace));
  return Deno.readTextFileSync(path).trim().split("\n").map((l) => JSON.parse(l));
}

/**
 * A one-subtask run whose agent appends "paid" to effects.txt, then answers.
 * The reply to the agent's second step waits until `release()`.
 */
async function payingRun(dir: string, env: Record<string, string> = {}) {
  const brain = payingBrain();
  const started = await startBrain(dir, brain, {
    CLOSED_CLAW_ALLOW_UNSANDBOXED_EXEC: "true",
    ...env,
  });
  let release = () => {};
  const gate = new Promise<void>((resolve) => release = resolve);
  const answer = brainHandler(brain);
  started.fake.handle(async (req, index) => {
    if (agentStep(req) === 1) await gate;
    return await answer(req, index);
  });
  return { ...started, release };
}

Deno.test("a subtask retried after its capsule died continues from the journal", async () => {
  await using dir = await tempDir();
  const { fake, workspace, env, release } = await payingRun(dir.path, {
    CLOSED_CLAW_AGENT_RETRIES: "0",
    CLOSED_CLAW_SUBTASK_MAX_ATTEMPTS: "3",
  });
  try {
    const child = spawnCli(["run", "Record the payment", "--json"], { cwd: workspace, env });
    await waitFor(
      () => fake.requests.some((r) => agentStep(r) === 1),
      "the second agent step",
      60_000,
    );
    // The payment is written; the capsule (only this run's) dies while its next step is asked.
    const capsules = pidsWithCommand("/guest/").filter((pid) =>
      Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes(workspace)
    );
    assert.ok(capsules.length > 0, "the capsule was found");
    for (const pid of capsules) Deno.kill(pid, "SIGKILL");
    release();
    const out = await child.output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.equal(effectLines(workspace), 1, "the payment was written once");
    // Both steps were answered (the second after the capsule died): neither is asked again.
    assert.equal(fake.requests.filter((r) => agentStep(r) === 0).length, 1, "step 0 paid once");
    assert.equal(fake.requests.filter((r) => agentStep(r) === 1).length, 1, "step 1 paid once");
    const events = runEvents(workspace);
    const attempts = events.filter((e) => e.event === "subtask_attempt_started");
    assert.equal(attempts.length, 2, "the crash was retried");
    const replayed = events.filter((e) => e.event === "step_replayed");
    assert.deepEqual(replayed.map((e) => e.payload.kind), [
      "model_call",
      "tool_call",
      "model_call",
    ]);
  } finally {
    release();
    await fake.close();
  }
});

Deno.test("a run resumed after Ctrl-C replays the payment and the step before it", async () => {
  await using dir = await tempDir();
  const { fake, workspace, env, release } = await payingRun(dir.path);
  try {
    const child = spawnCli(["run", "Record the payment", "--json"], { cwd: workspace, env });
    await waitFor(
      () => fake.requests.some((r) => agentStep(r) === 1),
      "the second agent step",
      60_000,
    );
    child.kill("SIGINT");
    const stopped = await child.output();
    assert.equal(stopped.code, 130, new TextDecoder().decode(stopped.stderr));
    release();
    assert.equal(effectLines(workspace), 1);
    const asked = fake.requests.length;
    const runId = runLogName(workspace).replace(".jsonl", "");
    const resumed = await runCli(["resume", runId, "--json"], { cwd: workspace, env });
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    assert.equal(effectLines(workspace), 1, "the payment was not made again");
    const after = fake.requests.slice(asked);
    assert.equal(after.filter((r) => agentStep(r) === 0).length, 0, "step 0 was not paid again");
    assert.equal(after.filter((r) => agentStep(r) === 1).length, 1, "step 1 was asked live");
    const replayed = runEvents(workspace).filter((e) => e.event === "step_replayed");
    assert.deepEqual(replayed.map((e) => e.payload.kind), ["model_call", "tool_call"]);
  } finally {
    release();
    await fake.close();
  }
});
