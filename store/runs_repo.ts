/**
 * The runs table: one row per run from the moment it starts, so failed,
 * cancelled and crashed runs are recorded too, not only finished ones.
 * `state_json` holds the coordinator's checkpoint for resume.
 */
import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import { nowIso, parseJson, transaction } from "./db.ts";

/** The states a run can be in; `interrupted` is a run whose process died. */
export const RUN_STATUSES = [
  "running",
  "ok",
  "error",
  "cancelled",
  "interrupted",
] as const;
/** One of {@link RUN_STATUSES}. */
export type RunStatus = typeof RUN_STATUSES[number];

/** A run as the API and the CLI show it. */
export interface RunRow {
  /** `run_…` id. */
  run_id: string;
  /** Groups runs started together. */
  session_id: string | null;
  /** The first agent the run used. */
  agent_id: string | null;
  /** The task as given. */
  task: string;
  /** Where the run is. */
  status: RunStatus;
  /** The last pipeline stage finished. */
  current_stage: string | null;
  /** Wall time in ms, once finished. */
  latency_ms: number | null;
  /** Why it failed, if it did. */
  error_message: string | null;
  /** The synthesized answer. */
  result: string | null;
  /** Extra context given with the task. */
  context: Record<string, unknown>;
  /** The run options kept for resume. */
  options: Record<string, unknown>;
  /** The process running it, while it runs. */
  owner_pid: number | null;
  /** Model tokens read. */
  input_tokens: number;
  /** Model tokens written. */
  output_tokens: number;
  /** Estimated model cost in USD. */
  cost_usd: number;
  /** ISO time it started. */
  created_at: string;
  /** ISO time of the last change. */
  updated_at: string;
  /** ISO time it ended, or null. */
  finished_at: string | null;
}

export interface NewRun {
  run_id: string;
  session_id?: string | null;
  task: string;
  context?: Record<string, unknown>;
  options?: Record<string, unknown>;
  owner_pid?: number | null;
  /** The coordinator's first checkpoint, written with the row (see `saveState`). */
  state?: unknown;
}

/** A run written as it already is, e.g. history for a benchmark: its status and time are kept. */
export interface ImportedRun {
  run_id: string;
  task: string;
  status: RunStatus;
  /** ISO time it started; also its last change. */
  created_at: string;
}

export interface RunUpdate {
  status?: RunStatus;
  current_stage?: string | null;
  agent_id?: string | null;
  latency_ms?: number | null;
  error_message?: string | null;
  result?: string | null;
  owner_pid?: number | null;
  input_tokens?: number;
  output_tokens?: number;
  cost_usd?: number;
  finished_at?: string | null;
}

export interface RunListFilter {
  limit?: number;
  status?: RunStatus | RunStatus[];
  /** Only runs created at or after this ISO time. */
  since?: string;
}

type Raw = Record<string, unknown>;

// Column names are spliced into SQL, so only these may be updated.
const UPDATABLE = new Set([
  "status",
  "current_stage",
  "agent_id",
  "latency_ms",
  "error_message",
  "result",
  "owner_pid",
  "input_tokens",
  "output_tokens",
  "cost_usd",
  "finished_at",
]);

function shape(row: Raw): RunRow {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    run_id: String(row.run_id),
    session_id: (row.session_id as string | null) ?? null,
    agent_id: (row.agent_id as string | null) ?? null,
    task: String(row.task),
    status: row.status as RunStatus,
    current_stage: (row.current_stage as string | null) ?? null,
    latency_ms: num(row.latency_ms),
    error_message: (row.error_message as string | null) ?? null,
    result: (row.result as string | null) ?? null,
    context: parseJson(row.context_json, {}),
    options: parseJson(row.options_json, {}),
    owner_pid: num(row.owner_pid),
    input_tokens: Number(row.input_tokens),
    output_tokens: Number(row.output_tokens),
    cost_usd: Number(row.cost_usd),
    created_at: String(row.created_at),
    updated_at: String(row.updated_at),
    finished_at: (row.finished_at as string | null) ?? null,
  };
}

const LIST_COLUMNS = `run_id, session_id, agent_id, task, status, current_stage, latency_ms,
  error_message, result, context_json, options_json, owner_pid, input_tokens, output_tokens,
  cost_usd, created_at, updated_at, finished_at`;

export class RunsRepo {
  constructor(private readonly db: DatabaseSync) {}

  create(run: NewRun): RunRow {
    const now = nowIso();
    this.db.prepare(
      `INSERT INTO runs (run_id, session_id, task, status, context_json, options_json, owner_pid,
         state_json, created_at, updated_at) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)`,
    ).run(
      run.run_id,
      run.session_id ?? null,
      run.task,
      JSON.stringify(run.context ?? {}),
      JSON.stringify(run.options ?? {}),
      run.owner_pid ?? null,
      JSON.stringify(run.state ?? {}),
      now,
      now,
    );
    return this.get(run.run_id)!;
  }

  /** Inserts runs as given, in one transaction; faster than `create` for many rows. */
  importMany(runs: Iterable<ImportedRun>): void {
    const insert = this.db.prepare(
      `INSERT INTO runs (run_id, task, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
    );
    transaction(this.db, () => {
      for (const run of runs) {
        insert.run(run.run_id, run.task, run.status, run.created_at, run.created_at);
      }
    });
  }

  get(runId: string): RunRow | null {
    const row = this.db.prepare(`SELECT ${LIST_COLUMNS} FROM runs WHERE run_id = ?`).get(runId);
    return row ? shape(row as Raw) : null;
  }

  update(runId: string, changes: RunUpdate): void {
    const entries = Object.entries(changes).filter(([k, v]) => v !== undefined && UPDATABLE.has(k));
    if (entries.length === 0) return;
    const sets = entries.map(([k]) => `${k} = ?`).join(", ");
    this.db.prepare(`UPDATE runs SET ${sets}, updated_at = ? WHERE run_id = ?`).run(
      ...entries.map(([, v]) => v as SQLInputValue),
      nowIso(),
      runId,
    );
  }

  /** Newest first. */
  list(filter: RunListFilter = {}): RunRow[] {
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (filter.status) {
      const statuses = Array.isArray(filter.status) ? filter.status : [filter.status];
      where.push(`status IN (${statuses.map(() => "?").join(",")})`);
      params.push(...statuses);
    }
    if (filter.since) {
      where.push("created_at >= ?");
      params.push(filter.since);
    }
    const sql = `SELECT ${LIST_COLUMNS} FROM runs ${
      where.length ? `WHERE ${where.join(" AND ")}` : ""
    } ORDER BY created_at DESC LIMIT ?`;
    return this.db.prepare(sql).all(...params, filter.limit ?? 20).map((r) => shape(r as Raw));
  }

  count(status?: RunStatus): number {
    const row = status
      ? this.db.prepare("SELECT COUNT(*) AS n FROM runs WHERE status = ?").get(status)
      : this.db.prepare("SELECT COUNT(*) AS n FROM runs").get();
    return Number((row as Raw).n);
  }

  /** The coordinator's checkpoint, or null. */
  loadState<T>(runId: string): T | null {
    const row = this.db.prepare("SELECT state_json FROM runs WHERE run_id = ?").get(runId) as
      | Raw
      | undefined;
    const state = parseJson<T | null>(row?.state_json, null);
    return state && typeof state === "object" && Object.keys(state).length ? state : null;
  }

  saveState(runId: string, state: unknown): void {
    this.db.prepare("UPDATE runs SET state_json = ?, updated_at = ? WHERE run_id = ?").run(
      JSON.stringify(state),
      nowIso(),
      runId,
    );
  }

  /** A checkpoint: the state (already JSON) and the stage it reached, in one write. */
  saveCheckpoint(runId: string, stateJson: string, stage: string): void {
    this.db.prepare(
      "UPDATE runs SET state_json = ?, current_stage = ?, updated_at = ? WHERE run_id = ?",
    ).run(stateJson, stage, nowIso(), runId);
  }

  /** Replaces the run options kept for resume (a resume that raised the budget, say). */
  saveOptions(runId: string, options: Record<string, unknown>): void {
    this.db.prepare("UPDATE runs SET options_json = ? WHERE run_id = ?")
      .run(JSON.stringify(options), runId);
  }

  /**
   * Flags a running run for cancellation; its coordinator, in whichever
   * process, polls the flag. False when the run is not running.
   */
  requestCancel(runId: string, reason: string): boolean {
    const result = this.db.prepare(
      "UPDATE runs SET cancel_requested_at = ?, cancel_reason = ? WHERE run_id = ? AND status = 'running'",
    ).run(nowIso(), reason, runId);
    return Number(result.changes) > 0;
  }

  /** The reason of a pending cancel request, or null when none is pending. */
  cancelReason(runId: string): string | null {
    const row = this.db.prepare(
      "SELECT cancel_requested_at, cancel_reason FROM runs WHERE run_id = ?",
    ).get(runId) as
      | { cancel_requested_at: string | null; cancel_reason: string | null }
      | undefined;
    return row?.cancel_requested_at ? row.cancel_reason || "cancel requested" : null;
  }

  /** Drops a run's cancel request (a resumed run starts unflagged). */
  clearCancel(runId: string): void {
    this.db.prepare(
      "UPDATE runs SET cancel_requested_at = NULL, cancel_reason = NULL WHERE run_id = ?",
    ).run(runId);
  }

  /**
   * Marks `running` runs whose owning process is gone as `interrupted`, so
   * `runs` tells the truth after a crash or kill -9. Returns their ids.
   */
  markInterrupted(isAlive: (pid: number) => boolean): string[] {
    const rows = this.db.prepare("SELECT run_id, owner_pid FROM runs WHERE status = 'running'")
      .all() as Raw[];
    const dead = rows.filter((r) => r.owner_pid === null || !isAlive(Number(r.owner_pid)));
    for (const r of dead) {
      this.db.prepare(
        "UPDATE runs SET status = 'interrupted', updated_at = ? WHERE run_id = ? AND status = 'running'",
      ).run(nowIso(), String(r.run_id));
    }
    return dead.map((r) => String(r.run_id));
  }

  /** The ids of runs whose row says `running`. */
  runningIds(): string[] {
    return this.db.prepare("SELECT run_id FROM runs WHERE status = 'running'").all()
      .map((r) => String((r as Raw).run_id));
  }

  /**
   * Marks one running run as `interrupted` (its owner is gone), keeping an
   * error already recorded and `reason` otherwise. False when it was not running.
   */
  markRunInterrupted(runId: string, reason: string): boolean {
    const result = this.db.prepare(
      `UPDATE runs SET status = 'interrupted', error_message = COALESCE(error_message, ?),
         updated_at = ? WHERE run_id = ? AND status = 'running'`,
    ).run(reason, nowIso(), runId);
    return Number(result.changes) > 0;
  }

  /** Adds one model call's usage to the run's totals. */
  addUsage(runId: string, inputTokens: number, outputTokens: number, costUsd: number): void {
    this.db.prepare(
      `UPDATE runs SET input_tokens = input_tokens + ?, output_tokens = output_tokens + ?,
         cost_usd = cost_usd + ?, updated_at = ? WHERE run_id = ?`,
    ).run(inputTokens, outputTokens, costUsd, nowIso(), runId);
  }
}
