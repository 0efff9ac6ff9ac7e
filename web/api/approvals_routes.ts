/**
 * Approval routes: pending and all requests, the operator's decision (with
 * `"always": true`, the rule the request offers is stored too), and the
 * standing "always" rules (listed, revoked).
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { z } from "zod";
import { assertApprovalId, assertRunId } from "../../core/ids.ts";
import type { WebDeps } from "../deps.ts";
import { HttpError, intQuery, jsonBody, validId } from "../http.ts";
import type { LiveHub } from "../live/hub.ts";
import { coordinatorOf } from "./_coordinator.ts";
import { assertRuleId, revokeRule } from "../../coordinator/approvals.ts";

const Decision = z.object({
  approved: z.boolean(),
  note: z.string().max(2000).default(""),
  always: z.boolean().default(false),
}).strict();

/** `GET /approvals/pending`: the open requests, optionally of one run. */
function listPending(deps: WebDeps, c: Context) {
  const runId = c.req.query("run_id");
  const rows = deps.store.approvals.listPending(runId ? validId(assertRunId, runId) : undefined);
  return c.json(rows.map((a) => ({
    approval_id: a.approval_id,
    run_id: a.run_id,
    kind: a.kind,
    request_data: a.request_data,
    created_at: a.created_at,
    expires_at: a.expires_at,
  })));
}

/** `POST /approvals/:id/decide`: resolves a pending request once; a second decision is a 409. */
async function decide(deps: WebDeps, hub: LiveHub, c: Context, rawId: string) {
  const id = validId(assertApprovalId, rawId);
  const body = await jsonBody(c, Decision);
  const coordinator = coordinatorOf(deps);
  if (!deps.store.approvals.get(id)) {
    throw new HttpError(404, "approval_not_found", `No approval ${id}.`);
  }
  // The port keeps its four-argument form for a plain decision.
  const resolved = body.always
    ? coordinator.decideApproval(id, body.approved, body.note, "dashboard", true)
    : coordinator.decideApproval(id, body.approved, body.note, "dashboard");
  if (!resolved) {
    throw new HttpError(
      409,
      "already_decided",
      "This approval was already decided or timed out.",
    );
  }
  hub.changed();
  return c.json({
    approval_id: id,
    approved: body.approved,
    ...(body.always ? { always: true } : {}),
    resolved: true,
  });
}

/** `POST /approvals/rules/:id/revoke`: ends a standing "always" rule (audited); 404 when none is in force. */
function revoke(deps: WebDeps, hub: LiveHub, c: Context, rawId: string) {
  const id = validId(assertRuleId, rawId);
  if (!revokeRule(deps.store, id, "dashboard")) {
    throw new HttpError(404, "rule_not_found", `No rule ${id} in force.`);
  }
  hub.changed();
  return c.json({ rule_id: id, revoked: true });
}

export function approvalsRoutes(deps: WebDeps, hub: LiveHub): Hono {
  const app = new Hono();
  app.get("/approvals/pending", (c) => listPending(deps, c));
  app.get(
    "/approvals",
    (c) => c.json(deps.store.approvals.list({ limit: intQuery(c, "limit", 200, 10_000) })),
  );
  app.get(
    "/approvals/rules",
    (c) => c.json(deps.store.approvalRules.list({ includeRevoked: c.req.query("all") === "1" })),
  );
  app.post("/approvals/rules/:id/revoke", (c) => revoke(deps, hub, c, c.req.param("id")));
  app.post("/approvals/:id/decide", (c) => decide(deps, hub, c, c.req.param("id")));
  return app;
}
