/**
 * Finding runs and agents by what users type: a unique prefix of an id, or
 * `last` (the newest run, the most recently used or created agent). The CLI's
 * id resolver (cli/resolve_id.ts) turns these answers into one clear line.
 *
 * @example
 * ```ts
 * import { openStore } from "./mod.ts";
 * import { LookupRepo } from "./lookup_repo.ts";
 *
 * const store = openStore("/tmp/claw/registry.db");
 * const lookup = new LookupRepo(store.db);
 * console.log(lookup.runIdsWithPrefix("3f2a"), lookup.newestRunId());
 * store.close();
 * ```
 */
import type { DatabaseSync } from "node:sqlite";

/** A run or agent id with what helps a user tell candidates apart. */
export interface IdCandidate {
  id: string;
  /** The run's task or the agent's description. */
  label: string;
  /** When it was last active (a run's creation, an agent's last use or creation). */
  at: string;
}

type Raw = Record<string, unknown>;

const candidate = (r: Raw): IdCandidate => ({
  id: String(r.id),
  label: String(r.label ?? ""),
  at: String(r.at ?? ""),
});

export class LookupRepo {
  constructor(private readonly db: DatabaseSync) {}

  /** Runs whose id starts with `prefix`, newest first (at most `limit`). */
  runIdsWithPrefix(prefix: string, limit = 6): IdCandidate[] {
    return this.db.prepare(
      `SELECT run_id AS id, task AS label, created_at AS at FROM runs
       WHERE substr(run_id, 1, length(?1)) = ?1 ORDER BY created_at DESC LIMIT ?2`,
    ).all(prefix, limit).map((r) => candidate(r as Raw));
  }

  /** The newest runs, newest first. */
  recentRuns(limit = 10): IdCandidate[] {
    return this.db.prepare(
      "SELECT run_id AS id, task AS label, created_at AS at FROM runs ORDER BY created_at DESC, rowid DESC LIMIT ?",
    ).all(limit).map((r) => candidate(r as Raw));
  }

  /** The newest run's id, or null when there is none. */
  newestRunId(): string | null {
    return this.recentRuns(1)[0]?.id ?? null;
  }

  /** Agents whose id starts with `prefix`, most recently active first (at most `limit`). */
  agentIdsWithPrefix(prefix: string, limit = 6): IdCandidate[] {
    return this.db.prepare(
      `SELECT agent_id AS id, description AS label,
         MAX(COALESCE(last_used_at, created_at), created_at) AS at FROM agents
       WHERE substr(agent_id, 1, length(?1)) = ?1 ORDER BY at DESC LIMIT ?2`,
    ).all(prefix, limit).map((r) => candidate(r as Raw));
  }

  /** Agents, most recently used or created first. */
  recentAgents(limit = 10): IdCandidate[] {
    return this.db.prepare(
      `SELECT agent_id AS id, description AS label,
         MAX(COALESCE(last_used_at, created_at), created_at) AS at FROM agents
       ORDER BY at DESC, rowid DESC LIMIT ?`,
    ).all(limit).map((r) => candidate(r as Raw));
  }

  /** The most recently used or created agent's id, or null when there is none. */
  lastAgentId(): string | null {
    return this.recentAgents(1)[0]?.id ?? null;
  }
}
