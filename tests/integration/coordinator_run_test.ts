/** End-to-end runs: the real SDK against the fake OpenAI server, real capsules, real tools. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore, type Store } from "../../store/mod.ts";
import { parseRunLog } from "../../coordinator/run_log.ts";
import { type RunLogEvent, type RunState, startRun } from "../../coordinator/mod.ts";
import type { FakeServer } from "../fakes/mod.ts";
import { tempDir } from "../helpers/temp.ts";
import { notesBrain, startBrain } from "../helpers/coordinator_brain.ts";

/** The structured-output schema of each request the fake server got ("" for none). */
const schemas = (fake: FakeServer) =>
  fake.requests.map((r) => r.body?.response_format?.json_schema?.name ?? "");

Deno.test("a simple task runs one capsule with a real tool; its one answer is the run's answer", async () => {
  await using dir = await tempDir();
  const { fake, settings, workspace } = await startBrain(dir.path, notesBrain());
  await Deno.writeTextFile(join(workspace, "notes.txt"), "hello world\nsecond line\n");
  const store = openStore(settings.dbPath);
  try {
    const events: string[] = [];
    const payloads: RunLogEvent[] = [];
    const run = startRun({ settings, store }, {
      task: "What is the first line of notes.txt?",
      onEvent: (e) => (events.push(e.event), payloads.push(e)),
    });
    const outcome = await run.done;
    assert.equal(outcome.status, "ok", outcome.error);
    // One subtask: its answer, with no synthesis call.
    assert.equal(outcome.result, "The first line is: hello world");
    const purposes = store.llmCalls.listForRun(run.runId).map((c) => c.purpose);
    assert.ok(!purposes.includes("synthesize"), purposes.join());
    // Classification folded into planning: one call answers both, first.
    assert.equal(schemas(fake)[0], "task_plan");
    assert.ok(!schemas(fake).includes("task_complexity"));
    assert.deepEqual(purposes.slice(0, 2), ["plan", "profile"]);
    assert.ok(!purposes.includes("classify"));
    const classified = payloads.find((e) => e.event === "task_complexity_classified")!;
    assert.equal(classified.payload.complexity, "simple");
    const synthesis = payloads.find((e) => e.event === "synthesis_complete")!;
    assert.deepEqual(
      [synthesis.payload.llm_synthesized, synthesis.payload.reason],
      [false, "single_subtask"],
    );
    // A new agent: the plan and its profile came before the first tool call.
    assert.equal(store.runs.loadState<RunState>(run.runId)!.model_calls_before_first_tool, 2);
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

/**
 * Asks the first line of notes.txt in a run against the brain's fake server
 * (`wire`, with `env`), expects the usual answer, then hands the fake and the
 * store to `check`; closes both.
 */
async function notesRunOn(
  wire: "openai" | "anthropic",
  env: Record<string, string>,
  check: (fake: FakeServer, store: Store, runId: string) => void,
) {
  await using dir = await tempDir();
  const { fake, settings, workspace } = await startBrain(dir.path, notesBrain(), env, wire);
  await Deno.writeTextFile(join(workspace, "notes.txt"), "hello world\nsecond line\n");
  const store = openStore(settings.dbPath);
  try {
    const outcome = await startRun({ settings, store }, {
      task: "What is the first line of notes.txt?",
    }).done;
    assert.equal(outcome.status, "ok", outcome.error);
    assert.equal(outcome.result, "The first line is: hello world");
    check(fake, store, outcome.runId);
  } finally {
    store.close();
    await fake.close();
  }
}

Deno.test("the same run through the Claude SDK: structured steps come back as forced tool calls", async () => {
  await notesRunOn("anthropic", {}, (fake, store, runId) => {
    // Agents call tools natively now; the structured first plan is still a forced tool call.
    assert.equal(fake.requests[0].body?.tool_choice?.name, "task_plan");
    const calls = store.llmCalls.listForRun(runId);
    assert.ok(calls.length > 0 && calls.every((c) => c.provider === "claude"));
  });
});

Deno.test("the same run with a Responses-only OpenAI model: plan and agent steps go to /v1/responses", async () => {
  await notesRunOn("openai", { CLOSED_CLAW_LLM_MODEL: "gpt-5-codex" }, (fake) => {
    assert.ok(fake.requests.length > 0);
    assert.ok(
      fake.requests.every((r) => r.path === "/v1/responses"),
      "every call on the Responses API",
    );
    assert.equal(fake.requests[0].body?.text?.format?.name, "task_plan");
  });
});

Deno.test("CLOSED_CLAW_SYNTHESIZE_SINGLE=true brings the synthesis call back for one subtask", async () => {
  await using dir = await tempDir();
  const { fake, settings, workspace } = await startBrain(dir.path, notesBrain(), {
    CLOSED_CLAW_SYNTHESIZE_SINGLE: "true",
  });
  await Deno.writeTextFile(join(workspace, "notes.txt"), "hello world\n");
  const store = openStore(settings.dbPath);
  try {
    const outcome = await startRun({ settings, store }, {
      task: "What is the first line of notes.txt?",
    }).done;
    assert.equal(outcome.status, "ok", outcome.error);
    assert.equal(outcome.result, "notes.txt starts with 'hello world'.");
    const purposes = store.llmCalls.listForRun(outcome.runId).map((c) => c.purpose);
    assert.equal(purposes.at(-1), "synthesize");
  } finally {
    store.close();
    await fake.close();
  }
});
