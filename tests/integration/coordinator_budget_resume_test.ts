/** A run stopped by its budget, resumed as a user would: first without raising it, then with more. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../store/mod.ts";
import { runCli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp.ts";
import {
  finalStep,
  READ_BOTH_PLAN,
  startBrain,
  stepCallsFor,
  toolStep,
} from "../helpers/coordinator_brain.ts";

Deno.test("budget stop, resume without more budget is refused at once, resume with --max-cost-usd finishes", async () => {
  await using dir = await tempDir();
  let expensive = true;
  const { fake, env, settings, workspace } = await startBrain(dir.path, {
    plan: () => READ_BOTH_PLAN,
    agent: ({ prompt, step, last }) => {
      const file = prompt.includes("Read second.txt") ? "second.txt" : "first.txt";
      if (step > 0) return finalStep(`${file}: ${last.slice(0, 80)}`);
      const read = toolStep("file_io", { op: "read", path: file });
      // One million input tokens of gpt-4o-mini cost $0.15, far over the $0.05 budget.
      return file === "second.txt" && expensive
        ? { json: read, usage: { input: 1_000_000, output: 10 } }
        : read;
    },
    synthesis: "both read",
  });
  try {
    await Deno.writeTextFile(join(workspace, "first.txt"), "1");
    await Deno.writeTextFile(join(workspace, "second.txt"), "2");
    const stopped = await runCli(["run", "Read both files", "--max-cost-usd", "0.05", "--json"], {
      cwd: dir.path,
      env,
    });
    assert.equal(stopped.code, 1, stopped.stderr + stopped.stdout);
    const first = JSON.parse(stopped.stdout);
    const runId: string = first.run_id;
    assert.match(first.error, /^budget_exceeded: .*--max-cost-usd/);
    assert.deepEqual(
      first.execution_subtask_pool.map((s: { status: string }) => s.status),
      ["completed", "failed"],
    );
    const firstStepCalls = () => stepCallsFor(fake, "Read first.txt");
    const firstCallsBefore = firstStepCalls();
    assert.ok(firstCallsBefore > 0);

    // Spend before the resume counts: the budget is still spent, so nothing runs.
    const requestsBefore = fake.requests.length;
    const refused = await runCli(["resume", runId], { cwd: dir.path, env });
    assert.equal(refused.code, 1, refused.stdout);
    assert.equal(refused.stderr.trim().split("\n").length, 1, refused.stderr);
    assert.match(refused.stderr, /has already spent \$0\.15\d* of its \$0\.05 budget/);
    assert.match(refused.stderr, new RegExp(`closed-claw resume ${runId} --max-cost-usd <usd>`));
    assert.equal(fake.requests.length, requestsBefore, "no model call was made");
    const store = openStore(settings.dbPath);
    try {
      assert.equal(store.runs.get(runId)!.status, "error", "the run stays resumable");
    } finally {
      store.close();
    }

    const badFlag = await runCli(["resume", runId, "--max-cost-usd", "lots"], {
      cwd: dir.path,
      env,
    });
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /--max-cost-usd must be a number/);
    const badProvider = await runCli(["resume", runId, "--llm-provider", "nope"], {
      cwd: dir.path,
      env,
    });
    assert.equal(badProvider.code, 2);
    assert.match(badProvider.stderr, /Unknown LLM provider "nope"\. Choose one of: openai/);

    // The resume may also switch model: the calls after it use the one given.
    expensive = false;
    const requestsBeforeResume = fake.requests.length;
    const resumed = await runCli(
      ["resume", runId, "--max-cost-usd", "5", "--llm-model", "gpt-4o", "--json"],
      { cwd: dir.path, env },
    );
    assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout);
    const json = JSON.parse(resumed.stdout);
    assert.equal(json.status, "ok");
    assert.equal(json.result, "both read");
    assert.deepEqual(
      json.execution_subtask_pool.map((s: { status: string }) => s.status),
      ["completed", "completed"],
    );
    assert.equal(firstStepCalls(), firstCallsBefore, "the completed subtask did not run again");
    assert.ok(json.usage.costUsd >= 0.15, "the run's cost includes the spend before the resume");
    const resumedModels = new Set(fake.requests.slice(requestsBeforeResume).map((r) => r.model));
    assert.deepEqual([...resumedModels], ["gpt-4o"]);
    const after = openStore(settings.dbPath);
    try {
      assert.equal(after.runs.get(runId)!.options.maxCostUsd, 5, "the raised budget is kept");
    } finally {
      after.close();
    }
  } finally {
    await fake.close();
  }
});
