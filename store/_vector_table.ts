/**
 * The SQL side of the vector index: the `agent_vectors` rows joined with
 * their agent's status, and `store_meta.vectors_rev`, which triggers bump on
 * every change to vectors or agent statuses so other connections notice.
 */
import { type DatabaseSync, transaction } from "./db.ts";

/** Rows fetched per query while loading. */
const LOAD_CHUNK = 4096;
/** One stored row: rowid, agent_id, dim, vector, status. */
export type StoredRow = [number | bigint, string, number | bigint, unknown, string];

type Statement = ReturnType<DatabaseSync["prepare"]>;

export class VectorTable {
  readonly #db: DatabaseSync;
  readonly #rev: Statement;
  readonly #status: Statement;
  readonly #upsert: Statement;
  readonly #remove: Statement;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#rev = db.prepare("SELECT value FROM store_meta WHERE key = 'vectors_rev'");
    this.#status = db.prepare("SELECT status FROM agents WHERE agent_id = ?");
    this.#upsert = db.prepare(
      `INSERT INTO agent_vectors (agent_id, dim, vector) VALUES (?, ?, ?)
       ON CONFLICT (agent_id) DO UPDATE SET dim = excluded.dim, vector = excluded.vector`,
    );
    this.#remove = db.prepare("DELETE FROM agent_vectors WHERE agent_id = ?");
  }

  /** Whether the connection is inside a transaction (the index's or someone else's). */
  get inTransaction(): boolean {
    return this.#db.isTransaction;
  }

  /** `store_meta.vectors_rev`, or -1 when it is missing. */
  rev(): number {
    const row = this.#rev.get() as { value: number | bigint } | undefined;
    return row === undefined ? -1 : Number(row.value);
  }

  /** The agent's status, or undefined when there is no such agent. */
  agentStatus(agentId: string): string | undefined {
    return (this.#status.get(agentId) as { status: string } | undefined)?.status;
  }

  upsert(agentId: string, dim: number, blob: Uint8Array): void {
    this.#upsert.run(agentId, dim, blob);
  }

  /** Deletes the agent's vector row; whether one existed. */
  remove(agentId: string): boolean {
    return Number(this.#remove.run(agentId).changes) > 0;
  }

  /** Rows in `agent_vectors` (of every dim and status). */
  count(): number {
    return Number(
      (this.#db.prepare("SELECT count(*) AS n FROM agent_vectors").get() as { n: number }).n,
    );
  }

  /** Every stored row with its agent's status, in pages by rowid. */
  *pages(): Generator<StoredRow[]> {
    // Pages of LOAD_CHUNK rows by rowid, as arrays: node:sqlite's all() is
    // ~40% faster per row than iterate() with objects, and paging bounds the
    // transient copies of BLOBs it makes.
    const page = this.#db.prepare(
      `SELECT v.rowid, v.agent_id, v.dim, v.vector, a.status
       FROM agent_vectors v JOIN agents a ON a.agent_id = v.agent_id
       WHERE v.rowid > ? ORDER BY v.rowid LIMIT ${LOAD_CHUNK}`,
    );
    // Present at run time in Deno 2.9 but missing from its node:sqlite types.
    const arrays = page as typeof page & { setReturnArrays?: (enabled: boolean) => void };
    const asArrays = typeof arrays.setReturnArrays === "function";
    if (asArrays) arrays.setReturnArrays!(true);
    let after: number | bigint = -1;
    for (;;) {
      const rows =
        (asArrays ? page.all(after) : page.all(after).map(Object.values)) as unknown as StoredRow[];
      yield rows;
      if (rows.length < LOAD_CHUNK) return;
      after = rows[rows.length - 1][0];
    }
  }

  /**
   * Runs `fn` in one read snapshot (a deferred transaction, so no write lock),
   * or inside the transaction the connection already has.
   */
  snapshot<T>(fn: () => T): T {
    const db = this.#db;
    const own = !db.isTransaction;
    if (own) db.exec("BEGIN");
    try {
      const result = fn();
      if (own) db.exec("COMMIT");
      return result;
    } catch (error) {
      if (own && db.isTransaction) db.exec("ROLLBACK");
      throw error;
    }
  }

  /** Runs `fn` in a write transaction (`BEGIN IMMEDIATE`). */
  write<T>(fn: () => T): T {
    return transaction(this.#db, fn);
  }
}
