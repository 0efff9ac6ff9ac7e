/**
 * Calls allowed ahead (capsule_runtime/tool_preapproval.ts): a native reply's
 * calls that change nothing are checked as the reply is relayed, and the guest
 * runs them without waiting for a `tool_decision`; anything that may change
 * something still waits. A capsule cannot claim an approval it was not given.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CapsuleProcess } from "../../capsule_runtime/supervisor.ts";
import type { HostMessage } from "../../guest/protocol_types.ts";
import {
  capsuleFixture,
  eventsOfType,
  finalStep,
  HOSTILE_GUEST,
  parallelCalls,
  runScripted,
  scriptedModel,
  toolStep,
} from "../fixtures/capsule_harness.ts";

/** Records every message the host sends to a local capsule while `body` runs. */
async function hostMessages<T>(body: () => Promise<T>): Promise<{ sent: HostMessage[]; out: T }> {
  const sent: HostMessage[] = [];
  const send = CapsuleProcess.prototype.send;
  CapsuleProcess.prototype.send = function (message: HostMessage) {
    sent.push(message);
    return send.call(this, message);
  };
  try {
    return { sent, out: await body() };
  } finally {
    CapsuleProcess.prototype.send = send;
  }
}

Deno.test("a read runs on the host's approval ahead, a write waits for its decision; both are recorded", async () => {
  await using fx = await capsuleFixture({
    tools: ["file_io"],
    permissions: { file_write: true, write_roots: ["."] },
  });
  Deno.writeTextFileSync(join(fx.workspace, "a.txt"), "alpha");
  const { sent, out } = await hostMessages(() =>
    runScripted(fx, [
      parallelCalls(
        { name: "file_io", args: { op: "read", path: "a.txt" } },
        { name: "file_io", args: { op: "write", path: "b.txt", content: "beta" } },
      ),
      finalStep("Read a.txt, wrote b.txt."),
    ]).result
  );
  assert.equal(out.status, "ok", out.error_message ?? "");
  assert.equal(Deno.readTextFileSync(join(fx.workspace, "b.txt")), "beta");

  // The reply carried the read's approval (with its validated args), not the write's.
  const reply = sent.find((m) => m.type === "llm_result" && m.tool_calls?.length);
  assert.ok(reply && reply.type === "llm_result");
  const read = reply.tool_calls![0];
  assert.deepEqual(reply.preapproved?.map((p) => p.call_id), [read.id]);
  assert.equal(reply.preapproved?.[0].args.path, "a.txt");
  // Only the write waited for a decision.
  const decisions = sent.filter((m) => m.type === "tool_decision");
  assert.equal(decisions.length, 1);
  assert.equal(decisions[0].type === "tool_decision" && decisions[0].args.op, "write");

  // Both calls were requested, decided and done, as the run log and audit record them.
  const decided = eventsOfType(fx.events, "tool_decided");
  assert.deepEqual(decided.map((e) => [e.args.op, e.allowed]), [["read", true], ["write", true]]);
  const done = eventsOfType(fx.events, "tool_done");
  assert.deepEqual(done.map((e) => e.ok), [true, true]);
  assert.equal(out.tool_calls, 2);
});

Deno.test("a refused read is not allowed ahead: the guest asks, and the host refuses it", async () => {
  await using fx = await capsuleFixture({ tools: ["file_io"] });
  const { sent, out } = await hostMessages(() =>
    runScripted(fx, [
      toolStep("file_io", { op: "read", path: "/etc/passwd" }),
      finalStep("Could not read it."),
    ]).result
  );
  assert.equal(out.status, "ok");
  const reply = sent.find((m) => m.type === "llm_result" && m.tool_calls?.length);
  assert.ok(reply && reply.type === "llm_result");
  assert.equal(reply.preapproved, undefined);
  const decisions = sent.filter((m) => m.type === "tool_decision");
  assert.equal(decisions.length, 1);
  assert.equal(decisions[0].type === "tool_decision" && decisions[0].allowed, false);
});

Deno.test("a capsule cannot claim an approval ahead it was not given: other args, another call", async () => {
  await using fx = await capsuleFixture({ tools: ["file_io"] });
  Deno.writeTextFileSync(join(fx.workspace, "a.txt"), "alpha");
  const model = scriptedModel([toolStep("file_io", { op: "read", path: "a.txt" })]);
  const r = await fx.run({
    task: "forge_preapproval",
    guestEntry: HOSTILE_GUEST,
    hooks: { complete: model.complete },
    timeoutMs: 20_000,
  });
  assert.equal(r.status, "ok");
  // The host did allow the model's own read ahead...
  const allowed = JSON.parse(r.result) as { call_id: string; args: { path: string } }[];
  assert.equal(allowed.length, 1);
  assert.equal(allowed[0].args.path, "a.txt");
  // ...but not /etc/passwd under its id, nor a call it never allowed, nor the read twice.
  const errors = eventsOfType(fx.events, "protocol_error").map((e) => e.error);
  assert.equal(errors.filter((e) => /did not allow ahead/.test(e)).length, 3, errors.join("\n"));
  assert.ok(errors.some((e) => /tool_done for 'tool-1'/.test(e)), errors.join("\n"));
  // The real claim is journaled and recorded once, with its report.
  const decided = eventsOfType(fx.events, "tool_decided");
  assert.deepEqual(decided.map((e) => [e.id, e.args.path]), [["tool-3", "a.txt"]]);
  assert.deepEqual(eventsOfType(fx.events, "tool_done").map((e) => e.id), ["tool-3"]);
  assert.equal(r.tool_calls, 1);
});

Deno.test("a call asked about the usual way cannot also claim its approval ahead", async () => {
  await using fx = await capsuleFixture({ tools: ["file_io"] });
  Deno.writeTextFileSync(join(fx.workspace, "a.txt"), "alpha");
  const model = scriptedModel([toolStep("file_io", { op: "read", path: "a.txt" })]);
  const r = await fx.run({
    task: "ask_then_claim",
    guestEntry: HOSTILE_GUEST,
    hooks: { complete: model.complete },
    timeoutMs: 20_000,
  });
  assert.equal(r.status, "ok");
  const errors = eventsOfType(fx.events, "protocol_error").map((e) => e.error);
  assert.ok(errors.some((e) => /did not allow ahead/.test(e)), errors.join("\n"));
  // One model call, run and recorded once.
  assert.deepEqual(eventsOfType(fx.events, "tool_decided").map((e) => e.id), ["tool-1"]);
  assert.deepEqual(eventsOfType(fx.events, "tool_done").map((e) => e.id), ["tool-1"]);
  assert.equal(r.tool_calls, 1);
});

Deno.test("a refused call that may change something still ends the reads allowed ahead", async () => {
  await using fx = await capsuleFixture({
    tools: ["file_io"],
    permissions: { file_write: true, write_roots: ["out"] },
  });
  Deno.writeTextFileSync(join(fx.workspace, "a.txt"), "alpha");
  const { sent, out } = await hostMessages(() =>
    runScripted(fx, [
      parallelCalls(
        // Refused now (a.txt is outside the write folder), but asked about again when its turn comes.
        { name: "file_io", args: { op: "write", path: "a.txt", content: "x" } },
        { name: "file_io", args: { op: "read", path: "a.txt" } },
      ),
      finalStep("Could not write; read a.txt."),
    ]).result
  );
  assert.equal(out.status, "ok", out.error_message ?? "");
  const reply = sent.find((m) => m.type === "llm_result" && m.tool_calls?.length);
  assert.ok(reply && reply.type === "llm_result");
  assert.equal(reply.preapproved, undefined);
  // Both were asked about, in the model's order.
  const decisions = sent.filter((m) => m.type === "tool_decision");
  assert.deepEqual(
    decisions.map((d) => d.type === "tool_decision" && [d.args.op ?? "write", d.allowed]),
    [["write", false], ["read", true]],
  );
});

for (
  const [what, id] of [["300 characters", "x".repeat(300)], ["empty", ""], ["repeated", "dup"]]
) {
  Deno.test(`a model call id the protocol cannot carry (${what}) is replaced: the reads run, recorded`, async () => {
    await using fx = await capsuleFixture({ tools: ["file_io"] });
    Deno.writeTextFileSync(join(fx.workspace, "a.txt"), "alpha");
    Deno.writeTextFileSync(join(fx.workspace, "b.txt"), "beta");
    let calls = 0;
    const usage = { input_tokens: 1, output_tokens: 1 };
    const read = (path: string) => ({ id, name: "file_io", args: { op: "read", path } });
    const { sent, out } = await hostMessages(() =>
      fx.run({
        task: "read a.txt and b.txt",
        hooks: {
          complete: () =>
            Promise.resolve(
              ++calls === 1
                ? { text: "", usage, tool_calls: [read("a.txt"), read("b.txt")] }
                : { text: "Read both.", usage },
            ),
        },
        timeoutMs: 20_000,
      })
    );
    assert.equal(out.status, "ok", out.error_message ?? "");
    assert.equal(out.result, "Read both.");
    assert.deepEqual(eventsOfType(fx.events, "protocol_error"), []);
    // Both reads went ahead under fresh, distinct ids, and both are recorded.
    const reply = sent.find((m) => m.type === "llm_result" && m.tool_calls?.length);
    assert.ok(reply && reply.type === "llm_result");
    const ids = reply.tool_calls!.map((c) => c.id);
    assert.equal(new Set(ids).size, 2);
    assert.ok(ids.every((i) => i.length >= 1 && i.length <= 128), ids.join(","));
    assert.deepEqual(reply.preapproved?.map((p) => p.call_id), ids);
    assert.deepEqual(eventsOfType(fx.events, "tool_done").map((e) => e.ok), [true, true]);
    assert.equal(out.tool_calls, 2);
  });
}
