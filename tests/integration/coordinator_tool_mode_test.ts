/**
 * How a run's agents call tools: natively by default; JSON steps when the
 * setting says so; and JSON steps for the rest of the run once the model
 * refuses native tools (the first agent starts over, later ones start there).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../store/mod.ts";
import { startRun } from "../../coordinator/mod.ts";
import type { RecordedRequest } from "../fakes/mod.ts";
import { tempDir } from "../helpers/temp.ts";
import {
  brainHandler,
  finalStep,
  isAgentStep,
  notesBrain,
  startBrain,
  toolStep,
} from "../helpers/coordinator_brain.ts";

const isJsonStep = (r: RecordedRequest) =>
  r.body?.response_format?.json_schema?.name === "agent_step";
const declaresTools = (r: RecordedRequest) =>
  Array.isArray(r.body?.tools) && r.body.tools.length > 0;

Deno.test("by default agents declare their tools natively and never ask for JSON steps", async () => {
  await using dir = await tempDir();
  const { fake, settings, workspace } = await startBrain(dir.path, notesBrain());
  await Deno.writeTextFile(join(workspace, "notes.txt"), "hello world\n");
  const store = openStore(settings.dbPath);
  try {
    const outcome = await startRun({ settings, store }, { task: "First line of notes.txt?" }).done;
    assert.equal(outcome.status, "ok", outcome.error);
    const steps = fake.requests.filter(isAgentStep);
    assert.equal(steps.length, 2);
    assert.ok(steps.every(declaresTools) && !steps.some(isJsonStep));
  } finally {
    store.close();
  }
});

Deno.test("CLOSED_CLAW_TOOL_CALLING=json: agents ask for JSON steps and declare no tools", async () => {
  await using dir = await tempDir();
  const { fake, settings, workspace } = await startBrain(dir.path, notesBrain(), {
    CLOSED_CLAW_TOOL_CALLING: "json",
  });
  await Deno.writeTextFile(join(workspace, "notes.txt"), "hello world\n");
  const store = openStore(settings.dbPath);
  try {
    const outcome = await startRun({ settings, store }, { task: "First line of notes.txt?" }).done;
    assert.equal(outcome.status, "ok", outcome.error);
    assert.equal(outcome.result, "The first line is: hello world");
    const steps = fake.requests.filter(isAgentStep);
    assert.equal(steps.length, 2);
    assert.ok(steps.every(isJsonStep) && !steps.some(declaresTools));
  } finally {
    store.close();
  }
});

Deno.test("a model that refuses tools: the agent starts over in JSON steps, and later agents start there", async () => {
  await using dir = await tempDir();
  const brain = {
    complexity: "simple" as const,
    plan: () => [
      { task_id: "one", title: "Read a", description: "Read a.txt.", role_tag: "reader-a" },
      {
        task_id: "two",
        title: "Read b",
        description: "Read b.txt.",
        role_tag: "reader-b",
        depends_on: ["one"],
      },
    ],
    agent: ({ prompt, step, last }: { prompt: string; step: number; last: string }) => {
      const file = prompt.includes("Read b.txt") ? "b.txt" : "a.txt";
      return step === 0
        ? toolStep("file_io", { op: "read", path: file })
        : finalStep(`${file}: ${/TEXT-\w/.exec(last)?.[0] ?? "?"}`);
    },
    synthesis: "Both read.",
  };
  const { fake, settings, workspace } = await startBrain(dir.path, brain);
  const answer = brainHandler(brain);
  // Like an Ollama model without tool support: a 400 for any request declaring tools.
  fake.handle((req, i) =>
    declaresTools(req)
      ? { status: 400, errorMessage: "registry.ollama.ai/library/tiny does not support tools" }
      : answer(req, i)
  );
  await Deno.writeTextFile(join(workspace, "a.txt"), "TEXT-A\n");
  await Deno.writeTextFile(join(workspace, "b.txt"), "TEXT-B\n");
  const store = openStore(settings.dbPath);
  try {
    const run = startRun({ settings, store }, { task: "Read a.txt, then b.txt." });
    const outcome = await run.done;
    assert.equal(outcome.status, "ok", outcome.error);
    const subtasks = store.subtasks.listForRun(run.runId);
    assert.deepEqual(subtasks.map((s) => s.result), ["a.txt: TEXT-A", "b.txt: TEXT-B"]);
    const native = fake.requests.filter((r) => isAgentStep(r) && declaresTools(r));
    assert.equal(native.length, 1, "only the first agent's first request declared tools");
    assert.match(JSON.stringify(native[0].body), /Read a\.txt/);
    const failed = store.llmCalls.listForRun(run.runId).filter((c) => c.outcome !== "ok");
    assert.equal(failed.length, 1, "the refusal was not retried");
  } finally {
    store.close();
  }
});
