/** End-to-end runs: the real SDK against the fake OpenAI server, real capsules, real tools. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../store/mod.ts";
import { parseRunLog } from "../../coordinator/run_log.ts";
import { startRun } from "../../coordinator/mod.ts";
import { tempDir } from "../helpers/temp.ts";
import { notesBrain, startBrain } from "../helpers/coordinator_brain.ts";

Deno.test("a simple task runs one capsule with a real tool and synthesizes the answer", async () => {
  await using dir = await tempDir();
  const { fake, settings, workspace } = await startBrain(dir.path, notesBrain());
  await Deno.writeTextFile(join(workspace, "notes.txt"), "hello world\nsecond line\n");
  const store = openStore(settings.dbPath);
  try {
    const events: string[] = [];
    const run = startRun({ settings, store }, {
      task: "What is the first line of notes.txt?",
      onEvent: (e) => events.push(e.event),
    });
    const outcome = await run.done;
    assert.equal(outcome.status, "ok", outcome.error);
    assert.equal(outcome.result, "notes.txt starts with 'hello world'.");
    assert.ok(outcome.usage.inputTokens > 0);
    const row = store.runs.get(run.runId)!;
    assert.equal(row.status, "ok");
    assert.ok(row.latency_ms! > 0);
    const subtasks = store.subtasks.listForRun(run.runId);
    assert.deepEqual(subtasks.map((s) => [s.task_id, s.status]), [[
      "execute-read-notes",
      "completed",
    ]]);
    assert.match(subtasks[0].result!, /hello world/);
    const tools = store.toolEvents.listForRun(run.runId);
    assert.equal(tools.length, 1);
    assert.equal(tools[0].tool, "file_io");
    assert.ok(tools[0].ok);
    const agent = store.agents.get(subtasks[0].assigned_agent_id!)!;
    assert.equal(agent.usage_count, 1);
    assert.equal(agent.success_count, 1);
    assert.ok(agent.avg_latency_ms! > 0);
    assert.ok(agent.fitness_score > 0);
    for (
      const name of [
        "task_ingested",
        "task_complexity_classified",
        "task_plan_created",
        "agent_created_for_role",
        "subtask_attempt_started",
        "tool_call",
        "subtask_attempt_succeeded",
        "run_summary",
        "synthesis_complete",
      ]
    ) assert.ok(events.includes(name), `missing event ${name}`);
    const logged = parseRunLog(
      await Deno.readTextFile(join(settings.runLogsDir, `${run.runId}.jsonl`)),
    );
    assert.equal(logged.length, events.length);
    assert.ok(!JSON.stringify(logged).includes("test-key-0123456789"));
  } finally {
    store.close();
    await fake.close();
  }
});

Deno.test("the same run through the Claude SDK: structured steps come back as forced tool calls", async () => {
  await using dir = await tempDir();
  const { fake, settings, workspace } = await startBrain(dir.path, notesBrain(), {}, "anthropic");
  await Deno.writeTextFile(join(workspace, "notes.txt"), "hello world\nsecond line\n");
  const store = openStore(settings.dbPath);
  try {
    const outcome = await startRun({ settings, store }, {
      task: "What is the first line of notes.txt?",
    }).done;
    assert.equal(outcome.status, "ok", outcome.error);
    assert.equal(outcome.result, "notes.txt starts with 'hello world'.");
    assert.ok(fake.requests.some((r) => r.body?.tool_choice?.name === "agent_step"));
    const calls = store.llmCalls.listForRun(outcome.runId);
    assert.ok(calls.length > 0 && calls.every((c) => c.provider === "claude"));
  } finally {
    store.close();
    await fake.close();
  }
});
