/**
 * The dashboard's approvals: a pending request shows its question, grant,
 * countdown and Always; an "always" decision stores the rule; rules are
 * listed and revoked (page and API); a timeout is shown as a timeout.
 */
import assert from "node:assert/strict";
import { coordinatorForWeb } from "../../web/coordinator_adapter.ts";
import { startWebFixture } from "../helpers/web_fixture.ts";

const json = async (r: Response) => ({ status: r.status, body: await r.json() });

Deno.test("web approvals: Always stores the rule, the page lists it with Revoke, and revoke ends it", async () => {
  await using fx = await startWebFixture();
  fx.deps.coordinator = coordinatorForWeb(fx.deps);
  const pending = fx.store.approvals.create({
    runId: null,
    kind: "agent_create",
    request: {
      summary: 'Create a new agent for "Build" (role builder) that can run programs (bash)?',
      details: ["Tools: terminal", "Programs: bash (sandboxed)", "yes: create it"],
      answers: { always: "approve now and every new agent for role builder" },
      rule: {
        kind: "agent_create",
        scope: "role",
        subject: "builder",
        grant: { tools: ["terminal"] },
      },
    },
    timeoutSec: 600,
  });
  const page = await (await fx.api("GET", "/approvals")).text();
  assert.match(page, /data-deadline="[^"]+"[^>]*>(9:5\d|10:00) left</);
  assert.match(page, /\(until \d\d:\d\d:\d\d UTC; then it counts as a timeout\)/);
  assert.match(page, /Programs: bash \(sandboxed\)/);
  assert.match(page, /&quot;always&quot;:true|"always":true/);
  assert.match(page, /countdown\.js/);
  const decided = await json(
    await fx.api("POST", `/api/approvals/${pending.approval_id}/decide`, {
      approved: true,
      always: true,
    }),
  );
  assert.equal(decided.status, 200, JSON.stringify(decided.body));
  assert.equal(decided.body.always, true);
  const rules = await json(await fx.api("GET", "/api/approvals/rules"));
  assert.equal(rules.body.length, 1);
  const ruleId = rules.body[0].rule_id;
  assert.deepEqual([rules.body[0].subject, rules.body[0].created_by], ["builder", "dashboard"]);
  assert.match(fx.store.approvals.get(pending.approval_id)!.note, new RegExp(ruleId));
  const listed = await (await fx.api("GET", "/approvals")).text();
  assert.match(listed, new RegExp(`${ruleId}.*Revoke`, "s"));
  const revoked = await fx.api("POST", `/api/approvals/rules/${ruleId}/revoke`, {});
  assert.equal(revoked.status, 200);
  assert.equal((await fx.api("POST", `/api/approvals/rules/${ruleId}/revoke`, {})).status, 404);
  assert.equal((await fx.api("POST", "/api/approvals/rules/nope/revoke", {})).status, 400);
  assert.deepEqual((await json(await fx.api("GET", "/api/approvals/rules"))).body, []);
  const audit = fx.store.audit.list({ limit: 20 }).map((e) => e.event_type);
  assert.ok(audit.includes("approval_rule_created") && audit.includes("approval_rule_revoked"));

  const late = fx.store.approvals.create({
    runId: null,
    kind: "api_call",
    request: { summary: "Call stripe?" },
    timeoutSec: 600,
  });
  fx.store.approvals.decide(late.approval_id, "timed_out", "web_timeout", "timed_out_default_deny");
  const after = await (await fx.api("GET", "/approvals")).text();
  assert.match(after, /timed out: nobody answered in time/);
});
