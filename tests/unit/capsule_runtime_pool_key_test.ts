import assert from "node:assert/strict";
import { buildLaunchPlan, resolvePermissions } from "../../capsule_runtime/launcher.ts";
import { type Manifest, parseManifest } from "../../capsule_runtime/manifest.ts";
import {
  CapsulePool,
  MAX_SUBTASKS_PER_PROCESS,
  poolKey,
} from "../../capsule_runtime/capsule_pool.ts";
import type { CapsuleProcess } from "../../capsule_runtime/supervisor.ts";

function manifest(extra: Record<string, unknown> = {}): Manifest {
  return parseManifest({
    agent_id: "worker-1a2b",
    name: "Worker",
    created_at: "2026-01-01T00:00:00Z",
    tools_allowlist: ["file_io"],
    permissions: { read_roots: ["."], write_roots: [], file_write: false },
    ...extra,
  });
}

function plan(m: Manifest, workspace = "/ws") {
  return buildLaunchPlan({
    manifest: m,
    permissions: resolvePermissions(m, workspace, [workspace]),
    capsuleDir: "/data/agents/worker-1a2b",
    homeDir: "/data",
    agentsDir: "/data/agents",
    secretPaths: [],
    workspace,
    denoPath: "/usr/bin/deno",
    guestEntry: "/src/guest/main.ts",
    guestSources: [],
    denoDir: "/data/deno_cache",
    bwrapPath: "",
    systemPaths: [],
    etcPaths: [],
    allowUnsandboxedExec: false,
  });
}

Deno.test("a pool key is the same only for the same command line, env, folder and manifest", () => {
  const m = manifest();
  const key = poolKey(plan(m), m);
  // Built again from the same inputs, and with the manifest's keys in another order: equal.
  const reordered = Object.fromEntries(Object.entries(m).reverse()) as Manifest;
  assert.equal(poolKey(plan(m), reordered), key);
  // Another workspace changes the command line (roots, cwd).
  assert.notEqual(poolKey(plan(m, "/other"), m), key);
  // Another manifest with the very same command line is another key.
  const described = manifest({ description: "edited" });
  assert.deepEqual(plan(described).args, plan(m).args);
  assert.notEqual(poolKey(plan(described), described), key);
  // One more flag, one more variable, another folder: another key each.
  const p = plan(m);
  assert.notEqual(poolKey({ ...p, args: [...p.args, "--allow-net"] }, m), key);
  assert.notEqual(poolKey({ ...p, env: { ...p.env, EXTRA: "1" } }, m), key);
  assert.notEqual(poolKey({ ...p, cwd: "/" }, m), key);
  // Nested objects compare by content, whatever their key order; arrays by order.
  const nested = { ...m, permissions: Object.fromEntries(Object.entries(m.permissions).reverse()) };
  assert.equal(poolKey(p, nested as Manifest), key);
  assert.notEqual(poolKey(p, { ...m, api_capabilities: [...m.api_capabilities, "x"] }), key);
  // The embedding vector is left out: only routing reads it, no capsule sees it.
  assert.equal(poolKey(p, { ...m, embedding_vector: [...m.embedding_vector, 0.5] }), key);
  assert.notEqual(poolKey(p, { ...m, tags: [...m.tags].reverse().concat("x") }), key);
});

Deno.test("a capsule that may start programs is never kept for another subtask", () => {
  const m = manifest();
  const p = plan(m);
  const killed: string[] = [];
  const proc = {
    pid: 1,
    killed: false,
    status: new Promise(() => {}),
    quiet() {},
    readAhead() {},
    kill: (reason: string) => void killed.push(reason),
  } as unknown as CapsuleProcess;
  const pool = new CapsulePool();
  try {
    assert.equal(
      pool.keep({ ...p, args: [...p.args, "--allow-run=python3"] }, m, "/ws", proc),
      false,
    );
    assert.equal(pool.keep({ ...p, args: [...p.args, "--allow-run"] }, m, "/ws", proc), false);
    assert.equal(pool.size, 0);
    // The same plan without it is kept.
    assert.equal(pool.keep(p, m, "/ws", proc), true);
    assert.equal(pool.size, 1);
  } finally {
    pool.close("test over");
  }
  assert.deepEqual(killed, ["test over"]);
});

Deno.test("a capsule process is retired after its share of subtasks (its CPU limit counts for its whole life)", async () => {
  const m = manifest();
  const p = plan(m);
  const proc = {
    pid: 1,
    killed: false,
    served: 0,
    status: new Promise(() => {}),
    quiet() {},
    readAhead() {},
    kill() {},
  } as unknown as CapsuleProcess;
  const pool = new CapsulePool();
  try {
    for (let i = 1; i < MAX_SUBTASKS_PER_PROCESS; i++) {
      assert.equal(pool.keep(p, m, "/ws", proc), true, `kept after subtask ${i}`);
      assert.equal((await pool.take(p, m))?.proc, proc);
    }
    assert.equal(pool.keep(p, m, "/ws", proc), false, "not after the last one");
  } finally {
    pool.close("test over");
  }
});
