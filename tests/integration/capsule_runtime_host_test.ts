/**
 * `runCapsule` with the real guest: the model is scripted (it answers each
 * `llm_request` with the next step), everything else is real — launcher,
 * sandbox, protocol, tools, memory.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { RunCapsuleOptions } from "../../capsule_runtime/host.ts";
import {
  type CapsuleFixture,
  capsuleFixture,
  eventsOfType,
  finalStep,
  pidsWithCommand,
  scriptedModel,
  toolStep,
} from "../fixtures/capsule_harness.ts";

function run(
  fx: CapsuleFixture,
  turns: Parameters<typeof scriptedModel>[0],
  extra: Partial<RunCapsuleOptions> = {},
) {
  const model = scriptedModel(turns);
  const result = fx.run({
    task: "Read notes.txt and report what it says.",
    hooks: { complete: model.complete },
    timeoutMs: 30_000,
    ...extra,
  });
  return { model, result };
}

Deno.test("a capsule calls a tool, gets the observation and answers", async () => {
  await using fx = await capsuleFixture({ tools: ["file_io"] });
  Deno.writeTextFileSync(join(fx.workspace, "notes.txt"), "the code is 4711");
  let askedAtStart = -1;
  const { model, result } = run(fx, [
    toolStep("file_io", { action: "read", file: "notes.txt" }),
    finalStep("The note says: the code is 4711"),
  ], {
    onEvent: (event) => {
      fx.onEvent(event);
      // Right after the host hands the guest its task, before the guest can ask anything.
      if (event.type === "started") queueMicrotask(() => askedAtStart = model.prompts.length);
    },
  });
  const r = await result;
  assert.equal(r.status, "ok");
  assert.equal(r.result, "The note says: the code is 4711");
  // The guest's first question went to the model as the guest got its task, and was asked once.
  assert.equal(askedAtStart, 1);
  assert.equal(r.tool_calls, 1);
  assert.equal(r.side_effects, false);
  // The model saw the system prompt, the task, its tool call and the tool's result,
  // with the capsule's tools declared natively (the host's list).
  assert.equal(model.prompts.length, 2);
  assert.deepEqual(model.prompts[0].map((m) => m.role), ["system", "system", "user"]);
  assert.match(model.prompts[0][2].content, /Read notes\.txt/);
  assert.deepEqual(model.declared, [["file_io"], ["file_io"]]);
  assert.equal(model.schemas[0], undefined);
  const [call] = model.prompts[1].at(-2)!.tool_calls!;
  const shown = model.prompts[1].at(-1)!;
  assert.equal(shown.role, "tool");
  assert.equal(shown.tool_call_id, call.id);
  assert.match(shown.content, /4711/);
  const types = fx.events.map((e) => e.type);
  assert.deepEqual(types.filter((t) => t !== "log"), [
    "started",
    "model_call",
    "tool_requested",
    "tool_decided",
    "tool_done",
    "model_call",
    "final",
  ]);
  const decided = eventsOfType(fx.events, "tool_decided")[0];
  assert.equal(decided.allowed, true);
  assert.equal(decided.args.op, "read"); // aliases normalised by the host
  assert.equal(eventsOfType(fx.events, "tool_done")[0].ok, true);
});

Deno.test("in JSON-step mode the model gets the step schema and sees an Observation", async () => {
  await using fx = await capsuleFixture({ tools: ["file_io"] });
  Deno.writeTextFileSync(join(fx.workspace, "notes.txt"), "the code is 4711");
  const { model, result } = run(fx, [
    toolStep("file_io", { action: "read", file: "notes.txt" }),
    finalStep("The note says: the code is 4711"),
  ], { toolMode: "json" });
  const r = await result;
  assert.equal(r.result, "The note says: the code is 4711");
  assert.deepEqual((model.schemas[0] as { name: string }).name, "agent_step");
  assert.deepEqual(model.declared, [[], []]);
  assert.match(model.prompts[0][0].content, /### file_io[\s\S]*args_json/);
  assert.match(model.prompts[1].at(-1)!.content, /Observation from file_io \(ok\)[\s\S]*4711/);
});

Deno.test("memories written at the end come back in the next run's system prompt", async () => {
  await using fx = await capsuleFixture({ tools: [] });
  const first = run(fx, [finalStep("The capital of Atlantis is Poseidonia")]);
  assert.equal((await first.result).status, "ok");
  const second = run(fx, [finalStep("ok")], { task: "What is the capital of Atlantis?" });
  assert.equal((await second.result).status, "ok");
  // They are in the run's tail, after the stable (cacheable) system prompt.
  const [stable, tail] = second.model.prompts[0];
  assert.match(tail.content, /Memories of earlier runs/);
  assert.match(tail.content, /Poseidonia/);
  assert.doesNotMatch(stable.content, /Poseidonia/);
  // The first run had nothing to remember.
  assert.doesNotMatch(first.model.prompts[0][1].content, /What you remember/);
});

Deno.test("the step budget ends a capsule that never answers", async () => {
  await using fx = await capsuleFixture({ tools: ["file_io"] });
  let n = 0;
  const turns = Array.from(
    { length: 10 },
    () => toolStep("file_io", { op: "list", path: `./${"."}`, max_entries: ++n }),
  );
  const { result } = run(fx, turns, { maxSteps: 3 });
  const r = await result;
  assert.equal(r.status, "error");
  assert.equal(r.error_code, "agent_step_budget_exceeded");
  assert.equal(r.tool_calls, 3);
});

Deno.test("the same successful call three times ends the loop with its result", async () => {
  await using fx = await capsuleFixture({ tools: ["file_io"] });
  Deno.writeTextFileSync(join(fx.workspace, "notes.txt"), "same");
  const { result } = run(fx, [toolStep("file_io", { op: "read", path: "notes.txt" })]);
  const r = await result;
  assert.equal(r.status, "ok");
  assert.equal(r.tool_calls, 2, "the third identical call is not made");
  assert.match(r.result, /"content":"same"/);
});

Deno.test("consecutive errors stop the capsule", async () => {
  await using fx = await capsuleFixture({ tools: ["file_io"] });
  const { model, result } = run(fx, ["I think the answer is probably 42."], { toolMode: "json" });
  const r = await result;
  assert.equal(r.status, "error");
  assert.equal(r.error_code, "agent_too_many_errors");
  assert.equal(model.prompts.length, 4);
  assert.match(model.prompts[1].at(-1)!.content, /not a valid step/);
});

Deno.test("a failed model call is reported and counted as an error", async () => {
  await using fx = await capsuleFixture({ tools: [] });
  const { result } = run(fx, [new Error("upstream 500"), finalStep("recovered")]);
  const r = await result;
  assert.equal(r.status, "ok");
  assert.equal(r.result, "recovered");
  const calls = eventsOfType(fx.events, "model_call");
  assert.equal(calls[0].ok, false);
  assert.match(calls[0].error ?? "", /upstream 500/);
});

/** A terminal-capable fixture: inside bubblewrap where it works, else explicitly unsandboxed. */
function execFixture() {
  return capsuleFixture({
    tools: ["terminal"],
    env: { CLOSED_CLAW_ALLOW_UNSANDBOXED_EXEC: "true" },
  });
}

/** Resolves once the capsule's grandchild `sleep <marker>` runs; its pids. */
async function waitForSleep(marker: string): Promise<number[]> {
  for (let i = 0; i < 100; i++) {
    const pids = pidsWithCommand(`sleep ${marker}`);
    if (pids.length > 0) return pids;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("the sleep never started");
}

async function assertGone(marker: string) {
  for (let i = 0; i < 40 && pidsWithCommand(`sleep ${marker}`).length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.deepEqual(pidsWithCommand(`sleep ${marker}`), [], "the grandchild was killed");
}

Deno.test("a timeout kills the whole process group, grandchildren included", async () => {
  await using fx = await execFixture();
  const marker = `97.${Math.floor(Math.random() * 1e6)}`;
  const { result } = run(fx, [toolStep("terminal", { cmd: `sleep ${marker}`, timeout_s: 300 })], {
    timeoutMs: 2500,
  });
  const running = await waitForSleep(marker);
  assert.ok(running.length > 0);
  const r = await result;
  assert.equal(r.status, "error");
  assert.equal(r.error_code, "capsule_timeout");
  assert.equal(r.side_effects, true);
  assert.equal(r.attempts, 1, "a timeout is not retried");
  await assertGone(marker);
});

Deno.test("cancel through an AbortSignal stops a capsule in the middle of a tool call", async () => {
  await using fx = await execFixture();
  const marker = `98.${Math.floor(Math.random() * 1e6)}`;
  const controller = new AbortController();
  const { result } = run(fx, [toolStep("terminal", { cmd: `sleep ${marker}`, timeout_s: 300 })], {
    signal: controller.signal,
  });
  await waitForSleep(marker);
  const began = performance.now();
  controller.abort();
  const r = await result;
  assert.ok(performance.now() - began < 3000, "cancel is prompt");
  assert.equal(r.status, "cancelled");
  assert.equal(r.error_code, "cancelled");
  await assertGone(marker);
});

Deno.test("a refused call is recorded with the args the agent asked for", async () => {
  await using fx = await capsuleFixture({ tools: ["file_io"] });
  const { result } = run(fx, [
    toolStep("file_io", { op: "read", path: "/etc/shadow" }),
    finalStep("could not read it"),
  ]);
  assert.equal((await result).status, "ok");
  const [decided] = eventsOfType(fx.events, "tool_decided");
  assert.equal(decided.allowed, false);
  assert.deepEqual(decided.args, { op: "read", path: "/etc/shadow" });
});

Deno.test("a memory learned twice is shown once", async () => {
  await using fx = await capsuleFixture({ tools: [] });
  for (let i = 0; i < 2; i++) {
    const r = run(fx, [finalStep("The capital of Atlantis is Poseidonia")]);
    assert.equal((await r.result).status, "ok");
  }
  const third = run(fx, [finalStep("ok")], { task: "What is the capital of Atlantis?" });
  await third.result;
  const tail = third.model.prompts[0][1].content;
  assert.equal(tail.match(/Poseidonia/g)?.length, 1, tail);
});
