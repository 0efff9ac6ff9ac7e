import assert from "node:assert/strict";
import { join } from "node:path";
import { type DatabaseSync, nowIso, openDatabase } from "../../store/db.ts";
import { migrate } from "../../store/migrations.ts";
import { type VectorHit, VectorIndex } from "../../store/vector_index.ts";

/** Mulberry32: a seeded PRNG so failures reproduce. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomVector(random: () => number, dim: number): Float32Array {
  const v = new Float32Array(dim);
  for (let i = 0; i < dim; i++) v[i] = random() * 2 - 1;
  return v;
}

interface TempDb {
  path: string;
  db: DatabaseSync;
  close(): void;
}

function tempDb(): TempDb {
  const dir = Deno.makeTempDirSync({ prefix: "vector_index_test_" });
  const path = join(dir, "store.db");
  const db = openDatabase(path);
  migrate(db);
  return {
    path,
    db,
    close() {
      db.close();
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

function insertAgent(db: DatabaseSync, agentId: string, status = "active", dim = 8): void {
  db.prepare(
    `INSERT INTO agents (agent_id, name, description, embedding_model, embedding_dim, version,
       created_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(agentId, agentId, "test agent", "test-model", dim, "1", nowIso(), status);
}

/** The model the index must agree with: every vector and status, scored in float64. */
class Reference {
  vectors = new Map<string, Float32Array>();
  statuses = new Map<string, string>();

  top(
    query: ArrayLike<number>,
    k: number,
    statuses: string[] = ["active"],
    exclude = new Set<string>(),
  ): VectorHit[] {
    const q = unit(query);
    const hits: VectorHit[] = [];
    for (const [agentId, vector] of this.vectors) {
      if (!statuses.includes(this.statuses.get(agentId)!) || exclude.has(agentId)) continue;
      const v = unit(vector);
      let score = 0;
      for (let i = 0; i < v.length; i++) score += v[i] * q[i];
      hits.push({ agentId, score });
    }
    hits.sort((a, b) => b.score - a.score || (a.agentId < b.agentId ? -1 : 1));
    return hits.slice(0, k);
  }
}

function unit(v: ArrayLike<number>): number[] {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i] * v[i];
  const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0;
  return Array.from(v, (x) => x * scale);
}

function assertSameHits(actual: VectorHit[], expected: VectorHit[], label: string): void {
  assert.deepEqual(actual.map((h) => h.agentId), expected.map((h) => h.agentId), label);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i].score - expected[i].score) < 1e-5, `${label}: score ${i}`);
  }
}

for (const kernel of ["wasm", "js"] as const) {
  for (const dim of [37, 384]) {
    Deno.test(`VectorIndex (${kernel}, dim ${dim}): top-k equals brute force through inserts, updates and deletes`, () => {
      const t = tempDb();
      try {
        const random = prng(dim * 7 + (kernel === "js" ? 1 : 0));
        const index = new VectorIndex(t.db, dim, { kernel });
        const ref = new Reference();
        const statuses = ["active", "active", "active", "degraded", "retired"];
        const n = 700;
        for (let i = 0; i < n; i++) {
          const id = `agent-${String(i).padStart(4, "0")}`;
          const status = statuses[Math.floor(random() * statuses.length)];
          insertAgent(t.db, id, status, dim);
          ref.statuses.set(id, status);
        }
        // Half one by one (grows past the initial capacity), half in one batch.
        const ids = [...ref.statuses.keys()];
        const batch: Array<[string, Float32Array]> = [];
        for (const [i, id] of ids.entries()) {
          const v = randomVector(random, dim);
          ref.vectors.set(id, v);
          if (i % 2 === 0) index.upsert(id, v);
          else batch.push([id, v]);
        }
        index.upsertMany(batch);
        assert.equal(index.size, n);

        const check = (label: string, target: VectorIndex = index) => {
          for (let trial = 0; trial < 5; trial++) {
            const q = randomVector(random, dim);
            for (const k of [1, 3, 10, 64, 1000]) {
              assertSameHits(target.search(q, k), ref.top(q, k), `${label} k=${k}`);
            }
            const all = ["active", "degraded", "retired"];
            assertSameHits(
              target.search(q, 10, { status: all }),
              ref.top(q, 10, all),
              `${label} all`,
            );
            const exclude = new Set(ref.top(q, 3).map((h) => h.agentId));
            assertSameHits(
              target.search(q, 10, { exclude }),
              ref.top(q, 10, ["active"], exclude),
              `${label} exclude`,
            );
          }
        };
        check("after inserts");

        for (let i = 0; i < 150; i++) {
          const id = ids[Math.floor(random() * ids.length)];
          if (!ref.vectors.has(id)) continue;
          const v = randomVector(random, dim);
          ref.vectors.set(id, v);
          index.upsert(id, v);
        }
        check("after updates");

        for (let i = 0; i < 200; i++) {
          const id = ids[Math.floor(random() * ids.length)];
          const existed = ref.vectors.delete(id);
          assert.equal(index.remove(id), existed);
        }
        assert.equal(index.size, ref.vectors.size);
        check("after deletes");
        assert.equal(index.reloads, 0, "own writes never reload");

        // What was written to SQLite loads back to the same answers.
        const fresh = new VectorIndex(t.db, dim, { kernel });
        assert.equal(fresh.size, ref.vectors.size);
        check("fresh load", fresh);
      } finally {
        t.close();
      }
    });
  }
}

Deno.test("VectorIndex: status filter excludes degraded agents unless asked", () => {
  const t = tempDb();
  try {
    insertAgent(t.db, "good");
    insertAgent(t.db, "bad", "degraded");
    const index = new VectorIndex(t.db, 8);
    index.upsert("good", [1, 0, 0, 0, 0, 0, 0, 0]);
    index.upsert("bad", [1, 1, 0, 0, 0, 0, 0, 0]);
    const q = [1, 0.9, 0, 0, 0, 0, 0, 0];
    assert.deepEqual(index.search(q, 5).map((h) => h.agentId), ["good"]);
    assert.deepEqual(index.search(q, 5, { status: "degraded" }).map((h) => h.agentId), ["bad"]);
    assert.deepEqual(
      index.search(q, 5, { status: ["active", "degraded"] }).map((h) => h.agentId),
      ["bad", "good"],
    );
    assert.deepEqual(index.search(q, 5, { status: "unknown" }), []);

    // A status change made inside the index's own transaction does not reload.
    index.write(() => {
      t.db.prepare("UPDATE agents SET status = 'active' WHERE agent_id = 'bad'").run();
      index.setStatus("bad", "active");
    });
    assert.deepEqual(index.search(q, 5).map((h) => h.agentId), ["bad", "good"]);
    assert.equal(index.reloads, 0);

    // One made behind its back is picked up by the reload the trigger causes.
    t.db.prepare("UPDATE agents SET status = 'degraded' WHERE agent_id = 'good'").run();
    assert.deepEqual(index.search(q, 5).map((h) => h.agentId), ["bad"]);
    assert.equal(index.reloads, 1);

    // setStatus alone is memory-only.
    assert.equal(index.setStatus("good", "active"), true);
    assert.equal(index.setStatus("nobody", "active"), false);
    assert.deepEqual(index.search(q, 5).map((h) => h.agentId), ["bad", "good"]);
  } finally {
    t.close();
  }
});

Deno.test("VectorIndex: deleting an agents row cascades and the index drops it", () => {
  const t = tempDb();
  try {
    insertAgent(t.db, "a");
    insertAgent(t.db, "b");
    const index = new VectorIndex(t.db, 8);
    index.upsert("a", [1, 0, 0, 0, 0, 0, 0, 0]);
    index.upsert("b", [0, 1, 0, 0, 0, 0, 0, 0]);
    assert.equal(index.refreshIfStale(), false);
    t.db.prepare("DELETE FROM agents WHERE agent_id = 'a'").run();
    const left = t.db.prepare("SELECT count(*) AS n FROM agent_vectors").get() as { n: number };
    assert.equal(left.n, 1, "the vector row cascaded away");
    assert.equal(index.refreshIfStale(), true);
    assert.equal(index.has("a"), false);
    assert.equal(index.size, 1);
    assert.deepEqual(index.search([1, 0, 0, 0, 0, 0, 0, 0], 5).map((h) => h.agentId), ["b"]);
  } finally {
    t.close();
  }
});

Deno.test("VectorIndex: a second connection sees the first one's writes via refreshIfStale", () => {
  const t = tempDb();
  const other = openDatabase(t.path);
  try {
    insertAgent(t.db, "a");
    insertAgent(t.db, "b");
    const first = new VectorIndex(t.db, 8);
    const second = new VectorIndex(other, 8);
    assert.equal(second.size, 0);

    first.upsert("a", [1, 0, 0, 0, 0, 0, 0, 0]);
    const hits = second.search([1, 0, 0, 0, 0, 0, 0, 0], 5);
    assert.deepEqual(hits.map((h) => h.agentId), ["a"]);
    assert.equal(second.reloads, 1);
    assert.equal(second.refreshIfStale(), false, "nothing changed since");

    // The second writes while the first is behind: the first must not adopt
    // the new rev on its next own write, and must reload to see both.
    second.upsert("b", [0, 1, 0, 0, 0, 0, 0, 0]);
    first.remove("a");
    assert.equal(first.reloads, 0);
    assert.deepEqual(first.search([0, 1, 0, 0, 0, 0, 0, 0], 5).map((h) => h.agentId), ["b"]);
    assert.equal(first.reloads, 1);
    assert.deepEqual(second.search([1, 0, 0, 0, 0, 0, 0, 0], 5).map((h) => h.agentId), ["b"]);
    assert.equal(second.reloads, 2);
  } finally {
    other.close();
    t.close();
  }
});

Deno.test("VectorIndex: own writes do not trigger a reload", () => {
  const t = tempDb();
  try {
    for (const id of ["a", "b", "c"]) insertAgent(t.db, id);
    const index = new VectorIndex(t.db, 8);
    index.upsert("a", [1, 2, 3, 4, 5, 6, 7, 8]);
    index.upsertMany([["b", new Float32Array(8).fill(1)], ["c", new Float32Array(8).fill(-1)]]);
    index.upsert("a", [8, 7, 6, 5, 4, 3, 2, 1]);
    index.remove("c");
    index.remove("missing");
    assert.equal(index.refreshIfStale(), false);
    index.search(new Float32Array(8).fill(1), 3);
    assert.equal(index.reloads, 0);
    assert.equal(index.size, 2);
  } finally {
    t.close();
  }
});

Deno.test("VectorIndex: failed writes change neither SQLite nor memory", () => {
  const t = tempDb();
  try {
    insertAgent(t.db, "a");
    const index = new VectorIndex(t.db, 8);
    const one = new Float32Array(8).fill(1);
    assert.throws(
      () => index.upsertMany([["a", one], ["ghost", one]]),
      (e: Error & { code?: string }) => e.code === "agent_not_found",
    );
    assert.throws(() =>
      index.write(() => {
        index.upsert("a", one);
        throw new Error("abort");
      }), /abort/);
    assert.equal(index.size, 0);
    const rows = t.db.prepare("SELECT count(*) AS n FROM agent_vectors").get() as { n: number };
    assert.equal(rows.n, 0);
    assert.equal(index.refreshIfStale(), false, "rolled-back writes leave the rev alone");
  } finally {
    t.close();
  }
});

Deno.test("VectorIndex: writes inside someone else's transaction reload afterwards", () => {
  const t = tempDb();
  try {
    insertAgent(t.db, "a");
    const index = new VectorIndex(t.db, 8);
    t.db.exec("BEGIN");
    index.upsert("a", new Float32Array(8).fill(1));
    assert.equal(index.has("a"), true);
    t.db.exec("ROLLBACK");
    assert.equal(index.refreshIfStale(), true, "memory is re-checked against the database");
    assert.equal(index.has("a"), false);
  } finally {
    t.close();
  }
});

Deno.test("VectorIndex: dimension mismatches throw; rows of another dim are skipped at load", () => {
  const t = tempDb();
  try {
    insertAgent(t.db, "a");
    insertAgent(t.db, "small", "active", 4);
    const index = new VectorIndex(t.db, 8);
    const isMismatch = (e: Error & { code?: string }) =>
      e.code === "vector_dim_mismatch" && /has 4 dimensions; this index holds 8/.test(e.message);
    assert.throws(() => index.upsert("a", [1, 2, 3, 4]), isMismatch);
    assert.throws(() => index.search([1, 2, 3, 4], 3), isMismatch);
    assert.throws(() => index.upsert("a", [1, 2, 3, 4, 5, 6, 7, NaN]), /NaN or Infinity/);

    // Another component stored a 4-dim vector: it is counted, not indexed.
    const small = new Float32Array([1, 0, 0, 0]);
    t.db.prepare("INSERT INTO agent_vectors (agent_id, dim, vector) VALUES (?, ?, ?)")
      .run("small", 4, new Uint8Array(small.buffer));
    index.upsert("a", [1, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(index.refreshIfStale(), true);
    assert.equal(index.size, 1);
    assert.equal(index.skippedWrongDim, 1);
    assert.deepEqual(index.search([1, 0, 0, 0, 0, 0, 0, 0], 5).map((h) => h.agentId), ["a"]);
    assert.throws(() => new VectorIndex(t.db, 0), /positive integer/);
  } finally {
    t.close();
  }
});

Deno.test("VectorIndex: zero vectors score 0, never NaN; ties order by agent id", () => {
  const t = tempDb();
  try {
    for (const id of ["c", "a", "b", "zero"]) insertAgent(t.db, id);
    const index = new VectorIndex(t.db, 8);
    index.upsert("zero", new Float32Array(8));
    const same = [0, 0, 3, 4, 0, 0, 0, 0];
    for (const id of ["c", "a", "b"]) index.upsert(id, same);

    const hits = index.search(same, 10);
    assert.deepEqual(hits.map((h) => h.agentId), ["a", "b", "c", "zero"]);
    assert.ok(Math.abs(hits[0].score - 1) < 1e-6);
    assert.equal(hits[3].score, 0);

    const zeroQuery = index.search(new Float32Array(8), 2);
    assert.deepEqual(zeroQuery, [{ agentId: "a", score: 0 }, { agentId: "b", score: 0 }]);

    // Ties at the selection boundary keep the lowest ids.
    assert.deepEqual(index.search(same, 2).map((h) => h.agentId), ["a", "b"]);
    assert.deepEqual(index.search(same, 0), []);
    // Stored BLOBs are the normalised float32 vector.
    const row = t.db.prepare("SELECT vector FROM agent_vectors WHERE agent_id = 'a'").get() as {
      vector: Uint8Array;
    };
    const stored = new Float32Array(row.vector.slice().buffer);
    assert.deepEqual(Array.from(stored), [0, 0, 0.6000000238418579, 0.800000011920929, 0, 0, 0, 0]);
  } finally {
    t.close();
  }
});
