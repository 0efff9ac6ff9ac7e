/**
 * A claw lives across runs: an agent's next run starts on the capsule its
 * last run left (warm "carried"), from a fresh state, and `close()` ends it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createClaw, type RunLogEvent } from "../../mod.ts";
import { tempDir } from "../helpers/temp.ts";
import {
  finalStep,
  isAgentStep,
  notesBrain,
  seedAgent,
  startBrain,
  taskFileBrain,
  toolStep,
} from "../helpers/coordinator_brain.ts";
import { openStore } from "../../store/mod.ts";
import { promptText } from "../fakes/mod.ts";
import { processAlive } from "../fixtures/capsule_harness.ts";
import { waitFor } from "../helpers/wait.ts";
import type { Settings } from "../../core/settings.ts";

/** A claw on the brain's data folder (the one `startBrain` trusted), as a library user opens one. */
function clawOn(dir: string, settings: Settings, env: Record<string, string>) {
  return createClaw({
    cwd: dir,
    envFile: false,
    env: {
      ...env,
      CLOSED_CLAW_HOME: settings.homeDir,
      CLOSED_CLAW_CONFIG_DIR: join(dir, ".config", "closed-claw"),
    },
  });
}

Deno.test("a claw's next run starts on the capsule its last run left, from a fresh state; close() ends it", async () => {
  await using dir = await tempDir();
  const { fake, settings, workspace, env } = await startBrain(dir.path, taskFileBrain(), {
    CLOSED_CLAW_LOW_CONFIDENCE_THRESHOLD: "0.2",
  });
  await Deno.writeTextFile(join(workspace, "first.txt"), "first secret ALPHA-111\n");
  await Deno.writeTextFile(join(workspace, "second.txt"), "second text BETA-222\n");
  const claw = clawOn(dir.path, settings, env);
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

Deno.test("a run that fails leaves nothing for the next: its prestarted capsule is killed", async () => {
  await using dir = await tempDir();
  const read = {
    task_id: "read",
    title: "Read",
    description: "Reads text files, nothing else",
    role_tag: "reader",
    tools: ["file_io"],
  };
  const { fake, settings, workspace, env } = await startBrain(dir.path, {
    complexity: "simple",
    // The first task's plan: a subtask that cannot be done, then a read that needs it.
    plan: (_phase, prompt) =>
      /doomed/.test(prompt)
        ? [
          {
            task_id: "doomed",
            title: "Doomed",
            description: "Run the missing tool.",
            role_tag: "doomed",
            tools: ["terminal"],
          },
          { ...read, depends_on: ["doomed"] },
        ]
        : [read],
    agent: ({ step, prompt }) =>
      /missing tool/.test(prompt)
        ? finalStep("IMPOSSIBLE: there is no such tool")
        : step === 0
        ? toolStep("file_io", { op: "read", path: "notes.txt" })
        : finalStep("Read it."),
    synthesis: "Read.",
  }, {
    CLOSED_CLAW_LOW_CONFIDENCE_THRESHOLD: "0.2",
    CLOSED_CLAW_SUBTASK_MAX_ATTEMPTS: "1",
    CLOSED_CLAW_AGENT_RETRIES: "0",
  });
  await Deno.writeTextFile(join(workspace, "notes.txt"), "hello\n");
  const store = openStore(settings.dbPath);
  seedAgent(settings, store, "Reads text files, nothing else");
  store.close();
  const claw = clawOn(dir.path, settings, env);
  try {
    const events: RunLogEvent[] = [];
    const failed = await claw.run("A doomed task, then read the notes", {
      onEvent: (e) => void events.push(e),
    }).done;
    assert.equal(failed.status, "error");
    // The read's agent was predicted and its capsule prestarted; the read never ran.
    const prestarted = events.filter((e) =>
      e.event === "capsule_prestarted" &&
      !events.some((s) => s.event === "capsule_started" && s.payload.pid === e.payload.pid)
    );
    assert.ok(prestarted.length >= 1, "an unused capsule waited when the run failed");
    for (const e of prestarted) {
      await waitFor(() => !processAlive(Number(e.payload.pid)), "it to be killed", 5_000);
    }
    let warm: unknown = "none";
    const ok = await claw.run("Read the notes", {
      onEvent: (e) => {
        if (e.event === "capsule_started") warm = e.payload.warm;
      },
    }).done;
    assert.equal(ok.status, "ok", ok.error);
    assert.notEqual(warm, "carried");
  } finally {
    await claw.close();
    await fake.close();
  }
});

Deno.test("a script that never closes its claw still ends at once; its waiting capsule ends with it", async () => {
  await using dir = await tempDir();
  const { fake, settings, workspace, env } = await startBrain(dir.path, notesBrain());
  await Deno.writeTextFile(join(workspace, "notes.txt"), "hello\n");
  const script = join(dir.path, "forgetful.ts");
  await Deno.writeTextFile(
    script,
    `import { createClaw } from ${JSON.stringify(new URL("../../mod.ts", import.meta.url).href)};
const claw = createClaw({ envFile: false, env: Deno.env.toObject() });
let pid = 0;
const outcome = await claw.run("Read notes.txt", {
  onEvent: (e) => { if (e.event === "capsule_started") pid = Number(e.payload.pid); },
}).done;
console.log(JSON.stringify({ status: outcome.status, pid }));
// no claw.close(): the capsule waits on the shelf, and must not keep this script alive
`,
  );
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", new URL("../../deno.json", import.meta.url).pathname, script],
      cwd: dir.path,
      env: {
        ...env,
        CLOSED_CLAW_HOME: settings.homeDir,
        CLOSED_CLAW_CONFIG_DIR: join(dir.path, ".config", "closed-claw"),
        NO_COLOR: "1",
      },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    // The run's answer is the script's last line: from then on only the exit is left.
    let text = "";
    let answeredAt = 0;
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      if (!answeredAt && text.includes("\n")) answeredAt = Date.now();
    }
    const { code } = await child.status;
    const exitedAfter = Date.now() - answeredAt;
    assert.equal(code, 0, text + await stderr);
    const { status, pid } = JSON.parse(text.trim().split("\n").at(-1)!);
    assert.equal(status, "ok");
    // The shelf would keep the capsule 15 s; the script ended right after its answer.
    assert.ok(exitedAfter < 5_000, `ended ${exitedAfter} ms after its answer`);
    await waitFor(() => !processAlive(pid), "the capsule to end with the script", 5_000);
  } finally {
    await fake.close();
  }
});
