/**
 * Schema migrations, tracked by `PRAGMA user_version`. Each step runs once,
 * inside its own transaction, and moves the version up by one. Steps are
 * never edited once released: a change is a new step.
 */
import type { DatabaseSync } from "node:sqlite";
import { ClosedClawError } from "../core/errors.ts";
import { transaction } from "./db.ts";

/** Step N (1-based) brings a database from version N-1 to N. */
export const MIGRATIONS: readonly string[] = [
  // 1: the registry, runs and everything recorded about them.
  `
  CREATE TABLE agents (
    agent_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    embedding_model TEXT NOT NULL,
    embedding_dim INTEGER NOT NULL,
    tools_allowlist_json TEXT NOT NULL DEFAULT '[]',
    tags_json TEXT NOT NULL DEFAULT '[]',
    api_capabilities_json TEXT NOT NULL DEFAULT '[]',
    requires_approval_for_json TEXT NOT NULL DEFAULT '[]',
    skill_ids_json TEXT NOT NULL DEFAULT '[]',
    permissions_json TEXT NOT NULL DEFAULT '{}',
    version TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    usage_count INTEGER NOT NULL DEFAULT 0,
    success_count INTEGER NOT NULL DEFAULT 0,
    failure_count INTEGER NOT NULL DEFAULT 0,
    success_rate REAL NOT NULL DEFAULT 0,
    avg_latency_ms REAL,
    status TEXT NOT NULL DEFAULT 'active',
    genome_json TEXT NOT NULL DEFAULT '{}',
    lineage_json TEXT NOT NULL DEFAULT '{}',
    fitness_score REAL NOT NULL DEFAULT 0
  );
  CREATE INDEX agents_status ON agents(status);

  CREATE TABLE agent_vectors (
    agent_id TEXT PRIMARY KEY REFERENCES agents(agent_id) ON DELETE CASCADE,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL
  );

  -- Bumped by triggers on every change that affects vector search, so an
  -- in-memory index in one process can tell when another process wrote.
  CREATE TABLE store_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
  INSERT INTO store_meta VALUES ('vectors_rev', 0);
  CREATE TRIGGER agent_vectors_ins AFTER INSERT ON agent_vectors BEGIN
    UPDATE store_meta SET value = value + 1 WHERE key = 'vectors_rev'; END;
  CREATE TRIGGER agent_vectors_upd AFTER UPDATE ON agent_vectors BEGIN
    UPDATE store_meta SET value = value + 1 WHERE key = 'vectors_rev'; END;
  CREATE TRIGGER agent_vectors_del AFTER DELETE ON agent_vectors BEGIN
    UPDATE store_meta SET value = value + 1 WHERE key = 'vectors_rev'; END;
  CREATE TRIGGER agents_status_upd AFTER UPDATE OF status ON agents BEGIN
    UPDATE store_meta SET value = value + 1 WHERE key = 'vectors_rev'; END;

  CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    session_id TEXT,
    agent_id TEXT,
    task TEXT NOT NULL,
    status TEXT NOT NULL,
    current_stage TEXT,
    latency_ms REAL,
    error_message TEXT,
    result TEXT,
    context_json TEXT NOT NULL DEFAULT '{}',
    options_json TEXT NOT NULL DEFAULT '{}',
    state_json TEXT NOT NULL DEFAULT '{}',
    owner_pid INTEGER,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
  );
  CREATE INDEX runs_created ON runs(created_at);
  CREATE INDEX runs_status ON runs(status, created_at);

  CREATE TABLE subtasks (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    task_id TEXT NOT NULL,
    phase TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    role_tag TEXT NOT NULL DEFAULT 'task-operator',
    depends_on_json TEXT NOT NULL DEFAULT '[]',
    acceptance_criteria_json TEXT NOT NULL DEFAULT '[]',
    requires_tool INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    assigned_agent_id TEXT,
    result TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    position INTEGER NOT NULL DEFAULT 0,
    started_at TEXT,
    finished_at TEXT,
    PRIMARY KEY (run_id, task_id)
  );

  CREATE TABLE tool_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT,
    task_id TEXT,
    agent_id TEXT,
    attempt INTEGER,
    tool TEXT NOT NULL,
    args_json TEXT NOT NULL DEFAULT '{}',
    allowed INTEGER NOT NULL DEFAULT 1,
    ok INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    result_json TEXT NOT NULL DEFAULT '{}',
    latency_ms REAL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX tool_events_run ON tool_events(run_id, id);
  CREATE INDEX tool_events_agent ON tool_events(agent_id, id);

  CREATE TABLE llm_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT,
    task_id TEXT,
    agent_id TEXT,
    purpose TEXT NOT NULL DEFAULT '',
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    latency_ms REAL NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
  );
  CREATE INDEX llm_calls_run ON llm_calls(run_id, id);
  CREATE INDEX llm_calls_created ON llm_calls(created_at);

  CREATE TABLE approvals (
    approval_id TEXT PRIMARY KEY,
    run_id TEXT,
    kind TEXT NOT NULL,
    request_json TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    operator TEXT,
    note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    expires_at TEXT,
    decided_at TEXT
  );
  CREATE INDEX approvals_status ON approvals(status, created_at);
  CREATE INDEX approvals_run ON approvals(run_id);

  CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_type TEXT NOT NULL,
    run_id TEXT,
    agent_id TEXT,
    payload_json TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX audit_events_run ON audit_events(run_id, id);

  CREATE TABLE provider_circuit_breakers (
    provider TEXT PRIMARY KEY,
    failure_count INTEGER NOT NULL DEFAULT 0,
    opened_at TEXT,
    last_failure_at TEXT,
    last_error TEXT NOT NULL DEFAULT ''
  );
  `,
  // 2: a cancel flag any process can set; the run's coordinator polls it.
  `
  ALTER TABLE runs ADD COLUMN cancel_requested_at TEXT;
  ALTER TABLE runs ADD COLUMN cancel_reason TEXT;
  `,
  // 3: the step journal: each model reply and tool call of a subtask's agent,
  // as it happens, so resume and retries replay instead of re-executing.
  `
  CREATE TABLE step_journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    conversation INTEGER NOT NULL,
    step INTEGER NOT NULL,
    kind TEXT NOT NULL,
    request_hash TEXT NOT NULL DEFAULT '',
    request_json TEXT,
    decision_json TEXT,
    result_json TEXT,
    side_effects INTEGER NOT NULL DEFAULT 0,
    truncated INTEGER NOT NULL DEFAULT 0,
    superseded INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX step_journal_key ON step_journal(run_id, task_id, conversation, step);
  `,
  // 4: prompt tokens a model call read from the provider's cache (traces show them).
  `
  ALTER TABLE llm_calls ADD COLUMN cached_input_tokens INTEGER NOT NULL DEFAULT 0;
  `,
];

/** The schema version this build of Closed Claw writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Reads `PRAGMA user_version`. */
export function schemaVersion(db: DatabaseSync): number {
  const row = db.prepare("PRAGMA user_version").get() as { user_version: number };
  return row.user_version;
}

/**
 * Brings the database up to `SCHEMA_VERSION`, one step per transaction. Safe to
 * call from several processes at once: each step re-checks the version after
 * taking the write lock. Returns the steps applied.
 */
export function migrate(db: DatabaseSync, steps: readonly string[] = MIGRATIONS): number[] {
  const applied: number[] = [];
  const start = schemaVersion(db);
  if (start > steps.length) {
    throw new ClosedClawError(
      "db_too_new",
      `The database has schema version ${start}, newer than this Closed Claw understands (${steps.length}).`,
      { hint: "Upgrade Closed Claw, or point CLOSED_CLAW_HOME at another data directory." },
    );
  }
  for (let version = start; version < steps.length; version++) {
    transaction(db, () => {
      if (schemaVersion(db) !== version) return; // another process got here first
      db.exec(steps[version]);
      db.exec(`PRAGMA user_version = ${version + 1}`);
      applied.push(version + 1);
    });
  }
  return applied;
}
