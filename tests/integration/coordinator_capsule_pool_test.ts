/**
 * Start before you need, through whole runs: consecutive subtasks of one
 * agent share one capsule process (each from a fresh state), another agent
 * never gets it, the capsule of an agent routing will reuse starts before its
 * subtask does, and a cancelled run kills what waits at once.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../store/mod.ts";
import { type RunLogEvent, startRun } from "../../coordinator/mod.ts";
import { tempDir } from "../helpers/temp.ts";
import {
  type Brain,
  isAgentStep,
  type PlanItem,
  READ_BOTH_PLAN,
  readTaskFile,
  seedAgent,
  startBrain,
} from "../helpers/coordinator_brain.ts";
import { type FakeServer, promptText } from "../fakes/mod.ts";
import { processAlive } from "../fixtures/capsule_harness.ts";
import { waitFor } from "../helpers/wait.ts";

/** Reads the file the task names, then answers without repeating what it read. */
function readerBrain(plan: PlanItem[]): Brain {
  return {
    complexity: "simple",
    plan: () => plan,
    agent: readTaskFile,
    synthesis: "Both files were read.",
  };
}

const payloads = (events: RunLogEvent[], name: string) =>
  events.filter((e) => e.event === name).map((e) => e.payload);

/**
 * Runs `task` on a fake brain answering from `plan`, with first.txt and
 * second.txt in the workspace holding `texts`, to a successful end; the run's
 * events, and the fake (the caller closes it).
 */
async function runReads(
  dir: string,
  plan: PlanItem[],
  task: string,
  texts: [string, string],
  env: Record<string, string> = {},
): Promise<{ fake: FakeServer; events: RunLogEvent[] }> {
  const { fake, settings, workspace } = await startBrain(dir, readerBrain(plan), env);
  const store = openStore(settings.dbPath);
  try {
    await Deno.writeTextFile(join(workspace, "first.txt"), texts[0]);
    await Deno.writeTextFile(join(workspace, "second.txt"), texts[1]);
    const events: RunLogEvent[] = [];
    const outcome = await startRun({ settings, store }, {
      task,
      onEvent: (e) => void events.push(e),
    }).done;
    assert.equal(outcome.status, "ok", outcome.error);
    return { fake, events };
  } catch (error) {
    await fake.close();
    throw error;
  } finally {
    store.close();
  }
}

Deno.test("two consecutive subtasks of one agent run in one capsule process, the second from a fresh state", async () => {
  await using dir = await tempDir();
  const { fake, events } = await runReads(
    dir.path,
    READ_BOTH_PLAN,
    "Read first.txt, then second.txt.",
    ["first secret ALPHA-111\n", "second text BETA-222\n"],
  );
  try {
    const started = payloads(events, "capsule_started");
    assert.deepEqual(started.map((p) => p.task_id), ["execute-first", "execute-second"]);
    assert.equal(started[0].agent_id, started[1].agent_id);
    assert.equal(started[1].pid, started[0].pid, "the second subtask ran in the same process");
    assert.equal(started[0].warm, undefined);
    assert.equal(started[1].warm, "kept");
    // What the first read never reached the second's model calls.
    const steps = fake.requests.filter(isAgentStep).map(promptText);
    const second = steps.filter((p) => p.includes("Read second.txt."));
    assert.equal(second.length, 2);
    for (const p of second) assert.doesNotMatch(p, /ALPHA-111/);
    assert.ok(steps.some((p) => /ALPHA-111/.test(p)), "the first did read it");
    assert.ok(second.some((p) => /BETA-222/.test(p)), "the second read its own file");
    // The run's end killed the kept capsule.
    await waitFor(() => !processAlive(Number(started[0].pid)), "the kept capsule to end", 5_000);
  } finally {
    await fake.close();
  }
});

Deno.test("with CLOSED_CLAW_CAPSULE_REUSE=false every subtask gets a new process", async () => {
  await using dir = await tempDir();
  const { fake, events } = await runReads(
    dir.path,
    READ_BOTH_PLAN,
    "Read first.txt, then second.txt.",
    ["one\n", "two\n"],
    { CLOSED_CLAW_CAPSULE_REUSE: "false" },
  );
  try {
    const started = payloads(events, "capsule_started");
    assert.equal(started.length, 2);
    assert.equal(started[0].agent_id, started[1].agent_id);
    assert.notEqual(started[1].pid, started[0].pid);
    assert.deepEqual(started.map((p) => p.warm), [undefined, undefined]);
    assert.equal(payloads(events, "capsule_prestarted").length, 0);
  } finally {
    await fake.close();
  }
});

Deno.test("a subtask of another agent never gets the first agent's capsule", async () => {
  await using dir = await tempDir();
  const plan = [READ_BOTH_PLAN[0], { ...READ_BOTH_PLAN[1], role_tag: "checker" }];
  const { fake, events } = await runReads(
    dir.path,
    plan,
    "Read first.txt, then check second.txt.",
    ["one\n", "two\n"],
  );
  try {
    const started = payloads(events, "capsule_started");
    assert.equal(started.length, 2);
    assert.notEqual(started[0].agent_id, started[1].agent_id);
    assert.notEqual(started[1].pid, started[0].pid);
    assert.equal(started[1].warm, undefined);
    // The first agent's capsule was kept for it (idle, never handed over) until the run ended.
    const discarded = payloads(events, "capsule_discarded");
    assert.deepEqual(discarded.map((p) => [p.pid, p.reason]), [
      [started[0].pid, "the run ended"],
      [started[1].pid, "the run ended"],
    ]);
    for (const p of started) {
      await waitFor(() => !processAlive(Number(p.pid)), "the capsules to end", 5_000);
    }
  } finally {
    await fake.close();
  }
});

/** One subtask the seeded agent is the clear match for (its description is the subtask). */
const SEEDED_PLAN: PlanItem[] = [{
  task_id: "read",
  title: "Read notes",
  description: "Read notes.txt.",
  role_tag: "reader",
}];

Deno.test("the capsule of an agent routing reuses starts before its subtask and serves it", async () => {
  await using dir = await tempDir();
  const { fake, settings, workspace } = await startBrain(dir.path, readerBrain(SEEDED_PLAN), {
    CLOSED_CLAW_LOW_CONFIDENCE_THRESHOLD: "0.2",
  });
  await Deno.writeTextFile(join(workspace, "notes.txt"), "hello\n");
  const store = openStore(settings.dbPath);
  const agentId = seedAgent(settings, store, "Read notes\nRead notes.txt.");
  try {
    const events: RunLogEvent[] = [];
    const run = startRun({ settings, store }, {
      task: "Read notes.txt.",
      onEvent: (e) => void events.push(e),
    });
    const outcome = await run.done;
    assert.equal(outcome.status, "ok", outcome.error);
    const names = events.map((e) => e.event);
    // Started while the task was planned or its subtask routed (before its capsule was
    // asked for: one for the task, maybe one more for the plan), then taken by it.
    const prestarted = payloads(events, "capsule_prestarted");
    assert.ok(prestarted.length >= 1 && prestarted.length <= 2, String(prestarted.length));
    for (const p of prestarted) assert.equal(p.agent_id, agentId);
    assert.ok(names.indexOf("capsule_prestarted") < names.indexOf("capsule_started"));
    const [started] = payloads(events, "capsule_started");
    assert.equal(started.agent_id, agentId);
    assert.ok(prestarted.some((p) => p.pid === started.pid));
    assert.equal(started.warm, "prestarted");
    // What was not used was killed at the run's end.
    const discarded = payloads(events, "capsule_discarded").map((p) => p.pid);
    for (const p of prestarted.filter((p) => p.pid !== started.pid)) {
      assert.ok(discarded.includes(p.pid));
    }
  } finally {
    store.close();
    await fake.close();
  }
});

Deno.test("a cancelled run kills its prestarted capsule at once", async () => {
  await using dir = await tempDir();
  const { fake, settings, workspace } = await startBrain(dir.path, readerBrain(SEEDED_PLAN), {
    CLOSED_CLAW_LOW_CONFIDENCE_THRESHOLD: "0.2",
  });
  await Deno.writeTextFile(join(workspace, "notes.txt"), "hello\n");
  const store = openStore(settings.dbPath);
  seedAgent(settings, store, "Read notes\nRead notes.txt.");
  try {
    const events: RunLogEvent[] = [];
    let pid = 0;
    const run = startRun({ settings, store }, {
      task: "Read notes.txt.",
      onEvent: (e) => {
        events.push(e);
        if (e.event === "capsule_prestarted") {
          pid = Number(e.payload.pid);
          assert.ok(processAlive(pid));
          run.cancel("stop now");
        }
      },
    });
    const outcome = await run.done;
    assert.equal(outcome.status, "cancelled");
    assert.ok(pid > 0, "a capsule was prestarted");
    const discarded = payloads(events, "capsule_discarded");
    assert.deepEqual(discarded.map((p) => [p.pid, p.reason]), [[pid, "the run stopped"]]);
    assert.equal(payloads(events, "capsule_started").length, 0, "no subtask ran");
    await waitFor(() => !processAlive(pid), "the prestarted capsule to end", 2_000);
  } finally {
    store.close();
    await fake.close();
  }
});
