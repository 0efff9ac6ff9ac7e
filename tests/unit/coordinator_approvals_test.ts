import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore, type Store } from "../../store/mod.ts";
import {
  agentCreateSummary,
  ApprovalService,
  decideApproval,
} from "../../coordinator/approvals.ts";
import { tempDir } from "../helpers/temp.ts";

const request = (mode: "approve" | "deny" | "web" | "interactive", timeoutSec = 5) => ({
  runId: null,
  kind: "api_call" as const,
  mode,
  request: { provider: "stripe.com", endpoint: "https://api.stripe.com/v1/charges" },
  summary: "Agent wants to call stripe",
  timeoutSec,
});

async function withStore(fn: (store: Store, path: string) => Promise<void>) {
  await using dir = await tempDir();
  const path = join(dir.path, "registry.db");
  const store = openStore(path);
  try {
    await fn(store, path);
  } finally {
    store.close();
  }
}

Deno.test("approve and deny modes decide at once, and every request and decision is audited", () =>
  withStore(async (store) => {
    const service = new ApprovalService(store, {});
    const yes = await service.request(request("approve"));
    const no = await service.request(request("deny"));
    assert.deepEqual([yes.approved, yes.note], [true, "auto_approved_by_policy"]);
    assert.deepEqual([no.approved, no.note], [false, "auto_denied_by_policy"]);
    assert.equal(store.approvals.get(yes.approval_id)!.status, "approved");
    const kinds = store.audit.list({ limit: 10 }).map((e) => e.event_type).sort();
    assert.deepEqual(kinds, [
      "approval_decision",
      "approval_decision",
      "approval_request",
      "approval_request",
    ]);
  }));

Deno.test("interactive mode without a terminal refuses cleanly", () =>
  withStore(async (store) => {
    const outcome = await new ApprovalService(store, {}).request(request("interactive"));
    assert.equal(outcome.approved, false);
    assert.equal(outcome.note, "no_terminal_default_deny");
  }));

Deno.test("interactive mode takes the terminal's answer, and really times out", () =>
  withStore(async (store) => {
    const yes = new ApprovalService(store, { ask: () => Promise.resolve(true) });
    assert.equal((await yes.request(request("interactive"))).approved, true);
    const silent = new ApprovalService(store, {
      ask: ({ signal }) =>
        new Promise((resolve) => signal.addEventListener("abort", () => resolve(null))),
      pollMs: 20,
    });
    const started = performance.now();
    const outcome = await silent.request(request("interactive", 0.3));
    assert.ok(performance.now() - started < 2000);
    assert.deepEqual([outcome.approved, outcome.note], [false, "timed_out_default_deny"]);
  }));

Deno.test("web mode waits for a decision made through another connection", () =>
  withStore(async (store, path) => {
    const other = openStore(path);
    try {
      const service = new ApprovalService(store, { pollMs: 20 });
      const waiting = service.request(request("web"));
      let pending = other.approvals.listPending();
      while (pending.length === 0) {
        await new Promise((r) => setTimeout(r, 10));
        pending = other.approvals.listPending();
      }
      assert.equal(decideApproval({ store: other }, pending[0].approval_id, true), true);
      assert.equal(decideApproval({ store: other }, pending[0].approval_id, false), false);
      const outcome = await waiting;
      assert.deepEqual([outcome.approved, outcome.operator, outcome.note], [
        true,
        "web_user",
        "approved_via_web",
      ]);
      assert.throws(() => decideApproval({ store: other }, "nope", true), /No approval/);
    } finally {
      other.close();
    }
  }));

Deno.test("web mode denies on timeout and when the run is cancelled", () =>
  withStore(async (store) => {
    const service = new ApprovalService(store, { pollMs: 20 });
    const timedOut = await service.request(request("web", 0.2));
    assert.deepEqual([timedOut.approved, timedOut.operator, timedOut.note], [
      false,
      "web_timeout",
      "timed_out_default_deny",
    ]);
    assert.equal(store.approvals.get(timedOut.approval_id)!.status, "timed_out");
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const cancelled = await service.request({ ...request("web"), signal: controller.signal });
    assert.equal(cancelled.approved, false);
    assert.equal(cancelled.note, "run_cancelled_default_deny");
  }));

Deno.test("the create question names the hosts the new agent would reach, and what denying does", () => {
  const withMatch = agentCreateSummary({
    title: "Clone the repo",
    best: "old-cloner",
    effective: 0.4,
    threshold: 0.62,
    networkHosts: ["github.com", "*.pypi.org"],
  });
  assert.match(withMatch, /^Create a new agent for "Clone the repo"\?/);
  assert.match(withMatch, /reach only these hosts: github.com, \*\.pypi\.org/);
  assert.match(withMatch, /old-cloner, scores 0.4 \(threshold 0.62\)\. Denying reuses it\./);
  const alone = agentCreateSummary({
    title: "Clone",
    best: null,
    effective: 0,
    threshold: 0.62,
    networkHosts: ["github.com"],
  });
  assert.match(alone, /github.com/);
  assert.match(alone, /No existing agent fits; denying fails the subtask\./);
  const plain = agentCreateSummary({
    title: "Read",
    best: "r",
    effective: 0.5,
    threshold: 0.62,
    networkHosts: [],
  });
  assert.doesNotMatch(plain, /hosts/);
});
