/**
 * "Always" answers: a person approved a kind of request once for a role or
 * an agent, and later requests of that kind for it (in this run or any later
 * one) are approved without asking while their grant stays within the one
 * approved. Rules are listed and revoked from the CLI (`approvals rules`,
 * `approvals revoke`) and the dashboard; a revoked rule is kept (revoked_at)
 * so the audit trail can name it.
 *
 * The table is created here (CREATE TABLE IF NOT EXISTS) rather than by a
 * numbered migration: it stands alone, no other table refers to it.
 */
import type { DatabaseSync } from "node:sqlite";
import { nowIso, parseJson } from "./db.ts";

/**
 * What a rule answers: creating an agent for a role, reusing an agent, an
 * agent's paid-API calls, or private data handed to a networked agent.
 */
export type ApprovalRuleKind = "agent_create" | "agent_reuse" | "api_call" | "data_flow";
/** Whom a rule is for: a role tag (new agents of the role) or one agent id. */
export type ApprovalRuleScope = "role" | "agent";

export interface ApprovalRuleRow {
  rule_id: string;
  kind: ApprovalRuleKind;
  scope: ApprovalRuleScope;
  /** The role tag or agent id. */
  subject: string;
  /** What was approved (tools, roots, hosts, programs; the provider for api_call). */
  grant: Record<string, unknown>;
  created_at: string;
  created_by: string;
  /** The approval whose "always" answer made the rule. */
  approval_id: string | null;
  run_id: string | null;
  uses: number;
  last_used_at: string | null;
  revoked_at: string | null;
  revoked_by: string | null;
}

type Raw = Record<string, unknown>;

function shape(row: Raw): ApprovalRuleRow {
  return {
    rule_id: String(row.rule_id),
    kind: row.kind as ApprovalRuleKind,
    scope: row.scope as ApprovalRuleScope,
    subject: String(row.subject),
    grant: parseJson(row.grant_json, {}),
    created_at: String(row.created_at),
    created_by: String(row.created_by),
    approval_id: (row.approval_id as string | null) ?? null,
    run_id: (row.run_id as string | null) ?? null,
    uses: Number(row.uses ?? 0),
    last_used_at: (row.last_used_at as string | null) ?? null,
    revoked_at: (row.revoked_at as string | null) ?? null,
    revoked_by: (row.revoked_by as string | null) ?? null,
  };
}

export class ApprovalRulesRepo {
  constructor(private readonly db: DatabaseSync) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS approval_rules (
        rule_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        scope TEXT NOT NULL,
        subject TEXT NOT NULL,
        grant_json TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        approval_id TEXT,
        run_id TEXT,
        uses INTEGER NOT NULL DEFAULT 0,
        last_used_at TEXT,
        revoked_at TEXT,
        revoked_by TEXT
      );
      CREATE INDEX IF NOT EXISTS approval_rules_subject ON approval_rules(kind, scope, subject);
    `);
  }

  create(input: {
    kind: ApprovalRuleKind;
    scope: ApprovalRuleScope;
    subject: string;
    grant: Record<string, unknown>;
    createdBy: string;
    approvalId?: string | null;
    runId?: string | null;
  }): ApprovalRuleRow {
    const id = `rule_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
    this.db.prepare(
      `INSERT INTO approval_rules
         (rule_id, kind, scope, subject, grant_json, created_at, created_by, approval_id, run_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      id,
      input.kind,
      input.scope,
      input.subject,
      JSON.stringify(input.grant),
      nowIso(),
      input.createdBy,
      input.approvalId ?? null,
      input.runId ?? null,
    );
    return this.get(id)!;
  }

  get(ruleId: string): ApprovalRuleRow | null {
    const row = this.db.prepare("SELECT * FROM approval_rules WHERE rule_id = ?").get(ruleId);
    return row ? shape(row as Raw) : null;
  }

  /** Rules, newest first; revoked ones only when asked. */
  list(options: { includeRevoked?: boolean } = {}): ApprovalRuleRow[] {
    const rows = options.includeRevoked
      ? this.db.prepare("SELECT * FROM approval_rules ORDER BY created_at DESC, rule_id").all()
      : this.db.prepare(
        "SELECT * FROM approval_rules WHERE revoked_at IS NULL ORDER BY created_at DESC, rule_id",
      ).all();
    return rows.map((r) => shape(r as Raw));
  }

  /** The rules in force for one kind and subject, oldest first. */
  active(kind: ApprovalRuleKind, scope: ApprovalRuleScope, subject: string): ApprovalRuleRow[] {
    return this.db.prepare(
      `SELECT * FROM approval_rules
       WHERE kind = ? AND scope = ? AND subject = ? AND revoked_at IS NULL
       ORDER BY created_at, rule_id`,
    ).all(kind, scope, subject).map((r) => shape(r as Raw));
  }

  /** Counts one use of a rule. */
  markUsed(ruleId: string): void {
    this.db.prepare(
      "UPDATE approval_rules SET uses = uses + 1, last_used_at = ? WHERE rule_id = ?",
    ).run(nowIso(), ruleId);
  }

  /** Revokes a rule in force; false when it is unknown or already revoked. */
  revoke(ruleId: string, by: string): boolean {
    const info = this.db.prepare(
      `UPDATE approval_rules SET revoked_at = ?, revoked_by = ?
       WHERE rule_id = ? AND revoked_at IS NULL`,
    ).run(nowIso(), by, ruleId);
    return Number(info.changes) > 0;
  }
}
