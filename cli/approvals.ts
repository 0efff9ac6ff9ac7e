/**
 * `approvals`: the approval requests (pending first, with their countdown),
 * `approvals rules`: the standing "always" rules, and
 * `approvals revoke <rule_id>`: ends one (audited; later requests are asked again).
 */
import { UsageError } from "../core/errors.ts";
import { assertRuleId, revokeRule } from "../coordinator/approvals.ts";
import type { ApprovalRow } from "../store/mod.ts";
import type { Command, CommandContext } from "./command.ts";
import { JSON_OPTION } from "./command.ts";
import { age, printJson, printLine, renderTable } from "./output.ts";

/** "9:58 left" for a pending request; how it ended otherwise (a timeout is not a deny). */
export function approvalState(a: ApprovalRow, now = Date.now()): string {
  if (a.status === "pending") {
    if (!a.expires_at) return "pending";
    const s = Math.max(0, Math.ceil((Date.parse(a.expires_at) - now) / 1000));
    return `pending, ${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")} left`;
  }
  if (a.status === "timed_out") return "timed out (nobody answered)";
  if (a.note.startsWith("always_rule:")) return `approved by ${a.note.slice(12)}`;
  return `${a.status} by ${a.operator ?? "-"}`;
}

function listRequests(ctx: CommandContext): number {
  const store = ctx.store();
  const pending = store.approvals.listPending();
  const recent = store.approvals.list({ limit: 20 }).filter((a) => a.status !== "pending");
  const rows = [...pending, ...recent];
  if (ctx.options.json) {
    printJson(rows);
    return 0;
  }
  if (rows.length === 0) {
    printLine("No approval requests yet.");
    return 0;
  }
  printLine(renderTable([
    { header: "APPROVAL", value: (a: ApprovalRow) => a.approval_id.slice(0, 12) },
    { header: "KIND", value: (a) => a.kind },
    { header: "STATE", value: (a) => approvalState(a) },
    { header: "ASKED", value: (a) => age(a.created_at) },
    { header: "QUESTION", value: (a) => String(a.request_data.summary ?? ""), flexible: true },
  ], rows));
  if (pending.length) {
    printLine("Answer pending web-mode requests on the dashboard's Approvals page.");
  }
  return 0;
}

function listRules(ctx: CommandContext): number {
  const rules = ctx.store().approvalRules.list({ includeRevoked: ctx.options.all === true });
  if (ctx.options.json) {
    printJson(rules);
    return 0;
  }
  if (rules.length === 0) {
    printLine("No standing rules. Answer 'always' to an approval to make one.");
    return 0;
  }
  printLine(renderTable([
    { header: "RULE", value: (r) => r.rule_id },
    { header: "KIND", value: (r) => r.kind },
    { header: "FOR", value: (r) => `${r.scope} ${r.subject}` },
    { header: "BY", value: (r) => r.created_by },
    { header: "MADE", value: (r) => age(r.created_at) },
    { header: "USES", value: (r) => String(r.uses) },
    {
      header: "GRANT",
      value: (r) =>
        r.revoked_at
          ? `revoked by ${r.revoked_by}`
          : Array.isArray(r.grant.tools)
          ? `tools: ${(r.grant.tools as string[]).join(", ") || "none"}`
          : JSON.stringify(r.grant),
      flexible: true,
    },
  ], rules));
  printLine("Revoke one with: closed-claw approvals revoke <rule_id>");
  return 0;
}

function revoke(ctx: CommandContext, raw: string | undefined): number {
  if (!raw) {
    throw new UsageError(
      "approvals revoke: missing <rule_id>.",
      "List the rules with `closed-claw approvals rules`.",
    );
  }
  const id = assertRuleId(raw);
  const revoked = revokeRule(ctx.store(), id, "cli_user");
  if (ctx.options.json) printJson({ rule_id: id, revoked });
  else {
    printLine(
      revoked
        ? `Revoked ${id}: later requests it answered are asked again.`
        : `No rule ${id} in force (unknown or already revoked).`,
    );
  }
  return revoked ? 0 : 1;
}

export const approvalsCommand: Command = {
  name: "approvals",
  summary:
    "List approval requests; `approvals rules` and `approvals revoke <rule_id>` manage 'always' rules.",
  args: "[rules | revoke <rule_id>]",
  positionals: { min: 0, max: 2 },
  options: {
    all: { type: "boolean", description: "With `rules`: revoked rules too." },
    ...JSON_OPTION,
  },
  details: [
    "An 'always' answer (terminal or dashboard) stores a rule: later requests of that kind for the",
    "same role (new agents) or agent (reuse, paid-API calls) are approved without asking while",
    "their grant stays within the one approved. Rules apply to later runs too.",
    "",
    "Examples:",
    "  closed-claw approvals",
    "  closed-claw approvals rules",
    "  closed-claw approvals revoke rule_0123456789abcdef",
  ].join("\n"),
  run(ctx) {
    const [sub, arg] = ctx.positionals;
    if (sub === undefined) return Promise.resolve(listRequests(ctx));
    if (sub === "rules" && arg === undefined) return Promise.resolve(listRules(ctx));
    if (sub === "revoke") return Promise.resolve(revoke(ctx, arg));
    throw new UsageError(
      `approvals: unknown "${[sub, arg].filter(Boolean).join(" ")}".`,
      "Usage: closed-claw approvals [rules | revoke <rule_id>].",
    );
  },
};
