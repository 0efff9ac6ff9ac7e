/**
 * The queries behind `agents prune` and `agents merge`: which agents are
 * stale, which are in use by a running run, and folding one agent's usage
 * into another's.
 *
 * @example
 * ```ts
 * import { openStore } from "./mod.ts";
 * import { AgentHygieneRepo } from "./agent_hygiene_repo.ts";
 *
 * const store = openStore("/tmp/claw/registry.db");
 * const hygiene = new AgentHygieneRepo(store.db);
 * console.log(hygiene.inUseByRunningRuns());
 * store.close();
 * ```
 */
import type { DatabaseSync } from "node:sqlite";
import { transaction } from "./db.ts";

type Raw = Record<string, unknown>;

/** An agent as prune weighs it. */
export interface PruneRow {
  agent_id: string;
  description: string;
  tags: string[];
  usage_count: number;
  success_count: number;
  /** Its last use, or its creation when it was never used. */
  last_active_at: string;
}

export class AgentHygieneRepo {
  constructor(private readonly db: DatabaseSync) {}

  /**
   * Agents a running run uses or has mapped to a role: those assigned to its
   * subtasks, its first agent, and its role map (the checkpoint's
   * `role_agent_map`).
   */
  inUseByRunningRuns(): Set<string> {
    const rows = this.db.prepare(
      `SELECT s.assigned_agent_id AS id FROM subtasks s JOIN runs r ON r.run_id = s.run_id
         WHERE r.status = 'running' AND s.assigned_agent_id IS NOT NULL
       UNION SELECT agent_id AS id FROM runs WHERE status = 'running' AND agent_id IS NOT NULL
       UNION SELECT m.value AS id FROM runs r, json_each(r.state_json, '$.role_agent_map') m
         WHERE r.status = 'running' AND json_valid(r.state_json)`,
    ).all();
    return new Set(rows.map((r) => String((r as Raw).id)));
  }

  /**
   * Agents that are candidates for pruning: not active since `cutoffIso`, or
   * used at least twice without a single success.
   */
  staleAgents(cutoffIso: string): PruneRow[] {
    return this.db.prepare(
      `SELECT agent_id, description, tags_json, usage_count, success_count,
         MAX(COALESCE(last_used_at, created_at), created_at) AS last_active_at
       FROM agents
       WHERE MAX(COALESCE(last_used_at, created_at), created_at) < ?
          OR (usage_count >= 2 AND success_count = 0)
       ORDER BY last_active_at`,
    ).all(cutoffIso).map((r) => {
      const row = r as Raw;
      let tags: string[] = [];
      try {
        tags = JSON.parse(String(row.tags_json));
      } catch { /* no tags */ }
      return {
        agent_id: String(row.agent_id),
        description: String(row.description),
        tags,
        usage_count: Number(row.usage_count),
        success_count: Number(row.success_count),
        last_active_at: String(row.last_active_at),
      };
    });
  }

  /**
   * Adds `from`'s uses, successes, failures and latency to `into` (success
   * rate and mean latency recomputed, last use the later one) and sets `from`
   * to `disabled`, in one transaction. False when either is missing.
   */
  foldUsage(into: string, from: string): boolean {
    const get = this.db.prepare("SELECT * FROM agents WHERE agent_id = ?");
    const a = get.get(into) as Raw | undefined;
    const b = get.get(from) as Raw | undefined;
    if (!a || !b) return false;
    const uses = Number(a.usage_count) + Number(b.usage_count);
    const successes = Number(a.success_count) + Number(b.success_count);
    const failures = Number(a.failure_count) + Number(b.failure_count);
    const latency = (row: Raw) => row.avg_latency_ms === null ? null : Number(row.avg_latency_ms);
    const la = latency(a), lb = latency(b);
    const meanLatency = la === null
      ? lb
      : lb === null
      ? la
      : uses > 0
      ? (la * Number(a.usage_count) + lb * Number(b.usage_count)) / uses
      : la;
    const lastUsed = [a.last_used_at, b.last_used_at].filter((v) => v).map(String).sort().pop() ??
      null;
    transaction(this.db, () => {
      this.db.prepare(
        `UPDATE agents SET usage_count = ?, success_count = ?, failure_count = ?,
           success_rate = ?, avg_latency_ms = ?, last_used_at = ? WHERE agent_id = ?`,
      ).run(uses, successes, failures, uses ? successes / uses : 0, meanLatency, lastUsed, into);
      this.db.prepare("UPDATE agents SET status = 'disabled' WHERE agent_id = ?").run(from);
    });
    return true;
  }
}
