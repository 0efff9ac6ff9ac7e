import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore, type Store } from "../../store/mod.ts";
import {
  ApprovalService,
  decideApproval,
  revokeRule,
  type RuleOffer,
} from "../../coordinator/approvals.ts";
import { grantOf } from "../../coordinator/approval_risk.ts";
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

const writerGrant = grantOf({
  tools: ["file_io"],
  permissions: {
    read_roots: ["."],
    write_roots: ["out"],
    network_hosts: [],
    file_write: true,
    sql_paths: [],
  },
});

const createRequest = (mode: "web" | "interactive" | "approve", timeoutSec = 5) => ({
  runId: null,
  kind: "agent_create" as const,
  mode,
  request: { role_tag: "writer" },
  summary: 'Create a new agent for "Write" (role writer) that can write files in out?',
  details: ["Tools: file_io"],
  rule: {
    kind: "agent_create",
    scope: "role",
    subject: "writer",
    grant: { ...writerGrant } as Record<string, unknown>,
  } satisfies RuleOffer,
  timeoutSec,
});

Deno.test("an 'always' answer stores a rule that answers later requests without asking, until revoked", () =>
  withStore(async (store) => {
    const asked: string[] = [];
    const service = new ApprovalService(store, {
      ask: (q) => {
        asked.push(q.text);
        assert.equal(q.always, true);
        assert.ok(q.deadline && Date.parse(q.deadline) > Date.now());
        return Promise.resolve(asked.length === 1 ? "always" as const : true);
      },
    });
    const first = await service.request(createRequest("interactive"));
    assert.equal(first.approved, true);
    assert.ok(first.rule_id);
    assert.deepEqual(asked, [
      'Create a new agent for "Write" (role writer) that can write files in out?\nTools: file_io',
    ]);
    const [rule] = store.approvalRules.list();
    assert.deepEqual([rule.kind, rule.scope, rule.subject], ["agent_create", "role", "writer"]);
    const second = await service.request(createRequest("web"));
    assert.deepEqual([second.approved, second.operator, second.rule_id], [
      true,
      "always_rule",
      rule.rule_id,
    ]);
    assert.equal(asked.length, 1, "the rule answered: nobody was asked");
    // A wider grant (a network tool) is not covered by the rule.
    const wider = createRequest("interactive");
    wider.rule.grant = { ...writerGrant, tools: ["file_io", "http_api"], any_public_host: true };
    await service.request(wider);
    assert.equal(asked.length, 2);
    assert.equal(store.approvalRules.get(rule.rule_id)!.uses, 1);
    assert.equal(revokeRule(store, rule.rule_id, "cli_user"), true);
    assert.equal(revokeRule(store, rule.rule_id, "cli_user"), false);
    await service.request(createRequest("interactive"));
    assert.equal(asked.length, 3, "a revoked rule answers nothing");
    const audit = store.audit.list({ limit: 50 }).map((e) => e.event_type);
    assert.ok(audit.includes("approval_rule_created") && audit.includes("approval_rule_revoked"));
  }));

Deno.test("a web 'always' decision stores the offered rule; a timeout is recorded as a timeout", () =>
  withStore(async (store) => {
    const service = new ApprovalService(store, { pollMs: 20 });
    const waiting = service.request(createRequest("web"));
    let pending = store.approvals.listPending();
    while (pending.length === 0) {
      await new Promise((r) => setTimeout(r, 10));
      pending = store.approvals.listPending();
    }
    const id = pending[0].approval_id;
    assert.equal(decideApproval({ store }, id, true, "", "dashboard", true), true);
    const outcome = await waiting;
    assert.equal(outcome.status, "approved");
    assert.match(outcome.note, /approved_always_via_web: rule rule_/);
    assert.equal(store.approvalRules.list()[0].created_by, "dashboard");
    const late = await service.request(request("web", 0.1));
    assert.deepEqual([late.status, late.approved, late.operator], [
      "timed_out",
      false,
      "web_timeout",
    ]);
  }));

Deno.test("an 'always' for a data crossing answers later crossings to that agent while its reach stays within", () =>
  withStore(async (store) => {
    let asked = 0;
    const service = new ApprovalService(store, {
      ask: () => Promise.resolve(++asked === 1 ? "always" as const : false),
    });
    const crossing = (tools: string[], hosts: string[], origin = "files") => ({
      runId: null,
      kind: "data_flow" as const,
      mode: "interactive" as const,
      request: { from_task_id: "read", to_task_id: "post" },
      summary: "Hand the file's text to the networked agent?",
      rule: {
        kind: "data_flow" as const,
        scope: "agent" as const,
        subject: "poster-1",
        grant: { origin, network_tools: tools, network_hosts: hosts },
      },
      timeoutSec: 5,
    });
    const first = await service.request(crossing(["http_api"], ["api.example.com"]));
    assert.ok(first.approved && first.rule_id);
    const again = await service.request(crossing(["http_api"], ["api.example.com"]));
    assert.deepEqual([again.approved, again.operator, asked], [true, "always_rule", 1]);
    // A new host, a new network tool or data of another origin is asked again.
    await service.request(crossing(["http_api"], ["api.example.com", "evil.example"]));
    await service.request(crossing(["http_api", "web_fetch"], ["api.example.com"]));
    await service.request(crossing(["http_api"], ["api.example.com"], "database"));
    assert.equal(asked, 4);
  }));
