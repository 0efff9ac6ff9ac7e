/**
 * The host's tool decision as a table: host policy, then paid-API approval,
 * then the caller's decideTool. No capsule is started; every effect is a fake.
 */
import assert from "node:assert/strict";
import {
  decideToolCall,
  type PolicyVerdict,
  type ToolDecisionDeps,
} from "../../capsule_runtime/tool_decision.ts";
import type {
  ApprovalAnswer,
  CapsuleEvent,
  ToolDecision,
} from "../../capsule_runtime/capsule_types.ts";

const call = { id: "tool-1", tool: "http_api", args: { url: "https://x.test/" }, reason: "why" };
const validated = { url: "https://x.test/", method: "GET" };
const paid = { provider: "x.test", endpoint: "GET https://x.test/", reason: "paid host" };

type Hook = "approve" | "decideTool";

interface Case {
  name: string;
  verdict: PolicyVerdict;
  approve?: () => Promise<ApprovalAnswer>;
  decideTool?: () => Promise<ToolDecision>;
  expect: Partial<ToolDecision>;
  /** Hooks that must have been called, in order. */
  calls: Hook[];
  /** Whether an approval event is reported, and its answer. */
  approval?: boolean;
  /** What decideTool must be told about the paid call. */
  paidApi?: typeof paid;
}

const allowed: PolicyVerdict = { allowed: true, args: validated };
const paidVerdict: PolicyVerdict = { allowed: true, args: validated, needsApproval: paid };
const yes = () => Promise.resolve({ approved: true, note: "ok by test" });
const no = () => Promise.resolve({ approved: false, note: "nope" });
const keep = () =>
  Promise.resolve({ allowed: true, args: { url: "https://x.test/v2" }, reason: "k" });

const CASES: Case[] = [
  {
    name: "a policy refusal ends it: no approval, no decideTool",
    verdict: { allowed: false, reason: "tool 'http_api' is not allowed for this agent" },
    approve: yes,
    decideTool: keep,
    expect: {
      allowed: false,
      args: {},
      reason: "tool 'http_api' is not allowed for this agent",
      error_code: "tool_policy",
    },
    calls: [],
  },
  {
    name: "allowed by policy with no hooks: the validated args",
    verdict: allowed,
    expect: { allowed: true, args: validated, reason: "allowed", error_code: undefined },
    calls: [],
  },
  {
    name: "a paid call approved goes on to decideTool without paidApi",
    verdict: paidVerdict,
    approve: yes,
    decideTool: keep,
    expect: { allowed: true, args: { url: "https://x.test/v2" }, reason: "k" },
    calls: ["approve", "decideTool"],
    approval: true,
  },
  {
    name: "a paid call denied is refused with the approver's note",
    verdict: paidVerdict,
    approve: no,
    decideTool: keep,
    expect: {
      allowed: false,
      reason: "paid API call to GET https://x.test/ was not approved (nope)",
      error_code: "approval_denied",
    },
    calls: ["approve"],
    approval: false,
  },
  {
    name: "an approver that throws denies",
    verdict: paidVerdict,
    approve: () => Promise.reject(new Error("approver down")),
    expect: {
      allowed: false,
      reason: "paid API call to GET https://x.test/ was not approved " +
        "(approval failed: approver down)",
      error_code: "approval_denied",
    },
    calls: ["approve"],
    approval: false,
  },
  {
    name: "a paid call with no hooks at all is denied",
    verdict: paidVerdict,
    expect: {
      allowed: false,
      reason: "paid API call to GET https://x.test/ was not approved " +
        "(no approver is configured for paid API calls)",
      error_code: "approval_denied",
    },
    calls: [],
    approval: false,
  },
  {
    name: "without approve, decideTool is trusted with the paid call",
    verdict: paidVerdict,
    decideTool: keep,
    expect: { allowed: true, args: { url: "https://x.test/v2" } },
    calls: ["decideTool"],
    paidApi: paid,
  },
  {
    name: "decideTool's refusal gets a code when it has none",
    verdict: allowed,
    decideTool: () => Promise.resolve({ allowed: false, args: {}, reason: "not today" }),
    expect: { allowed: false, reason: "not today", error_code: "refused_by_caller" },
    calls: ["decideTool"],
  },
  {
    name: "decideTool's own refusal code is kept",
    verdict: allowed,
    decideTool: () =>
      Promise.resolve({ allowed: false, args: {}, reason: "r", error_code: "quota" }),
    expect: { allowed: false, reason: "r", error_code: "quota" },
    calls: ["decideTool"],
  },
  {
    name: "a decideTool that throws refuses",
    verdict: allowed,
    decideTool: () => Promise.reject(new Error("boom")),
    expect: {
      allowed: false,
      args: {},
      reason: "the host could not decide: boom",
      error_code: "decision_failed",
    },
    calls: ["decideTool"],
  },
];

for (const c of CASES) {
  Deno.test(`tool decision: ${c.name}`, async () => {
    const calls: Hook[] = [];
    const approvals: Extract<CapsuleEvent, { type: "approval" }>[] = [];
    const checked: unknown[] = [];
    let toldPaid: unknown = "not called";
    const deps: ToolDecisionDeps = {
      check: (tool, args) => {
        checked.push([tool, args]);
        return Promise.resolve(c.verdict);
      },
      approve: c.approve &&
        ((request) => {
          calls.push("approve");
          assert.equal(request.agent_id, "agent-1");
          assert.deepEqual(request.args, validated);
          return c.approve!();
        }),
      decideTool: c.decideTool &&
        ((request) => {
          calls.push("decideTool");
          assert.deepEqual(request.args, validated);
          assert.equal(request.reason, "why");
          toldPaid = request.paidApi;
          return c.decideTool!();
        }),
      onApproval: (event) => approvals.push(event),
      agentId: "agent-1",
      signal: new AbortController().signal,
    };
    const decision = await decideToolCall(call, deps);
    assert.deepEqual(checked, [["http_api", call.args]]);
    for (const [key, value] of Object.entries(c.expect)) {
      assert.deepEqual(decision[key as keyof ToolDecision], value, key);
    }
    assert.deepEqual(calls, c.calls);
    assert.deepEqual(
      approvals.map((a) => a.approved),
      c.approval === undefined ? [] : [c.approval],
    );
    if (approvals[0]) {
      assert.equal(approvals[0].id, "tool-1");
      assert.equal(approvals[0].endpoint, paid.endpoint);
      assert.equal(approvals[0].provider, paid.provider);
    }
    if (c.calls.includes("decideTool")) assert.deepEqual(toldPaid, c.paidApi);
  });
}
