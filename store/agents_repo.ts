/**
 * The agents table. The database is the source of truth for an agent's
 * metrics: writing a manifest updates its description fields only, so a
 * stale manifest.json can never reset usage, success rate or status.
 */
import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import type { AgentPermissions, AgentRecord } from "./agent_record.ts";
import { nowIso, parseJson, transaction } from "./db.ts";

/** An agent as the API and the CLI show it: its record, with lists as plain arrays and its vector's length. */
export interface AgentRow extends
  Omit<
    AgentRecord,
    | "embedding_vector"
    | "tools_allowlist"
    | "tags"
    | "api_capabilities"
    | "requires_approval_for"
    | "skill_ids"
    | "permissions"
  > {
  /** Its vector's length. */
  embedding_dim: number;
  /** Tools it may call. */
  tools_allowlist: string[];
  /** Free-form labels. */
  tags: string[];
  /** Paid or external APIs it is known to call. */
  api_capabilities: string[];
  /** Tools or actions that always need approval. */
  requires_approval_for: string[];
  /** Skills (layer 1) in its prompt. */
  skill_ids: string[];
  /** What it may touch (older rows may lack fields). */
  permissions: Partial<AgentPermissions>;
}

type Raw = Record<string, unknown>;

function shape(row: Raw): AgentRow {
  return {
    agent_id: String(row.agent_id),
    name: String(row.name),
    description: String(row.description),
    embedding_model: String(row.embedding_model),
    embedding_dim: Number(row.embedding_dim),
    tools_allowlist: parseJson(row.tools_allowlist_json, []),
    tags: parseJson(row.tags_json, []),
    api_capabilities: parseJson(row.api_capabilities_json, []),
    requires_approval_for: parseJson(row.requires_approval_for_json, []),
    skill_ids: parseJson(row.skill_ids_json, []),
    permissions: parseJson(row.permissions_json, {}),
    version: String(row.version),
    created_at: String(row.created_at),
    last_used_at: (row.last_used_at as string | null) ?? null,
    usage_count: Number(row.usage_count),
    success_count: Number(row.success_count),
    failure_count: Number(row.failure_count),
    success_rate: Number(row.success_rate),
    avg_latency_ms: row.avg_latency_ms === null ? null : Number(row.avg_latency_ms),
    status: String(row.status),
    genome_json: String(row.genome_json),
    lineage_json: String(row.lineage_json),
    fitness_score: Number(row.fitness_score),
  };
}

const UPSERT_SQL = `INSERT INTO agents (agent_id, name, description, embedding_model,
    embedding_dim, tools_allowlist_json, tags_json, api_capabilities_json,
    requires_approval_for_json, skill_ids_json, permissions_json, version, created_at,
    last_used_at, usage_count, success_count, failure_count, success_rate, avg_latency_ms,
    status, genome_json, lineage_json, fitness_score)
  VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
  ON CONFLICT(agent_id) DO UPDATE SET
    name = excluded.name, description = excluded.description,
    embedding_model = excluded.embedding_model, embedding_dim = excluded.embedding_dim,
    tools_allowlist_json = excluded.tools_allowlist_json, tags_json = excluded.tags_json,
    api_capabilities_json = excluded.api_capabilities_json,
    requires_approval_for_json = excluded.requires_approval_for_json,
    skill_ids_json = excluded.skill_ids_json, permissions_json = excluded.permissions_json,
    version = excluded.version, genome_json = excluded.genome_json,
    lineage_json = excluded.lineage_json`;

function upsertParams(m: AgentRecord): SQLInputValue[] {
  return [
    m.agent_id,
    m.name,
    m.description,
    m.embedding_model,
    m.embedding_vector.length,
    JSON.stringify(m.tools_allowlist),
    JSON.stringify(m.tags),
    JSON.stringify(m.api_capabilities),
    JSON.stringify(m.requires_approval_for),
    JSON.stringify(m.skill_ids),
    JSON.stringify(m.permissions),
    m.version,
    m.created_at,
    m.last_used_at,
    m.usage_count,
    m.success_count,
    m.failure_count,
    m.success_rate,
    m.avg_latency_ms,
    m.status,
    m.genome_json,
    m.lineage_json,
    m.fitness_score,
  ];
}

export class AgentsRepo {
  constructor(private readonly db: DatabaseSync) {}

  /**
   * Inserts an agent from its manifest, or updates its descriptive fields.
   * Metrics and status are written only on insert.
   */
  upsertManifest(m: AgentRecord): void {
    this.db.prepare(UPSERT_SQL).run(...upsertParams(m));
  }

  /** {@link upsertManifest} for many agents, in one transaction with one prepared statement. */
  upsertMany(records: Iterable<AgentRecord>): void {
    const upsert = this.db.prepare(UPSERT_SQL);
    const write = () => {
      for (const m of records) upsert.run(...upsertParams(m));
    };
    // Joins a transaction the caller already holds (a vector index write, say).
    if (this.db.isTransaction) write();
    else transaction(this.db, write);
  }

  get(agentId: string): AgentRow | null {
    const row = this.db.prepare("SELECT * FROM agents WHERE agent_id = ?").get(agentId);
    return row ? shape(row as Raw) : null;
  }

  /** Agents, most used first, newest first among equals. */
  list(limit = 200, status?: string): AgentRow[] {
    const rows = status
      ? this.db.prepare(
        "SELECT * FROM agents WHERE status = ? ORDER BY usage_count DESC, created_at DESC LIMIT ?",
      ).all(status, limit)
      : this.db.prepare("SELECT * FROM agents ORDER BY usage_count DESC, created_at DESC LIMIT ?")
        .all(limit);
    return rows.map((r) => shape(r as Raw));
  }

  count(): number {
    return Number((this.db.prepare("SELECT COUNT(*) AS n FROM agents").get() as Raw).n);
  }

  /** Agents whose tags include `tag`. */
  findByTag(tag: string): AgentRow[] {
    return this.db.prepare(
      "SELECT a.* FROM agents a, json_each(a.tags_json) t WHERE t.value = ? ORDER BY a.fitness_score DESC",
    ).all(tag).map((r) => shape(r as Raw));
  }

  /** Deletes the agent (its vector goes with it); true when it existed. */
  delete(agentId: string): boolean {
    return Number(this.db.prepare("DELETE FROM agents WHERE agent_id = ?").run(agentId).changes) >
      0;
  }

  /**
   * Records one use of an agent: counts, success rate and a running mean of
   * latency, all in one statement so concurrent runs cannot lose an update.
   */
  recordUsage(agentId: string, ok: boolean, latencyMs: number | null): void {
    this.db.prepare(
      `UPDATE agents SET
         usage_count = usage_count + 1,
         success_count = success_count + ?1,
         failure_count = failure_count + (1 - ?1),
         success_rate = CAST(success_count + ?1 AS REAL) / (usage_count + 1),
         avg_latency_ms = CASE WHEN ?2 IS NULL THEN avg_latency_ms
           WHEN avg_latency_ms IS NULL THEN ?2
           ELSE (avg_latency_ms * usage_count + ?2) / (usage_count + 1) END,
         last_used_at = ?3
       WHERE agent_id = ?4`,
    ).run(ok ? 1 : 0, latencyMs, nowIso(), agentId);
  }

  setStatus(agentId: string, status: string): void {
    this.db.prepare("UPDATE agents SET status = ? WHERE agent_id = ?").run(status, agentId);
  }

  setFitness(agentId: string, fitness: number): void {
    this.db.prepare("UPDATE agents SET fitness_score = ? WHERE agent_id = ?").run(fitness, agentId);
  }
}
