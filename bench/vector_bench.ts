/**
 * VectorIndex benchmarks, 384-dim (all-MiniLM-sized) vectors from a seeded PRNG:
 *
 *   deno bench -A bench/vector_bench.ts     # Deno's table (avg, p75, p99)
 *   deno run -A bench/vector_bench.ts       # medians, plus load and insert times
 *
 * The 10k and 100k databases are built once per process in a temp dir, not
 * per iteration; only the 10k-insert case builds a fresh database each time.
 */
import { join } from "node:path";
import { type DatabaseSync, nowIso, openDatabase } from "../store/db.ts";
import { migrate } from "../store/migrations.ts";
import { AgentsRepo } from "../store/agents_repo.ts";
import type { AgentRecord } from "../store/agent_record.ts";
import { VectorIndex } from "../store/vector_index.ts";

const DIM = 384;
const QUERIES = 64;

function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(384);
function randomVector(): Float32Array {
  const v = new Float32Array(DIM);
  for (let i = 0; i < DIM; i++) v[i] = random() * 2 - 1;
  return v;
}

const dir = Deno.makeTempDirSync({ prefix: "vector_bench_" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

let dbCount = 0;
/** A fresh migrated database with `n` agents rows (no vectors yet). */
function freshDb(n: number): { db: DatabaseSync; entries: Array<[string, Float32Array]> } {
  const db = openDatabase(join(dir, `bench_${dbCount++}.db`));
  migrate(db);
  const entries: Array<[string, Float32Array]> = [];
  for (let i = 0; i < n; i++) {
    entries.push([`agent-${String(i).padStart(6, "0")}`, randomVector()]);
  }
  const now = nowIso();
  new AgentsRepo(db).upsertMany(entries.map(([id, vector]) => benchAgent(id, vector, now)));
  return { db, entries };
}

/** An agents row with only what the index needs: an id, a dimension, the default status. */
function benchAgent(id: string, vector: Float32Array, now: string): AgentRecord {
  return {
    agent_id: id,
    name: id,
    description: "bench",
    embedding_model: "bench",
    embedding_vector: vector,
    tools_allowlist: [],
    tags: [],
    api_capabilities: [],
    requires_approval_for: [],
    skill_ids: [],
    permissions: {
      read_roots: [],
      write_roots: [],
      network_hosts: [],
      file_write: false,
      sql_paths: [],
    },
    version: "1",
    created_at: now,
    last_used_at: null,
    usage_count: 0,
    success_count: 0,
    failure_count: 0,
    success_rate: 0,
    avg_latency_ms: null,
    status: "active",
    genome_json: "{}",
    lineage_json: "{}",
    fitness_score: 0,
  };
}

function indexOf(n: number): { db: DatabaseSync; index: VectorIndex } {
  const { db, entries } = freshDb(n);
  const index = new VectorIndex(db, DIM);
  index.upsertMany(entries);
  return { db, index };
}

const small = indexOf(10_000);
const large = indexOf(100_000);
const queries = Array.from({ length: QUERIES }, randomVector);
let q = 0;

function median(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function timeMs(fn: () => void, runs: number, warmup = 5): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  return median(times);
}

if (import.meta.main) {
  const fmt = (ms: number) => `${ms.toFixed(2)} ms`;
  console.log(
    `top-10 over 10k:   median ${
      fmt(timeMs(() => small.index.search(queries[q++ % QUERIES], 10), 200))
    }`,
  );
  console.log(
    `top-10 over 100k:  median ${
      fmt(timeMs(() => large.index.search(queries[q++ % QUERIES], 10), 60))
    }`,
  );
  console.log(
    `load 100k rows:    median ${fmt(timeMs(() => new VectorIndex(large.db, DIM), 5, 1))}`,
  );
  const inserts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const { db, entries } = freshDb(10_000);
    const index = new VectorIndex(db, DIM);
    const start = performance.now();
    index.upsertMany(entries);
    inserts.push(performance.now() - start);
    db.close();
  }
  console.log(`insert 10k (upsertMany, fresh DB): median ${fmt(median(inserts))}`);
} else {
  Deno.bench("top-10 over 10k x 384", { group: "search" }, () => {
    small.index.search(queries[q++ % QUERIES], 10);
  });
  Deno.bench("top-10 over 100k x 384", { group: "search" }, () => {
    large.index.search(queries[q++ % QUERIES], 10);
  });
  Deno.bench("load 100k rows into a new index", { n: 5, warmup: 1 }, () => {
    new VectorIndex(large.db, DIM);
  });
  Deno.bench("insert 10k x 384 (upsertMany, fresh DB)", { n: 5, warmup: 1 }, (b) => {
    const { db, entries } = freshDb(10_000);
    const index = new VectorIndex(db, DIM);
    b.start();
    index.upsertMany(entries);
    b.end();
    db.close();
  });
}
