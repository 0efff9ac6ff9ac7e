/**
 * In-process vector search over `agent_vectors`.
 *
 * Every vector lives normalised in one contiguous block of WebAssembly memory,
 * so cosine similarity is a plain dot product, computed by a small SIMD
 * kernel block by block. Scores stay exact float32 (no quantisation), so
 * results equal a brute-force scan.
 *
 * The index stays in sync with SQLite: its own writes update memory in place,
 * and `store_meta.vectors_rev` (bumped by triggers) tells it when another
 * connection or process changed vectors or agent statuses, so it reloads.
 */
import { ClosedClawError } from "../core/errors.ts";
import type { DatabaseSync } from "./db.ts";
import { TopK, type VectorHit } from "./_top_k.ts";
import { VectorSlab } from "./_vector_slab.ts";
import { VectorTable } from "./_vector_table.ts";

export type { VectorHit } from "./_top_k.ts";

/** Options of {@link VectorIndex.search}. */
export interface SearchOptions {
  /** Agent statuses to include; default `"active"`. */
  status?: string | string[];
  /** Agent ids never returned (e.g. the agent asking). */
  exclude?: Set<string>;
}

/** Options of the {@link VectorIndex} constructor. */
export interface VectorIndexOptions {
  /**
   * Dot-product kernel: `"wasm"` (SIMD, the default when the runtime supports
   * it) or `"js"` (portable fallback, also used by tests as a cross-check).
   */
  kernel?: "wasm" | "js";
}

/** A `#rev` no database holds: the next `refreshIfStale` reloads. */
const STALE = -2;

/** A pending in-memory change, applied only once its transaction committed. */
type MemoryOp =
  | { kind: "upsert"; agentId: string; vector: Float32Array; status: string }
  | { kind: "remove"; agentId: string }
  | { kind: "status"; agentId: string; status: string };

/**
 * In-memory cosine top-k index over the `agent_vectors` table, filtered by
 * `agents.status`. Construction loads every row once; afterwards `upsert`,
 * `upsertMany` and `remove` write SQLite and memory together, and `search`
 * reloads first if another connection changed vectors (`refreshIfStale`).
 *
 * Not safe for concurrent use from several threads; one index per connection.
 */
export class VectorIndex {
  /** Vector dimension every row must have. */
  readonly dim: number;
  /** Rows skipped by the last load because their `dim` differed from {@link dim}. */
  skippedWrongDim = 0;
  /** Rows skipped by the last load: BLOB of the wrong length, or NaN/Infinity values. */
  skippedCorrupt = 0;
  /** Times the index reloaded from the database after construction. */
  reloads = 0;

  readonly #table: VectorTable;
  readonly #slab: VectorSlab;
  readonly #topK = new TopK();
  /** `store_meta.vectors_rev` that memory reflects. */
  #rev = -1;
  /** Memory changes of the running `write()`, applied after COMMIT; null outside one. */
  #pending: MemoryOp[] | null = null;

  /** Opens an index of `dim`-dimensional vectors over `db` and loads every row once. */
  constructor(db: DatabaseSync, dim: number, options: VectorIndexOptions = {}) {
    if (!Number.isInteger(dim) || dim < 1) {
      throw new ClosedClawError(
        "vector_dim_invalid",
        `Vector dimension must be a positive integer, got ${dim}.`,
      );
    }
    this.dim = dim;
    this.#slab = new VectorSlab(dim, options.kernel);
    this.#table = new VectorTable(db);
    this.#load();
  }

  /** Number of vectors in memory (of every status). */
  get size(): number {
    return this.#slab.count;
  }

  /** Whether `agentId` has a vector in the index. */
  has(agentId: string): boolean {
    return this.#slab.slotOf.has(agentId);
  }

  /**
   * Normalises `vector` and stores it for `agentId` (insert or replace). The
   * agents row must already exist (foreign key); its status is read from it.
   */
  upsert(agentId: string, vector: Float32Array | number[]): void {
    const normalised = this.#normalise(vector, `the vector of agent ${agentId}`);
    this.write(() => this.#upsertRow(agentId, normalised));
  }

  /** Upserts many vectors in ONE transaction: all are stored, or none (e.g. a missing agent). */
  upsertMany(entries: Iterable<[string, Float32Array | number[]]>): void {
    const rows: Array<[string, Float32Array]> = [];
    for (const [agentId, vector] of entries) {
      rows.push([agentId, this.#normalise(vector, `the vector of agent ${agentId}`)]);
    }
    this.write(() => {
      for (const [agentId, normalised] of rows) this.#upsertRow(agentId, normalised);
    });
  }

  /** Deletes the vector of `agentId` from SQLite and memory. Returns whether one existed. */
  remove(agentId: string): boolean {
    return this.write(() => {
      const existed = this.#table.remove(agentId);
      this.#pending!.push({ kind: "remove", agentId });
      return existed || this.#slab.slotOf.has(agentId);
    });
  }

  /**
   * Sets the status of `agentId` in memory only; the caller updates
   * `agents.status` itself. Do both inside {@link write} to avoid a reload:
   * the status trigger bumps `vectors_rev`, and only writes made inside the
   * index's own transaction are recognised as its own. Returns whether the
   * agent has a vector in the index.
   */
  setStatus(agentId: string, status: string): boolean {
    if (this.#pending) {
      this.#pending.push({ kind: "status", agentId, status });
      return this.#slab.slotOf.has(agentId);
    }
    return this.#slab.setStatus(agentId, status);
  }

  /**
   * Runs `fn` in one write transaction (`BEGIN IMMEDIATE`) that the index
   * counts as its own: `upsert`, `remove` and `setStatus` calls inside it
   * reach memory only after COMMIT (nothing on ROLLBACK), and the
   * `vectors_rev` bumps they cause do not trigger a reload. Use it to write an
   * agents row and its vector atomically. Nested calls join the outer one.
   *
   * If the connection is already inside a transaction the index did not open,
   * changes are applied to memory at once and the index reloads on its next
   * search (it cannot tell whether that transaction will commit).
   */
  write<T>(fn: () => T): T {
    if (this.#pending) return fn();
    const pending: MemoryOp[] = [];
    this.#pending = pending;
    try {
      if (this.#table.inTransaction) {
        // Someone else's transaction may still roll back (taking the rev back
        // to the one memory claims), so mark memory as unverified: the next
        // refreshIfStale reloads whatever the transaction's fate.
        const result = fn();
        this.#pending = null;
        this.#applyAll(pending);
        this.#rev = STALE;
        return result;
      }
      let inSync = false;
      let endRev = -1;
      const result = this.#table.write(() => {
        // Read under the write lock: if the rev moved since we last looked,
        // another process wrote and memory would miss it, so we must not
        // adopt the new rev (the next search reloads instead).
        inSync = this.#table.rev() === this.#rev;
        const value = fn();
        endRev = this.#table.rev();
        return value;
      });
      this.#pending = null;
      this.#applyAll(pending);
      if (inSync) this.#rev = endRev;
      return result;
    } finally {
      this.#pending = null;
    }
  }

  /**
   * The `k` vectors most similar to `query` among agents whose status is in
   * `options.status` (default `"active"`), best first; equal scores are
   * ordered by agent id. Reloads first if another connection changed vectors.
   * A zero query scores every vector 0.
   */
  search(query: Float32Array | number[], k: number, options: SearchOptions = {}): VectorHit[] {
    this.refreshIfStale();
    this.#slab.setQuery(this.#normalise(query, "the query vector"));
    const count = this.#slab.count;
    if (!(k >= 1) || count === 0) return [];
    const allowed = this.#statusFilter(options.status ?? "active");
    if (!allowed) return [];
    const exclude = options.exclude !== undefined && options.exclude.size > 0
      ? options.exclude
      : null;
    return this.#topK.select(this.#slab, Math.min(Math.floor(k), count), { allowed, exclude });
  }

  /**
   * Reloads everything if `store_meta.vectors_rev` differs from the revision
   * memory reflects (another connection wrote). One indexed single-row read
   * when nothing changed. Returns whether it reloaded.
   */
  refreshIfStale(): boolean {
    if (this.#table.rev() === this.#rev) return false;
    this.reload();
    return true;
  }

  /** Drops memory and loads every row again. */
  reload(): void {
    this.#load();
    this.reloads++;
  }

  /** Status filter as a lookup table indexed by status code; null when no status is known. */
  #statusFilter(wanted: string | string[]): Uint8Array | null {
    const codes = this.#slab.statusCode;
    const allowed = new Uint8Array(codes.size + 1);
    let any = false;
    for (const name of typeof wanted === "string" ? [wanted] : wanted) {
      const code = codes.get(name);
      if (code === undefined) continue;
      allowed[code] = 1;
      any = true;
    }
    return any ? allowed : null;
  }

  /** Loads the whole table; the rev and the rows come from one read snapshot. */
  #load(): void {
    const slab = this.#slab;
    try {
      this.#table.snapshot(() => {
        const rev = this.#table.rev();
        const total = this.#table.count();
        slab.clear();
        this.skippedWrongDim = 0;
        this.skippedCorrupt = 0;
        slab.ensureCapacity(total);
        const bytesPerRow = this.dim * 4;
        for (const rows of this.#table.pages()) {
          for (const [, id, dim, blob, status] of rows) {
            if (Number(dim) !== this.dim) {
              this.skippedWrongDim++;
            } else if (!(blob instanceof Uint8Array) || blob.byteLength !== bytesPerRow) {
              this.skippedCorrupt++;
            } else if (!slab.appendStored(id, blob, status)) {
              this.skippedCorrupt++;
            }
          }
        }
        this.#rev = rev;
      });
    } catch (error) {
      this.#rev = STALE; // memory is partial: force a reload next time
      throw error;
    }
  }

  /** Inside `write()`: the SQL half of an upsert; memory follows after COMMIT. */
  #upsertRow(agentId: string, normalised: Float32Array): void {
    const status = this.#table.agentStatus(agentId);
    if (status === undefined) {
      throw new ClosedClawError(
        "agent_not_found",
        `Cannot store a vector for agent ${agentId}: there is no such agent.`,
        { hint: "Insert the agents row first (agent_vectors references agents)." },
      );
    }
    const blob = new Uint8Array(normalised.buffer, normalised.byteOffset, normalised.byteLength);
    this.#table.upsert(agentId, this.dim, blob);
    this.#pending!.push({ kind: "upsert", agentId, vector: normalised, status });
  }

  #applyAll(ops: MemoryOp[]): void {
    const slab = this.#slab;
    for (const op of ops) {
      if (op.kind === "upsert") slab.upsert(op.agentId, op.vector, op.status);
      else if (op.kind === "remove") slab.remove(op.agentId);
      else slab.setStatus(op.agentId, op.status);
    }
  }

  /** Validates and normalises in float64; a zero vector stays zero (never NaN). */
  #normalise(vector: Float32Array | number[], what: string): Float32Array {
    if (vector.length !== this.dim) {
      throw new ClosedClawError(
        "vector_dim_mismatch",
        `${capitalise(what)} has ${vector.length} dimensions; this index holds ${this.dim}.`,
        { hint: "Use the same embedding model for agents and queries, or re-embed the agents." },
      );
    }
    let sum = 0;
    for (let i = 0; i < this.dim; i++) sum += vector[i] * vector[i];
    if (!Number.isFinite(sum)) {
      throw new ClosedClawError("vector_invalid", `${capitalise(what)} contains NaN or Infinity.`);
    }
    const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    const out = new Float32Array(this.dim);
    for (let i = 0; i < this.dim; i++) out[i] = vector[i] * scale;
    return out;
  }
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
