/** The subtasks of each run, written at every transition so a run can resume. */
import type { DatabaseSync } from "node:sqlite";
import { parseJson, transaction } from "./db.ts";

export const SUBTASK_STATUSES = [
  "waiting",
  "pending",
  "in_progress",
  "completed",
  "failed",
  "cancelled",
] as const;
export type SubtaskStatus = typeof SUBTASK_STATUSES[number];

export interface SubtaskRow {
  run_id: string;
  task_id: string;
  phase: string;
  title: string;
  description: string;
  role_tag: string;
  depends_on: string[];
  acceptance_criteria: string[];
  requires_tool: boolean;
  status: SubtaskStatus;
  assigned_agent_id: string | null;
  result: string | null;
  error: string | null;
  attempts: number;
  position: number;
  started_at: string | null;
  finished_at: string | null;
}

type Raw = Record<string, unknown>;

function shape(row: Raw): SubtaskRow {
  return {
    run_id: String(row.run_id),
    task_id: String(row.task_id),
    phase: String(row.phase),
    title: String(row.title),
    description: String(row.description),
    role_tag: String(row.role_tag),
    depends_on: parseJson(row.depends_on_json, []),
    acceptance_criteria: parseJson(row.acceptance_criteria_json, []),
    requires_tool: Number(row.requires_tool) === 1,
    status: row.status as SubtaskStatus,
    assigned_agent_id: (row.assigned_agent_id as string | null) ?? null,
    result: (row.result as string | null) ?? null,
    error: (row.error as string | null) ?? null,
    attempts: Number(row.attempts),
    position: Number(row.position),
    started_at: (row.started_at as string | null) ?? null,
    finished_at: (row.finished_at as string | null) ?? null,
  };
}

export class SubtasksRepo {
  constructor(private readonly db: DatabaseSync) {}

  /** Inserts or replaces every given subtask in one transaction. */
  saveAll(rows: SubtaskRow[]): void {
    const stmt = this.db.prepare(
      `INSERT INTO subtasks (run_id, task_id, phase, title, description, role_tag, depends_on_json,
         acceptance_criteria_json, requires_tool, status, assigned_agent_id, result, error,
         attempts, position, started_at, finished_at)
       VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
       ON CONFLICT(run_id, task_id) DO UPDATE SET
         phase = excluded.phase, title = excluded.title, description = excluded.description,
         role_tag = excluded.role_tag, depends_on_json = excluded.depends_on_json,
         acceptance_criteria_json = excluded.acceptance_criteria_json,
         requires_tool = excluded.requires_tool, status = excluded.status,
         assigned_agent_id = excluded.assigned_agent_id, result = excluded.result,
         error = excluded.error, attempts = excluded.attempts, position = excluded.position,
         started_at = excluded.started_at, finished_at = excluded.finished_at`,
    );
    transaction(this.db, () => {
      for (const r of rows) {
        stmt.run(
          r.run_id,
          r.task_id,
          r.phase,
          r.title,
          r.description,
          r.role_tag,
          JSON.stringify(r.depends_on),
          JSON.stringify(r.acceptance_criteria),
          r.requires_tool ? 1 : 0,
          r.status,
          r.assigned_agent_id,
          r.result,
          r.error,
          r.attempts,
          r.position,
          r.started_at,
          r.finished_at,
        );
      }
    });
  }

  /** A run's subtasks in plan order. */
  listForRun(runId: string): SubtaskRow[] {
    return this.db.prepare(
      "SELECT * FROM subtasks WHERE run_id = ? ORDER BY phase = 'execution', position",
    ).all(runId).map((r) => shape(r as Raw));
  }
}
