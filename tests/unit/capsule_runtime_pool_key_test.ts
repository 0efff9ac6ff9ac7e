import assert from "node:assert/strict";
import { buildLaunchPlan, resolvePermissions } from "../../capsule_runtime/launcher.ts";
import { type Manifest, parseManifest } from "../../capsule_runtime/manifest.ts";
import { poolKey } from "../../capsule_runtime/capsule_pool.ts";

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
});
