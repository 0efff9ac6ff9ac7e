/**
 * Capsules that break the protocol (tests/fixtures/capsule_hostile_guest.ts):
 * each misbehaviour becomes typed events and a CapsuleResult, never an
 * exception, and the host stays responsive. Also: retries never repeat a tool
 * with side effects (one cut off in flight is named, not relaunched into), and
 * paid-API calls wait for approval.
 */
import assert from "node:assert/strict";
import type { CapsuleHooks, RunCapsuleOptions } from "../../capsule_runtime/host.ts";
import type { Permissions, ToolName } from "../../capsule_runtime/manifest.ts";
import {
  type CapsuleFixture,
  capsuleFixture,
  eventsOfType,
  finalStep,
  HOSTILE_GUEST,
  scriptedModel,
  toolStep,
} from "../fixtures/capsule_harness.ts";

function hostile(fx: CapsuleFixture, task: string, extra: Partial<RunCapsuleOptions> = {}) {
  return fx.run({
    task,
    guestEntry: HOSTILE_GUEST,
    hooks: scriptedModel([]),
    timeoutMs: 20_000,
    ...extra,
  });
}

/** Proves the host's event loop is not blocked: a timer fires on time. */
async function assertResponsive(): Promise<void> {
  const began = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(performance.now() - began < 500, "event loop blocked");
}

Deno.test("a capsule flooding stdout and stderr is drained and still finishes", async () => {
  await using fx = await capsuleFixture({ tools: [] });
  const r = await hostile(fx, "flood");
  assert.equal(r.status, "ok");
  assert.equal(r.result, "survived the flood");
  assert.ok(eventsOfType(fx.events, "log").length >= 2048);
  assert.ok(r.stderr_tail.length <= 16 * 1024, "stderr is kept as a bounded tail");
  await assertResponsive();
});

Deno.test("a 10 MB line over the cap is a protocol error that stops the capsule", async () => {
  await using fx = await capsuleFixture({
    tools: [],
    env: { CLOSED_CLAW_MAX_LINE_BYTES: String(1024 * 1024), CLOSED_CLAW_AGENT_RETRIES: "0" },
  });
  const began = performance.now();
  const r = await hostile(fx, "huge_line");
  assert.equal(r.status, "error");
  assert.equal(r.error_code, "capsule_protocol_error");
  assert.ok(performance.now() - began < 10_000, "stopped at once, not after its 60 s sleep");
  const errors = eventsOfType(fx.events, "protocol_error");
  assert.equal(errors.length, 1);
  assert.match(errors[0].error, /longer than the 1048576-byte cap/);
});

Deno.test("a 10 MB line under a larger cap is accepted", async () => {
  await using fx = await capsuleFixture({ tools: [] });
  const r = await hostile(fx, "huge_line", { timeoutMs: 3000 });
  // It then hangs, so it ends by timeout, but the line itself arrived whole.
  assert.equal(r.error_code, "capsule_timeout");
  const big = eventsOfType(fx.events, "log").find((e) => e.msg.startsWith("yyyy"));
  assert.ok(big, "the 10 MB log line was parsed");
  assert.equal(eventsOfType(fx.events, "protocol_error").length, 0);
});

Deno.test("a hanging capsule is killed at its timeout", async () => {
  await using fx = await capsuleFixture({ tools: [] });
  const began = performance.now();
  const r = await hostile(fx, "hang", { timeoutMs: 1000 });
  assert.equal(r.status, "error");
  assert.equal(r.error_code, "capsule_timeout");
  assert.ok(performance.now() - began < 5000);
  await assertResponsive();
});

Deno.test("malformed lines become protocol_error events; a valid final still counts", async () => {
  await using fx = await capsuleFixture({ tools: [] });
  const r = await hostile(fx, "malformed");
  assert.equal(r.status, "ok");
  assert.equal(r.result, "still here");
  const errors = eventsOfType(fx.events, "protocol_error");
  assert.equal(errors.length, 3);
  assert.match(errors[0].error, /not JSON/);
  assert.match(errors[0].preview, /this is not json/);
  assert.match(errors[1].error, /invalid message/);
  assert.match(errors[2].error, /invalid message \(v:/);
});

async function exitMidTool(
  tool: ToolName,
  args: Record<string, unknown>,
  permissions?: Partial<Permissions>,
) {
  const fx = await capsuleFixture({ tools: [tool], permissions });
  const r = await hostile(fx, "exit_mid_tool", { context: { tool, args } });
  return { fx, r };
}

Deno.test("a request id used again is a protocol error: the first call keeps its step and report", async () => {
  await using fx = await capsuleFixture({ tools: ["file_io"] });
  const r = await hostile(fx, "reuse_request_id");
  assert.equal(r.status, "ok");
  const errors = eventsOfType(fx.events, "protocol_error").map((e) => e.error);
  assert.ok(errors.some((e) => /reuses the id 'tool-1'/.test(e)), errors.join("\n"));
  // Only the listing was decided, and its report is the one recorded.
  assert.deepEqual(eventsOfType(fx.events, "tool_decided").map((e) => e.args.op), ["list"]);
  assert.deepEqual(eventsOfType(fx.events, "tool_done").map((e) => e.id), ["tool-1"]);
  assert.equal(r.tool_calls, 1);
});

Deno.test("a second ready in one session is a protocol error: the start is not sent again", async () => {
  await using fx = await capsuleFixture({ tools: ["file_io"] });
  const r = await hostile(fx, "ready_twice");
  assert.equal(r.status, "ok");
  assert.equal(r.result, "after a second ready: nothing");
  const errors = eventsOfType(fx.events, "protocol_error").map((e) => e.error);
  assert.ok(errors.some((e) => /ready sent twice/.test(e)), errors.join("\n"));
  assert.equal(eventsOfType(fx.events, "started").length, 1);
});

Deno.test("a crash while a side-effecting tool was in flight is not retried and names the call", async () => {
  const { fx, r } = await exitMidTool("file_io", {
    op: "write",
    path: "out.txt",
    content: "once",
  }, { file_write: true, write_roots: ["."] });
  await using _ = fx;
  assert.equal(fx.settings.agentRetries, 2);
  assert.equal(r.status, "error");
  // It may or may not have written: neither run again nor relaunched into it.
  assert.equal(r.error_code, "side_effect_in_doubt");
  assert.match(r.error_message ?? "", /code 7/);
  assert.match(r.error_message ?? "", /file_io call \{"op":"write".*may or may not have happened/);
  assert.equal(r.attempts, 1);
  assert.equal(r.side_effects, true);
  assert.equal(eventsOfType(fx.events, "tool_requested").length, 1);
});

Deno.test("a crash after a read-only tool is retried", async () => {
  const { fx, r } = await exitMidTool("file_io", { op: "list", path: "." });
  await using _ = fx;
  assert.equal(r.status, "error");
  assert.equal(r.error_code, "capsule_crashed");
  assert.equal(r.attempts, 3);
  assert.equal(r.side_effects, false);
  assert.equal(eventsOfType(fx.events, "started").length, 3);
});

// ---------------------------------------------------------------- paid-API approval

const PAID_URL = "https://api.paid.test/v1/charges?key=sk-in-query";
const publicResolver = () => Promise.resolve([{ address: "93.184.215.14", family: 4 as const }]);

async function paidCall(approve?: CapsuleHooks["approve"], url = PAID_URL) {
  const fx = await capsuleFixture({
    tools: ["http_api"],
    env: { CLOSED_CLAW_PAID_API_PROVIDERS: "paid.test" },
  });
  const model = scriptedModel([
    toolStep("http_api", { method: "POST", url, json: { amount: 1 }, timeout_s: 1 }),
    finalStep("done"),
  ]);
  const requests: Parameters<NonNullable<CapsuleHooks["approve"]>>[0][] = [];
  const r = await fx.run({
    task: "charge",
    hooks: {
      complete: model.complete,
      approve: approve && ((request) => (requests.push(request), approve(request))),
    },
    resolver: publicResolver,
    timeoutMs: 20_000,
  });
  return { fx, r, requests };
}

Deno.test("a paid API call waits for approval and runs only when approved", async () => {
  const { fx, r, requests } = await paidCall(() =>
    Promise.resolve({ approved: true, note: "ok by test" })
  );
  await using _ = fx;
  assert.equal(r.status, "ok");
  assert.equal(requests.length, 1);
  assert.equal(requests[0].provider, "paid.test");
  assert.equal(requests[0].endpoint, "POST https://api.paid.test/v1/charges");
  assert.equal(requests[0].agent_id, fx.manifest.agent_id);
  const [approval] = eventsOfType(fx.events, "approval");
  assert.equal(approval.approved, true);
  const [decided] = eventsOfType(fx.events, "tool_decided");
  assert.equal(decided.allowed, true);
  // The approval came before the decision the capsule waits for.
  assert.ok(fx.events.indexOf(approval) < fx.events.indexOf(decided));
  assert.equal(eventsOfType(fx.events, "tool_done").length, 1, "the approved call was attempted");
});

Deno.test("a denied paid API call is refused with the reason", async () => {
  const { fx, requests } = await paidCall(() =>
    Promise.resolve({ approved: false, note: "denied_via_web" })
  );
  await using _ = fx;
  assert.equal(requests.length, 1);
  const [decided] = eventsOfType(fx.events, "tool_decided");
  assert.equal(decided.allowed, false);
  assert.match(decided.reason, /not approved \(denied_via_web\)/);
  assert.equal(eventsOfType(fx.events, "tool_done").length, 0, "the capsule never made the call");
});

Deno.test("without an approver, and when the approver throws, paid calls are denied", async () => {
  for (const approve of [undefined, () => Promise.reject(new Error("approver down"))]) {
    const { fx } = await paidCall(approve);
    await using _ = fx;
    const [decided] = eventsOfType(fx.events, "tool_decided");
    assert.equal(decided.allowed, false);
    assert.match(decided.reason, approve ? /approver down/ : /no approver/);
  }
});

Deno.test("without an approve hook, decideTool gets the paid call to approve itself", async () => {
  await using fx = await capsuleFixture({
    tools: ["http_api"],
    env: { CLOSED_CLAW_PAID_API_PROVIDERS: "paid.test" },
  });
  const seen: unknown[] = [];
  await fx.run({
    task: "charge",
    hooks: {
      complete:
        scriptedModel([toolStep("http_api", { url: PAID_URL }), finalStep("done")]).complete,
      decideTool: (call) => {
        seen.push(call.paidApi);
        return Promise.resolve({ allowed: false, args: {}, reason: "decided by the caller" });
      },
    },
    resolver: publicResolver,
  });
  assert.deepEqual(seen, [{
    provider: "paid.test",
    endpoint: "GET https://api.paid.test/v1/charges",
    reason: "http_api call to the paid API host api.paid.test (paid.test)",
  }]);
  assert.match(eventsOfType(fx.events, "tool_decided")[0].reason, /decided by the caller/);
});

Deno.test("calls to hosts not marked paid need no approval", async () => {
  const { fx, requests } = await paidCall(
    () => Promise.resolve({ approved: false, note: "should not be asked" }),
    "https://api.free.test/v1/x",
  );
  await using _ = fx;
  assert.equal(requests.length, 0);
  assert.equal(eventsOfType(fx.events, "approval").length, 0);
  assert.equal(eventsOfType(fx.events, "tool_decided")[0].allowed, true);
});
