/**
 * Replaying the step journal with real capsules: a relaunch or a later run
 * on the same journal does not run a completed call again and does not ask
 * the model again for a reply it already gave; a side-effecting call cut off
 * in flight is named and not run; a read-only one is run again; a request
 * the journal does not hold ends the replay.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { CapsuleHooks, ModelReply } from "../../capsule_runtime/host.ts";
import { type JournalStep, MemoryJournal } from "../../capsule_runtime/step_journal.ts";
import type { HostToolOutcome } from "../../guest/protocol_types.ts";
import {
  type CapsuleFixture,
  capsuleFixture,
  eventsOfType,
  finalStep,
  scriptedReply,
  toolStep,
} from "../fixtures/capsule_harness.ts";

const PAY = toolStep("terminal", { cmd: "echo paid >> effects.txt", timeout_s: 30 });

function execFixture(): Promise<CapsuleFixture> {
  return capsuleFixture({
    tools: ["terminal", "file_io"],
    permissions: { file_write: true, write_roots: ["."] },
    env: { CLOSED_CLAW_ALLOW_UNSANDBOXED_EXEC: "true" },
  });
}

function effectLines(fx: CapsuleFixture): number {
  try {
    return Deno.readTextFileSync(join(fx.workspace, "effects.txt")).trim().split("\n").length;
  } catch {
    return 0;
  }
}

/** A model answering by step (assistant messages so far), counting what it was asked. */
function countingModel(answer: (step: number) => Record<string, unknown> | Promise<never>) {
  const asked: number[] = [];
  const complete: CapsuleHooks["complete"] = async (request): Promise<ModelReply> => {
    const step = request.messages.filter((m) => m.role === "assistant").length;
    asked.push(step);
    return scriptedReply(request, await answer(step), step);
  };
  return { complete, asked };
}

/** A journal that loses tool results, as when the host died while the call ran. */
class ResultLosingJournal extends MemoryJournal {
  override recordToolResult(_step: number, _outcome: HostToolOutcome): void {}
}

Deno.test("a capsule killed after a side-effecting call completed is relaunched without running it again", async () => {
  await using fx = await execFixture();
  let pid = 0;
  const model = countingModel((step) => {
    if (step === 0) return PAY;
    if (pid) {
      // The call completed; the capsule dies while its next step is asked.
      Deno.kill(pid, "SIGKILL");
      pid = 0;
      return new Promise<never>((_, reject) => setTimeout(() => reject(new Error("gone")), 300));
    }
    return finalStep("paid once");
  });
  const r = await fx.run({
    task: "Record the payment.",
    hooks: { complete: model.complete },
    timeoutMs: 30_000,
    onEvent: (e) => {
      if (e.type === "started" && e.attempt === 1) pid = e.pid;
      fx.onEvent(e);
    },
  });
  assert.equal(r.status, "ok", r.error_message ?? "");
  assert.equal(r.result, "paid once");
  assert.equal(r.attempts, 2);
  assert.equal(effectLines(fx), 1, "the payment was written once");
  // Step 0 was answered before the crash: the relaunch replays it instead of asking again.
  assert.deepEqual(model.asked, [0, 1, 1]);
  const replayed = eventsOfType(fx.events, "step_replayed");
  assert.deepEqual(replayed.map((e) => e.kind), ["model", "tool"]);
  assert.equal(replayed[1].tool, "terminal");
  assert.equal(eventsOfType(fx.events, "tool_done").length, 1, "the program ran once");
});

Deno.test("a later run on the journal replays every answered step and completed call", async () => {
  await using fx = await execFixture();
  const journal = new MemoryJournal();
  const first = countingModel((step) => step === 0 ? PAY : finalStep("paid"));
  const one = await fx.run({ task: "Pay.", hooks: first, journal, timeoutMs: 30_000 });
  assert.equal(one.status, "ok");
  const again = countingModel(() => finalStep("asked again"));
  const two = await fx.run({ task: "Pay.", hooks: again, journal, timeoutMs: 30_000 });
  assert.equal(two.status, "ok");
  assert.equal(two.result, "paid", "the journaled final step came back");
  assert.deepEqual(again.asked, [], "no model call was paid for again");
  assert.equal(effectLines(fx), 1);
});

Deno.test("a side-effecting call in flight at the crash fails the run, naming the call", async () => {
  await using fx = await execFixture();
  const journal = new ResultLosingJournal();
  const first = countingModel((step) => step === 0 ? PAY : finalStep("paid"));
  await fx.run({ task: "Pay.", hooks: first, journal, timeoutMs: 30_000 });
  assert.equal(effectLines(fx), 1);
  const again = countingModel(() => finalStep("should not be asked"));
  const r = await fx.run({ task: "Pay.", hooks: again, journal, timeoutMs: 30_000 });
  assert.equal(r.status, "error");
  assert.equal(r.error_code, "side_effect_in_doubt");
  assert.match(r.error_message ?? "", /terminal call \{"cmd":"echo paid >> effects.txt"/);
  assert.match(r.error_message ?? "", /may or may not have happened/);
  assert.equal(effectLines(fx), 1, "not run a second time");
  assert.deepEqual(again.asked, []);
});

Deno.test("a read-only call in flight at the crash is simply run again", async () => {
  await using fx = await execFixture();
  Deno.writeTextFileSync(join(fx.workspace, "notes.txt"), "hello journal");
  const read = toolStep("file_io", { op: "read", path: "notes.txt" });
  const journal = new ResultLosingJournal();
  await fx.run({
    task: "Read notes.txt.",
    hooks: countingModel((step) => step === 0 ? read : finalStep("first")),
    journal,
    timeoutMs: 30_000,
  });
  fx.events.length = 0;
  const again = countingModel((step) => finalStep(`read at step ${step}`));
  const r = await fx.run({ task: "Read notes.txt.", hooks: again, journal, timeoutMs: 30_000 });
  assert.equal(r.status, "ok", r.error_message ?? "");
  assert.equal(r.result, "read at step 1");
  assert.deepEqual(again.asked, [1], "step 0 replayed, the step after the read asked live");
  assert.equal(eventsOfType(fx.events, "step_rerun").length, 1);
  const done = eventsOfType(fx.events, "tool_done");
  assert.equal(done.length, 1);
  assert.match(JSON.stringify(done[0].result), /hello journal/);
});

/** A journal whose step `step` was recorded for another request (e.g. an older guest). */
class AlteredJournal extends MemoryJournal {
  alter = 0;
  override steps(): JournalStep[] {
    return super.steps().map((s) => s.step === this.alter ? { ...s, request_hash: "other" } : s);
  }
}

Deno.test("a request the journal does not hold ends the replay and goes on live", async () => {
  await using fx = await execFixture();
  const journal = new AlteredJournal();
  await fx.run({
    task: "Pay.",
    hooks: countingModel((step) => step === 0 ? PAY : finalStep("first")),
    journal,
    timeoutMs: 30_000,
  });
  journal.alter = 3; // the model request after the payment
  fx.events.length = 0;
  const again = countingModel(() => finalStep("live again"));
  const r = await fx.run({ task: "Pay.", hooks: again, journal, timeoutMs: 30_000 });
  assert.equal(r.status, "ok", r.error_message ?? "");
  assert.equal(r.result, "live again");
  assert.deepEqual(again.asked, [1], "asked from the diverging step on, not before");
  const diverged = eventsOfType(fx.events, "journal_diverged");
  assert.equal(diverged.length, 1);
  assert.equal(diverged[0].step, 3);
  assert.match(diverged[0].detail, /model request of step 3/);
  assert.equal(effectLines(fx), 1, "the payment before the divergence was replayed");
  // The journal now holds the live step in place of the one set aside.
  journal.alter = 0;
  const steps = journal.steps();
  assert.equal(steps.length, 3);
  assert.match(String((steps[2].result as ModelReply).text), /live again/);
});
