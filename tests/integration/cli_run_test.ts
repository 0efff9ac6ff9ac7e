/** The `run`, `resume` and `cancel-run` commands as a user runs them, in subprocesses. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../store/mod.ts";
import { answerOnTerminal, decode, HAS_SCRIPT, runCli, spawnCli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  type Brain,
  finalStep,
  READ_BOTH_PLAN,
  seedAgent,
  startBrain,
  stepCallsFor,
  toolStep,
} from "../helpers/coordinator_brain.ts";

/** Waits until some run's log has `event`; returns that run's id. */
async function waitForLogEvent(runLogsDir: string, event: string): Promise<string> {
  let runId = "";
  await waitFor(async () => {
    try {
      for (const entry of Deno.readDirSync(runLogsDir)) {
        const text = await Deno.readTextFile(join(runLogsDir, entry.name));
        if (text.includes(`"${event}"`)) runId = entry.name.replace(".jsonl", "");
      }
    } catch {
      // the folder is not created yet
    }
    return runId !== "";
  }, event);
  return runId;
}

/** A run whose one subtask sleeps 30 s in the terminal, so it can be stopped mid-tool. */
const startSleeper = (dir: string) =>
  startBrain(dir, {
    plan: () => [{
      task_id: "sleep",
      title: "Sleep",
      description: "Sleep.",
      role_tag: "sleeper",
      tools: ["terminal"],
    }],
    agent: ({ step }) =>
      step === 0 ? toolStep("terminal", { cmd: "sleep 30" }) : finalStep("slept"),
  }, { CLOSED_CLAW_ALLOW_UNSANDBOXED_EXEC: "true" });

Deno.test("run prints the answer and exits 0; a failed run exits 1; bad input exits 2", async () => {
  await using dir = await tempDir();
  const brain: Brain = {
    plan: (_p, prompt) => [{
      task_id: "read",
      title: "Read",
      description: prompt.includes("missing") ? "Read missing.txt." : "Read here.txt.",
      role_tag: "reader",
    }],
    agent: ({ prompt, step, last }) =>
      step === 0
        ? toolStep("file_io", {
          op: "read",
          path: prompt.includes("missing.txt") ? "missing.txt" : "here.txt",
        })
        : finalStep(last.slice(0, 80)),
    synthesis: "here.txt says hi",
  };
  const { fake, workspace, env } = await startBrain(dir.path, brain);
  try {
    await Deno.writeTextFile(join(workspace, "here.txt"), "hi");
    const ok = await runCli(["run", "Read here.txt", "--json"], { cwd: dir.path, env });
    assert.equal(ok.code, 0, ok.stderr);
    const json = JSON.parse(ok.stdout);
    assert.equal(json.status, "ok");
    assert.equal(json.execution_subtask_pool[0].status, "completed");
    // One subtask: its answer is the run's (no synthesis call, so not the brain's "here.txt says hi").
    assert.equal(json.result, json.execution_subtask_pool[0].result);
    assert.equal(json.result, "hi");
    // The plan and the new agent's profile came before the first tool; then two agent steps.
    assert.deepEqual(json.model_calls, { total: 4, before_first_tool: 2 });
    const again = await runCli(["run", "Read here.txt"], { cwd: dir.path, env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^Model calls: \d+ \(\d+ before the first tool call\)$/m);
    const failed = await runCli(["run", "Read missing.txt"], { cwd: dir.path, env });
    assert.equal(failed.code, 1);
    assert.match(failed.stdout, /Task failed: execution_phase_failed/);
    assert.match(failed.stdout, /\[execute-read\] attempt 2 failed/);
    const blank = await runCli(["run", "  "], { cwd: dir.path, env });
    assert.equal(blank.code, 2);
    assert.match(blank.stderr, /The task is empty/);
    const badMode = await runCli(["run", "x", "--api-approval-mode", "maybe"], {
      cwd: dir.path,
      env,
    });
    assert.equal(badMode.code, 2);
    assert.equal(badMode.stderr.trim().split("\n").length, 1);
  } finally {
    await fake.close();
  }
});

Deno.test("cancel-run from another process stops a run during a tool call; it exits 130", async () => {
  await using dir = await tempDir();
  const { fake, env, settings } = await startSleeper(dir.path);
  try {
    const child = spawnCli(["run", "Sleep a while"], { cwd: dir.path, env });
    const runId = await waitForLogEvent(settings.runLogsDir, "tool_started");
    const started = performance.now();
    // A unique prefix of the id is enough.
    const cancel = await runCli(["cancel-run", runId.slice(0, 8)], { cwd: dir.path, env });
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.equal(
      cancel.stdout.trim(),
      `Asked run ${runId} to stop; its capsules are being stopped.`,
    );
    const out = await child.output();
    assert.ok(performance.now() - started < 5000);
    assert.equal(out.code, 130, decode(out.stderr));
    assert.match(decode(out.stdout), /Run stopped by user request/);
    // On a run that has ended: one clear line, not raw JSON.
    const again = await runCli(["cancel-run", "last"], { cwd: dir.path, env });
    assert.equal(again.code, 1);
    assert.equal(
      again.stdout.trim(),
      `Run ${runId} already ended (cancelled); there is nothing to cancel. Continue it with \`closed-claw resume ${runId}\`.`,
    );
  } finally {
    await fake.close();
  }
});

Deno.test("Ctrl-C stops the run at once and exits 130, and the run is recorded as cancelled", async () => {
  await using dir = await tempDir();
  const { fake, env, settings } = await startSleeper(dir.path);
  try {
    const child = spawnCli(["run", "Sleep a while"], { cwd: dir.path, env });
    const store = openStore(settings.dbPath);
    try {
      await waitForLogEvent(settings.runLogsDir, "tool_started");
      const started = performance.now();
      child.kill("SIGINT");
      const out = await child.output();
      assert.ok(performance.now() - started < 5000);
      assert.equal(out.code, 130, decode(out.stderr));
      assert.equal(store.runs.list({ limit: 1 })[0].status, "cancelled");
    } finally {
      store.close();
    }
  } finally {
    await fake.close();
  }
});

Deno.test("kill -9 of the coordinator, then resume continues without redoing completed subtasks", async () => {
  await using dir = await tempDir();
  let hang = true;
  const { fake, env, settings, workspace } = await startBrain(dir.path, {
    plan: () => READ_BOTH_PLAN,
    agent: ({ prompt, step, last }) => {
      const file = prompt.includes("Read second.txt") ? "second.txt" : "first.txt";
      if (file === "second.txt" && hang) return { text: "{}", delayMs: 60_000 };
      return step === 0
        ? toolStep("file_io", { op: "read", path: file })
        : finalStep(last.slice(0, 80));
    },
    synthesis: "both read",
  });
  try {
    await Deno.writeTextFile(join(workspace, "first.txt"), "1");
    await Deno.writeTextFile(join(workspace, "second.txt"), "2");
    const child = spawnCli(["run", "Read both files"], { cwd: dir.path, env });
    const store = openStore(settings.dbPath);
    let runId = "";
    try {
      await waitFor(() => {
        const run = store.runs.list({ limit: 1 })[0];
        const second = run &&
          store.subtasks.listForRun(run.run_id).find((s) => s.task_id === "execute-second");
        runId = run?.run_id ?? "";
        return second?.status === "in_progress" &&
          fake.requests.some((r) => JSON.stringify(r.body).includes("Read second.txt"));
      }, "the second subtask to start");
    } finally {
      store.close();
    }
    const firstCalls = () => stepCallsFor(fake, "Read first.txt");
    const before = firstCalls();
    child.kill("SIGKILL");
    await child.output();

    const runs = await runCli(["runs", "--json"], { cwd: dir.path, env });
    assert.equal(JSON.parse(runs.stdout)[0].status, "interrupted");

    hang = false;
    const resumed = await runCli(["resume", runId, "--json"], { cwd: dir.path, env });
    assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout);
    const json = JSON.parse(resumed.stdout);
    assert.equal(json.status, "ok");
    assert.equal(json.result, "both read");
    assert.deepEqual(json.execution_subtask_pool.map((s: { status: string }) => s.status), [
      "completed",
      "completed",
    ]);
    assert.equal(firstCalls(), before, "the completed subtask did not run again");
    const log = await Deno.readTextFile(join(settings.runLogsDir, `${runId}.jsonl`));
    assert.match(log, /"run_resumed"/);
  } finally {
    await fake.close();
  }
});

Deno.test({
  name: "interactive approval on a real terminal: the user's 'yes' creates the agent",
  ignore: !HAS_SCRIPT,
}, async () => {
  await using dir = await tempDir();
  const { fake, env, settings, workspace } = await startBrain(dir.path, {
    plan: () => [{
      task_id: "read",
      title: "Read",
      description: "Read notes.txt.",
      role_tag: "reader",
    }],
    agent: ({ step, last }) =>
      step === 0
        ? toolStep("file_io", { op: "read", path: "notes.txt" })
        : finalStep(last.slice(0, 50)),
    rerank: () => [{ agent_id: "c1", score: 0.2, reason: "weak" }],
    // A read-only agent is asked about only when every new agent is.
  }, { CLOSED_CLAW_AGENT_APPROVAL_SCOPE: "all" });
  const store = openStore(settings.dbPath);
  try {
    await Deno.writeTextFile(join(workspace, "notes.txt"), "n");
    const existing = seedAgent(settings, store);
    const { code, seen } = await answerOnTerminal(
      ["run", "Read notes", "--create-approval-mode", "interactive"],
      { cwd: dir.path, env },
      () => "yes\n",
    );
    assert.equal(code, 0, seen);
    assert.match(seen, /Approval needed \(agent_create\)/);
    const run = store.runs.list({ limit: 1 })[0];
    const state = store.runs.loadState<
      {
        approvals: { approved: boolean; operator: string }[];
        role_agent_map: Record<string, string>;
      }
    >(run.run_id)!;
    assert.deepEqual(state.approvals.map((a) => [a.approved, a.operator]), [[
      true,
      "terminal_user",
    ]]);
    assert.notEqual(state.role_agent_map.reader, existing);
  } finally {
    store.close();
    await fake.close();
  }
});

Deno.test("run reports a bad flag before it looks for a model or a key", async () => {
  await using dir = await tempDir();
  const result = await runCli(["run", "x", "--max-cost-usd", "lots"], {
    cwd: dir.path,
    env: { CLOSED_CLAW_LLM_PROVIDER: "openai" },
  });
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /--max-cost-usd must be a number/);
  assert.doesNotMatch(result.stderr + result.stdout, /key|Ollama/i);
});

Deno.test({
  name: "with --json an interactive approval asks on stderr and stdout stays one JSON object",
  ignore: !HAS_SCRIPT,
}, async () => {
  await using dir = await tempDir();
  const { fake, env, settings, workspace } = await startBrain(dir.path, {
    plan:
      () => [{ task_id: "read", title: "Read", description: "Read n.txt.", role_tag: "reader" }],
    agent: ({ step, last }) =>
      step === 0
        ? toolStep("file_io", { op: "read", path: "n.txt" })
        : finalStep(last.slice(0, 50)),
    rerank: () => [{ agent_id: "c1", score: 0.2, reason: "weak" }],
    // A read-only agent is asked about only when every new agent is.
  }, { CLOSED_CLAW_AGENT_APPROVAL_SCOPE: "all" });
  const store = openStore(settings.dbPath);
  try {
    await Deno.writeTextFile(join(workspace, "n.txt"), "n");
    seedAgent(settings, store);
    const promptFile = join(dir.path, "prompt.txt");
    const { code, seen } = await answerOnTerminal(
      ["run", "Read n", "--json", "--create-approval-mode", "interactive"],
      { cwd: dir.path, env, stderrTo: promptFile },
      () => "yes\n",
    );
    assert.equal(code, 0, seen);
    assert.match(Deno.readTextFileSync(promptFile), /Approval needed \(agent_create\)/);
    assert.doesNotMatch(seen, /Approval needed/);
    const json = JSON.parse(seen.slice(seen.indexOf("{")));
    assert.equal(json.status, "ok");
    assert.deepEqual(json.approvals.map((a: { operator: string }) => a.operator), [
      "terminal_user",
    ]);
  } finally {
    store.close();
    await fake.close();
  }
});
