/**
 * The crash suite: the coordinator (the real CLI, with `deno task run`'s own
 * permission flags) is killed at each stage of a run, then the run is resumed.
 * Every completed side effect must happen exactly once, answered model calls
 * must not be paid for again, and no run may be left `running`.
 *
 * The run: one subtask whose agent appends a line to effects.txt with
 * `terminal` (a side effect), then answers; a judge checks it; a synthesis
 * closes the run (CLOSED_CLAW_SYNTHESIZE_SINGLE: one subtask is synthesized too). The fake model holds the reply of the stage under test, and
 * the test kills the coordinator while it waits.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { machineFacts } from "../../capsule_runtime/machine.ts";
import type { RecordedRequest } from "../fakes/mod.ts";
import { decode, runCli, spawnCli } from "../helpers/cli.ts";
import {
  brainHandler,
  effectLines,
  isAgentStep,
  payingBrain,
  startBrain,
} from "../helpers/coordinator_brain.ts";
import { tempDir } from "../helpers/temp.ts";
import { waitFor } from "../helpers/wait.ts";

const bwrapWorks = (await machineFacts()).bwrapPath !== "";

/** The structured-output schema a request asks for ("" for plain text: the synthesis). */
function schemaOf(req: RecordedRequest): string {
  return req.body?.response_format?.json_schema?.name ?? "";
}

function agentSteps(req: RecordedRequest): number {
  const messages: { role: string }[] = req.body?.messages ?? [];
  return messages.filter((m) => m.role === "assistant").length;
}

interface Stage {
  name: string;
  /** The request whose reply is held while the coordinator is killed. */
  holds(req: RecordedRequest): boolean;
  /** When set, the stage is reached when this says so (instead of when the held request arrives). */
  reached?(workspace: string): boolean;
  /** The agent's command (default: append one line to effects.txt). */
  cmd?: string;
  /** What the resumed run says when it cannot complete. */
  failure?: RegExp;
  /** Lines in effects.txt once the resumed run is over. */
  effects: number;
  /** Whether the resumed run completes (a side effect in flight fails its subtask instead). */
  resumes: boolean;
}

const STAGES: Stage[] = [
  // The run's first call: the complexity and the plan in one reply.
  { name: "planning", holds: (r) => schemaOf(r) === "task_plan", effects: 1, resumes: true },
  { name: "routing", holds: (r) => schemaOf(r) === "agent_profile", effects: 1, resumes: true },
  {
    name: "capsule started",
    holds: (r) => isAgentStep(r) && agentSteps(r) === 0,
    effects: 1,
    resumes: true,
  },
  {
    // The line is written, the call has not returned: a side effect in flight.
    name: "a side-effecting tool in flight",
    holds: () => false,
    reached: (workspace) => effectLines(workspace) === 1,
    cmd: "echo paid >> effects.txt; sleep 100",
    effects: 1,
    resumes: false,
    failure: /terminal.*(may|might) (or may not )?have/s,
  },
  {
    name: "after a tool completed",
    holds: (r) => isAgentStep(r) && agentSteps(r) === 1,
    effects: 1,
    resumes: true,
  },
  {
    name: "acceptance judge",
    holds: (r) => schemaOf(r) === "acceptance_verdict",
    effects: 1,
    resumes: true,
  },
  {
    // Plain text and no tools: not an agent's step.
    name: "synthesis",
    holds: (r) => schemaOf(r) === "" && !r.body?.tools,
    effects: 1,
    resumes: true,
  },
];

async function runStatus(cwd: string, env: Record<string, string>, runId: string) {
  const out = await runCli(["runs", "--json"], { cwd, env });
  const rows = JSON.parse(out.stdout) as { run_id: string; status: string }[];
  return rows.find((r) => r.run_id === runId)?.status ?? "missing";
}

/** The run's id, from the one run log in the data folder. */
function onlyRunId(dataDir: string): string {
  const [entry] = [...Deno.readDirSync(join(dataDir, "runs"))];
  return entry.name.replace(".jsonl", "");
}

async function crashAndResume(stage: Stage, signal: Deno.Signal) {
  await using dir = await tempDir();
  let holding = true;
  const brain = payingBrain({ cmd: stage.cmd ?? "echo paid >> effects.txt", timeout_s: 120 });
  // A one-subtask run synthesizes only with this setting: the synthesis stage needs it.
  const { fake, workspace, env } = await startBrain(dir.path, brain, {
    CLOSED_CLAW_SYNTHESIZE_SINGLE: "true",
  });
  // Hold the reply of the stage under test until the coordinator is dead.
  const answer = brainHandler(brain);
  fake.handle(async (req, index) => {
    const reply = await answer(req, index);
    return holding && stage.holds(req) ? { ...reply, delayMs: 120_000 } : reply;
  });
  try {
    const child = spawnCli(["run", "Record the payment", "--json"], { cwd: workspace, env });
    await waitFor(
      () => stage.reached?.(workspace) ?? fake.requests.some(stage.holds),
      `the ${stage.name} stage`,
      30_000,
    );
    child.kill(signal);
    const killed = await child.output();
    if (signal === "SIGTERM") assert.equal(killed.code, 143, decode(killed.stderr));
    holding = false;
    const runId = onlyRunId(join(workspace, ".closed_claw"));
    // Within seconds the run shows as interrupted, never as running for ever.
    await waitFor(
      async () => (await runStatus(workspace, env, runId)) === "interrupted",
      "the run to show as interrupted",
      10_000,
    );
    const asked = fake.requests.length;
    const resumed = await runCli(["resume", runId, "--json"], { cwd: workspace, env });
    const lines = effectLines(workspace);
    assert.equal(lines, stage.effects, `${stage.name}: the side effect ran ${lines} times`);
    if (stage.resumes) assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    else assert.match(resumed.stdout + resumed.stderr, stage.failure ?? /terminal/);
    assert.notEqual(await runStatus(workspace, env, runId), "running");
    if (stage.name === "after a tool completed") {
      // The answered first step is replayed from the journal, not asked (and paid for) again.
      const firstSteps = fake.requests.slice(asked).filter((r) =>
        isAgentStep(r) && agentSteps(r) === 0
      );
      assert.equal(firstSteps.length, 0, "the first agent step was paid for again");
    }
  } finally {
    holding = false;
    await fake.close();
  }
}

for (const stage of STAGES) {
  Deno.test({
    name: `crash suite: kill -9 during ${stage.name}, then resume`,
    ignore: !bwrapWorks,
    fn: () => crashAndResume(stage, "SIGKILL"),
  });
}

Deno.test({
  name: "crash suite: SIGTERM after a tool completed stops like Ctrl-C (143), then resume",
  ignore: !bwrapWorks,
  fn: () => crashAndResume(STAGES.find((s) => s.name === "after a tool completed")!, "SIGTERM"),
});

/** Whether this process may mount a tmpfs (root, with mount available). */
const canMountTmpfs = Deno.uid() === 0 && (() => {
  try {
    return Deno.statSync("/bin/mount").isFile;
  } catch {
    return false;
  }
})();

async function sh(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${decode(out.stderr)}`);
}

Deno.test({
  name: canMountTmpfs
    ? "crash suite: the data folder's disk fills up after a tool completed; the run ends resumable"
    : "crash suite: full disk (skipped: needs root to mount a small tmpfs)",
  ignore: !bwrapWorks || !canMountTmpfs,
  fn: async () => {
    await using dir = await tempDir();
    const data = join(dir.path, "data");
    Deno.mkdirSync(data);
    await sh("mount", ["-t", "tmpfs", "-o", "size=24m", "tmpfs", data]);
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let filled = false;
    try {
      const brain = payingBrain(undefined, []);
      const { fake, workspace, env } = await startBrain(dir.path, brain, {
        CLOSED_CLAW_HOME: data,
      });
      const answer = brainHandler(brain);
      fake.handle(async (req, index) => {
        const reply = await answer(req, index);
        if (!filled && isAgentStep(req) && agentSteps(req) === 1) await gate;
        return reply;
      });
      try {
        const child = spawnCli(["run", "Record the payment", "--json"], { cwd: workspace, env });
        await waitFor(
          () => fake.requests.some((r) => isAgentStep(r) && agentSteps(r) === 1),
          "the step after the tool",
          30_000,
        );
        // Fill the disk to the last byte, then let the run go on.
        await new Deno.Command("dd", {
          args: ["if=/dev/zero", `of=${join(data, "filler")}`, "bs=64k"],
          stdout: "null",
          stderr: "null",
        }).output();
        filled = true;
        release();
        const ended = await child.output();
        assert.notEqual(ended.code, 0, "a run that cannot record its work does not claim success");
        Deno.removeSync(join(data, "filler"));
        const runId = onlyRunId(data);
        await waitFor(
          async () => (await runStatus(workspace, env, runId)) !== "running",
          "the run to stop being 'running'",
          10_000,
        );
        const resumed = await runCli(["resume", runId, "--json"], { cwd: workspace, env });
        assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
        assert.equal(effectLines(workspace), 1, "the payment was written once");
      } finally {
        await fake.close();
      }
    } finally {
      release();
      await sh("umount", ["-l", data]).catch(() => {});
    }
  },
});
