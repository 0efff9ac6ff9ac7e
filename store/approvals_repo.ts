/**
 * Approval requests live in SQLite rather than in one process's memory, so a
 * CLI run waiting in `web` mode can be decided from the dashboard process.
 * A decision is a single conditional UPDATE: the first decider wins.
 */
import type { DatabaseSync } from "node:sqlite";
import { nowIso, parseJson } from "./db.ts";

/**
 * `data_flow`: private data about to enter a capsule that can reach the network;
 * `agent_reuse`: an existing agent with programs, writes or network about to get a subtask.
 */
export type ApprovalKind = "api_call" | "agent_create" | "agent_reuse" | "data_flow";
export type ApprovalStatus = "pending" | "approved" | "denied" | "timed_out";

export interface ApprovalRow {
  approval_id: string;
  run_id: string | null;
  kind: ApprovalKind;
  request_data: Record<string, unknown>;
  status: ApprovalStatus;
  operator: string | null;
  note: string;
  created_at: string;
  expires_at: string | null;
  decided_at: string | null;
}

type Raw = Record<string, unknown>;

function shape(row: Raw): ApprovalRow {
  return {
    approval_id: String(row.approval_id),
    run_id: (row.run_id as string | null) ?? null,
    kind: row.kind as ApprovalKind,
    request_data: parseJson(row.request_json, {}),
    status: row.status as ApprovalStatus,
    operator: (row.operator as string | null) ?? null,
    note: String(row.note),
    created_at: String(row.created_at),
    expires_at: (row.expires_at as string | null) ?? null,
    decided_at: (row.decided_at as string | null) ?? null,
  };
}

export class ApprovalsRepo {
  constructor(private readonly db: DatabaseSync) {}

  create(input: {
    runId: string | null;
    kind: ApprovalKind;
    request: Record<string, unknown>;
    timeoutSec: number;
  }): ApprovalRow {
    const id = crypto.randomUUID().replaceAll("-", "");
    const created = new Date();
    const expires = new Date(created.getTime() + input.timeoutSec * 1000);
    this.db.prepare(
      `INSERT INTO approvals (approval_id, run_id, kind, request_json, status, created_at, expires_at)
       VALUES (?, ?, ?, ?, 'pending', ?, ?)`,
    ).run(
      id,
      input.runId,
      input.kind,
      JSON.stringify(input.request),
      created.toISOString(),
      expires.toISOString(),
    );
    return this.get(id)!;
  }

  get(approvalId: string): ApprovalRow | null {
    const row = this.db.prepare("SELECT * FROM approvals WHERE approval_id = ?").get(approvalId);
    return row ? shape(row as Raw) : null;
  }

  /** Pending requests, oldest first; optionally of one run. */
  listPending(runId?: string): ApprovalRow[] {
    const rows = runId
      ? this.db.prepare(
        "SELECT * FROM approvals WHERE status = 'pending' AND run_id = ? ORDER BY created_at",
      ).all(runId)
      : this.db.prepare("SELECT * FROM approvals WHERE status = 'pending' ORDER BY created_at")
        .all();
    return rows.map((r) => shape(r as Raw));
  }

  list(options: { limit?: number; runId?: string } = {}): ApprovalRow[] {
    const rows = options.runId
      ? this.db.prepare("SELECT * FROM approvals WHERE run_id = ? ORDER BY created_at DESC LIMIT ?")
        .all(options.runId, options.limit ?? 200)
      : this.db.prepare("SELECT * FROM approvals ORDER BY created_at DESC LIMIT ?").all(
        options.limit ?? 200,
      );
    return rows.map((r) => shape(r as Raw));
  }

  /**
   * Decides a pending request. Returns false when it was already decided or
   * timed out (someone else got there first).
   */
  decide(
    approvalId: string,
    status: Exclude<ApprovalStatus, "pending">,
    operator: string,
    note: string,
  ): boolean {
    const info = this.db.prepare(
      `UPDATE approvals SET status = ?, operator = ?, note = ?, decided_at = ?
       WHERE approval_id = ? AND status = 'pending'`,
    ).run(status, operator, note, nowIso(), approvalId);
    return Number(info.changes) > 0;
  }

  /** Rewrites a decided request's note (to name the "always" rule its answer created). */
  amendNote(approvalId: string, note: string): void {
    this.db.prepare("UPDATE approvals SET note = ? WHERE approval_id = ? AND status != 'pending'")
      .run(note, approvalId);
  }

  countPending(): number {
    const row = this.db.prepare("SELECT COUNT(*) AS n FROM approvals WHERE status = 'pending'")
      .get() as Raw;
    return Number(row.n);
  }
}
