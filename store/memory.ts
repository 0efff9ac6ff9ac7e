/**
 * A capsule's episodic memory (`<capsule>/memory.db`). The host reads recent
 * and relevant memories back into the agent's prompt and writes what the agent
 * reports at the end of a run, so memory is read as well as written.
 */
import type { DatabaseSync } from "node:sqlite";
import { openDatabase, transaction } from "./db.ts";
import { migrate } from "./migrations.ts";

const MEMORY_MIGRATIONS = [
  `CREATE TABLE memories (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     session_id TEXT,
     run_id TEXT,
     kind TEXT NOT NULL DEFAULT 'episodic',
     content TEXT NOT NULL,
     embedding BLOB,
     created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
   );
   CREATE INDEX memories_created ON memories(id DESC);`,
];

export interface MemoryEntry {
  id: number;
  session_id: string | null;
  run_id: string | null;
  kind: string;
  content: string;
  created_at: string;
  /** Cosine similarity to the query, for `relevant()` results. */
  score?: number;
}

export class MemoryStore {
  private constructor(private readonly db: DatabaseSync) {}

  static open(path: string): MemoryStore {
    const db = openDatabase(path);
    migrate(db, MEMORY_MIGRATIONS);
    return new MemoryStore(db);
  }

  add(entry: {
    content: string;
    kind?: string;
    sessionId?: string | null;
    runId?: string | null;
    embedding?: Float32Array;
  }): number {
    const blob = entry.embedding ? new Uint8Array(entry.embedding.slice().buffer) : null;
    const info = this.db.prepare(
      "INSERT INTO memories (session_id, run_id, kind, content, embedding) VALUES (?,?,?,?,?)",
    ).run(
      entry.sessionId ?? null,
      entry.runId ?? null,
      entry.kind ?? "episodic",
      entry.content,
      blob,
    );
    return Number(info.lastInsertRowid);
  }

  /** Adds several entries atomically. */
  addMany(entries: Parameters<MemoryStore["add"]>[0][]): void {
    transaction(this.db, () => entries.forEach((e) => this.add(e)));
  }

  /**
   * Adds entries in one transaction, each replacing any entry among the newest
   * `within` that has exactly its content (so it is stored once, as the newest).
   */
  replaceRecent(entries: Parameters<MemoryStore["add"]>[0][], within = 50): void {
    transaction(this.db, () => {
      for (const entry of entries) {
        this.removeRecent(entry.content, within);
        this.add(entry);
      }
    });
  }

  /** Removes the entries among the newest `within` that have exactly this content; how many. */
  removeRecent(content: string, within = 50): number {
    const info = this.db.prepare(
      "DELETE FROM memories WHERE content = ? AND id IN (SELECT id FROM memories ORDER BY id DESC LIMIT ?)",
    ).run(content, within);
    return Number(info.changes);
  }

  /** The newest `limit` entries, newest first. */
  recent(limit = 5): MemoryEntry[] {
    return this.db.prepare(
      "SELECT id, session_id, run_id, kind, content, created_at FROM memories ORDER BY id DESC LIMIT ?",
    ).all(limit) as unknown as MemoryEntry[];
  }

  /**
   * The `limit` entries most similar to `query` (a normalised vector of the
   * same embedder), skipping entries without an embedding of that length.
   */
  relevant(query: Float32Array, limit = 5, minScore = 0.15): MemoryEntry[] {
    const rows = this.db.prepare(
      "SELECT id, session_id, run_id, kind, content, created_at, embedding FROM memories WHERE embedding IS NOT NULL ORDER BY id DESC LIMIT 5000",
    ).all() as unknown as (MemoryEntry & { embedding: Uint8Array })[];
    const scored: MemoryEntry[] = [];
    for (const { embedding, ...row } of rows) {
      if (embedding.byteLength !== query.length * 4) continue;
      const vec = new Float32Array(embedding.slice().buffer);
      let dot = 0;
      for (let i = 0; i < vec.length; i++) dot += vec[i] * query[i];
      if (dot >= minScore) scored.push({ ...row, score: dot });
    }
    return scored.sort((a, b) => b.score! - a.score!).slice(0, limit);
  }

  /** Every entry, oldest first, with its embedding (for folding one agent's memory into another's). */
  all(): (MemoryEntry & { embedding?: Float32Array })[] {
    const rows = this.db.prepare(
      "SELECT id, session_id, run_id, kind, content, created_at, embedding FROM memories ORDER BY id",
    ).all() as unknown as (MemoryEntry & { embedding: Uint8Array | null })[];
    return rows.map(({ embedding, ...row }) =>
      embedding ? { ...row, embedding: new Float32Array(embedding.slice().buffer) } : row
    );
  }

  count(): number {
    return Number((this.db.prepare("SELECT COUNT(*) AS n FROM memories").get() as { n: number }).n);
  }

  close(): void {
    this.db.close();
  }
}
