/**
 * The run's capsule pool with the real guest: a capsule kept after one
 * subtask serves the agent's next one from nothing but its new `start`; one
 * prestarted from a launch plan is taken only by the same plan and manifest;
 * anything else, a failure, an idle timeout or closing the pool kills it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CapsulePool, prestartCapsule } from "../../capsule_runtime/host.ts";
import { createCapsule } from "../../capsule_runtime/factory.ts";
import {
  capsuleFixture,
  finalStep,
  HOSTILE_GUEST,
  processAlive,
  promptsText,
  runScripted,
  scriptedModel,
  toolStep,
} from "../fixtures/capsule_harness.ts";
import { waitFor } from "../helpers/wait.ts";

Deno.test("a kept capsule serves the agent's next subtask in the same process, from a fresh state", async () => {
  await using fx = await capsuleFixture({
    tools: ["file_io"],
    permissions: { file_write: true, write_roots: ["."] },
  });
  Deno.writeTextFileSync(join(fx.workspace, "secret.txt"), "the vault code is ZEBRA-4711");
  const pool = new CapsulePool();
  try {
    const first = runScripted(fx, [
      toolStep("file_io", { op: "read", path: "secret.txt" }),
      toolStep("file_io", { op: "write", path: "out.txt", content: "written by the first" }),
      finalStep("Done with the first."),
    ], { pool, task: "First subtask: read secret.txt and write out.txt." });
    const a = await first.result;
    assert.equal(a.status, "ok");
    assert.deepEqual(a.artifacts.length, 1, "the first subtask wrote one file");
    assert.match(promptsText(first.model.prompts), /ZEBRA-4711/);
    assert.equal(pool.size, 1, "the capsule went back to the pool");
    const pid = a.started[0].pid;
    assert.ok(processAlive(pid));

    const second = runScripted(fx, [
      toolStep("file_io", { op: "list", path: "." }),
      finalStep("Listed."),
    ], {
      pool,
      task: "Second subtask: list the workspace.",
    });
    const b = await second.result;
    assert.equal(b.status, "ok");
    assert.equal(b.started[0].pid, pid, "the same process served both");
    assert.equal(b.started[0].warm, "kept");
    // Nothing of the first conversation reached the second: not the file it read,
    // not its tool calls, not its artifacts. The first prompt is the usual three messages
    // (the host's episodic memory of the first task is recalled into it, as for any new
    // capsule: that is the host's record, sent in `start`, not the process's).
    const seen = promptsText(second.model.prompts);
    assert.doesNotMatch(seen, /ZEBRA-4711/);
    assert.doesNotMatch(seen, /written by the first/);
    assert.deepEqual(second.model.prompts[0].map((m) => m.role), ["system", "system", "user"]);
    assert.match(second.model.prompts[0][2].content, /^Task:\nSecond subtask/);
    assert.equal(second.model.prompts.length, 2);
    assert.deepEqual(b.artifacts, [], "no artifact of the first subtask is carried over");
    assert.equal(b.tool_calls, 1);
  } finally {
    pool.close("test over");
  }
});

Deno.test("a kept capsule is never given to another manifest, even with the same command line", async () => {
  await using fx = await capsuleFixture({ tools: ["file_io"] });
  Deno.writeTextFileSync(join(fx.workspace, "notes.txt"), "hello");
  const pool = new CapsulePool();
  try {
    const a = await runScripted(fx, [finalStep("one")], { pool }).result;
    const pid = a.started[0].pid;
    assert.equal(pool.size, 1);
    // Another agent with the same tools: another capsule, and the kept one stays the first's.
    const other = createCapsule(fx.settings.agentsDir, {
      name: "Other worker",
      description: "Another capsule.",
      tools_allowlist: ["file_io"],
    });
    const b = await runScripted(fx, [finalStep("two")], { pool, manifest: other }).result;
    assert.notEqual(b.started[0].pid, pid);
    assert.equal(b.started[0].warm, undefined);
    // The same agent with a changed manifest (its description only: the flags are the
    // same) is another manifest: it spawns its own, and the old capsule is killed.
    const changed = { ...fx.manifest, description: "A capsule under test, edited." };
    const c = await runScripted(fx, [finalStep("three")], { pool, manifest: changed }).result;
    assert.notEqual(c.started[0].pid, pid);
    assert.notEqual(c.started[0].pid, b.started[0].pid);
    await waitFor(() => !processAlive(pid), "the process to end", 5_000);
  } finally {
    pool.close("test over");
  }
});

Deno.test("a prestarted capsule is taken by the same plan; closing the pool kills the rest", async () => {
  await using fx = await capsuleFixture({ tools: ["file_io"] });
  const pool = new CapsulePool();
  try {
    const launch = { settings: fx.settings, manifest: fx.manifest };
    await prestartCapsule(pool, launch, 2);
    const [p1, p2] = pool.pids();
    assert.equal(pool.size, 2);
    const a = await runScripted(fx, [finalStep("one")], { pool }).result;
    assert.equal(a.status, "ok");
    assert.ok([p1, p2].includes(a.started[0].pid), "a prestarted capsule was taken");
    assert.equal(a.started[0].warm, "prestarted");
    // One prestarted waits, and the used one was kept.
    assert.equal(pool.size, 2);
    const idle = pool.pids();
    pool.close("run cancelled");
    assert.equal(pool.size, 0);
    for (const pid of idle) await waitFor(() => !processAlive(pid), "the process to end", 5_000);
    // A closed pool keeps nothing: the next capsule exits after its answer.
    const b = await runScripted(fx, [finalStep("two")], { pool }).result;
    assert.equal(b.status, "ok");
    assert.equal(b.started[0].warm, undefined);
    await waitFor(() => !processAlive(b.started[0].pid), "the process to end", 5_000);
  } finally {
    pool.close("test over");
  }
});

Deno.test("a capsule whose subtask failed is not kept; an idle one is killed after the idle time", async () => {
  await using fx = await capsuleFixture({ tools: ["file_io"] });
  const pool = new CapsulePool({ idleMs: 300 });
  try {
    // The agent gives up (an error final): the process ends, it is not reused.
    const failed = await runScripted(fx, [finalStep("cannot", "error")], { pool }).result;
    assert.equal(failed.status, "error");
    assert.equal(pool.size, 0);
    await waitFor(() => !processAlive(failed.started[0].pid), "the process to end", 5_000);
    // A timeout stops the capsule for good.
    let timedOutPid = 0;
    const timedOut = await fx.run({
      task: "Wait.",
      pool,
      timeoutMs: 1_000,
      // A model that never answers, until the host gives up on the call.
      hooks: {
        complete: ({ signal }) =>
          new Promise((_, reject) =>
            signal?.addEventListener("abort", () => reject(signal.reason))
          ),
      },
      onEvent: (e) => void (e.type === "started" && (timedOutPid = e.pid)),
    });
    assert.equal(timedOut.error_code, "capsule_timeout");
    assert.equal(pool.size, 0);
    await waitFor(() => !processAlive(timedOutPid), "the process to end", 5_000);
    // A clean one is kept, then killed when it idles past 300 ms.
    const ok = await runScripted(fx, [finalStep("fine")], { pool }).result;
    assert.equal(pool.size, 1);
    await waitFor(
      () => pool.size === 0 && !processAlive(ok.started[0].pid),
      "the process to end",
      5_000,
    );
  } finally {
    pool.close("test over");
  }
});

Deno.test("a cancelled subtask's capsule is killed, not kept", async () => {
  await using fx = await capsuleFixture({ tools: ["file_io"] });
  const pool = new CapsulePool();
  const abort = new AbortController();
  try {
    const model = scriptedModel([finalStep("never")]);
    let pid = 0;
    const result = fx.run({
      task: "Wait.",
      pool,
      signal: abort.signal,
      timeoutMs: 30_000,
      hooks: {
        complete: (request) => {
          abort.abort("stop");
          return model.complete(request);
        },
      },
      onEvent: (e) => {
        if (e.type === "started") pid = e.pid;
      },
    });
    const r = await result;
    assert.equal(r.status, "cancelled");
    assert.equal(pool.size, 0);
    await waitFor(() => !processAlive(pid), "the process to end", 5_000);
  } finally {
    pool.close("test over");
  }
});

Deno.test("a capsule that broke the protocol is never kept, even when it answered ok", async () => {
  await using fx = await capsuleFixture({ tools: ["file_io"] });
  const pool = new CapsulePool();
  try {
    const r = await runScripted(fx, [], {
      pool,
      task: "malformed_stay",
      guestEntry: HOSTILE_GUEST,
    }).result;
    assert.ok(fx.events.some((e) => e.type === "protocol_error"), "the bad lines were seen");
    assert.equal(pool.size, 0, "not kept for the agent's next subtask");
    await waitFor(() => !processAlive(r.started[0].pid), "the process to be ended");
  } finally {
    pool.close("test over");
  }
});
