import assert from "node:assert/strict";
import {
  buildLaunchPlan,
  DENIED_NETWORKS,
  type LaunchInput,
  resolvePermissions,
} from "../../capsule_runtime/launcher.ts";
import { parseManifest } from "../../capsule_runtime/manifest.ts";

function input(extra: Partial<LaunchInput> = {}): LaunchInput {
  const manifest = parseManifest({
    agent_id: "worker-1a2b",
    name: "Worker",
    created_at: "2026-01-01T00:00:00Z",
    tools_allowlist: ["file_io", "terminal", "http_api"],
  });
  return {
    manifest,
    permissions: resolvePermissions(manifest, "/ws", ["/ws"]),
    capsuleDir: "/data/agents/worker-1a2b",
    homeDir: "/data",
    agentsDir: "/data/agents",
    secretPaths: [],
    workspace: "/ws",
    denoPath: "/usr/bin/deno",
    guestEntry: "/src/guest/main.ts",
    guestSources: [],
    denoDir: "/data/deno_cache",
    bwrapPath: "/usr/bin/bwrap",
    systemPaths: [],
    etcPaths: [],
    allowUnsandboxedExec: false,
    ...extra,
  };
}

Deno.test("escaping symlinks are denied by their own path", () => {
  const plan = buildLaunchPlan(input({ escapingSymlinks: ["/ws/link_home"] }));
  assert.ok(plan.deniedPaths.includes("/ws/link_home"));
  const denyRead = plan.denoFlags.find((f) => f.startsWith("--deny-read="))!;
  assert.ok(denyRead.split("=")[1].split(",").includes("/ws/link_home"));
});

Deno.test("inside bubblewrap nothing of the data folder is visible, not even the capsule's own folder", () => {
  const plan = buildLaunchPlan(input());
  const args = plan.args.slice(0, plan.args.indexOf("--")).join(" "); // bubblewrap's own part
  assert.ok(args.includes("--tmpfs /data"));
  assert.ok(!plan.args.includes("/data/agents/worker-1a2b"));
  for (const name of ["manifest.json", "skill.md", "memory.db"]) {
    assert.ok(!args.includes(`/data/agents/worker-1a2b/${name}`), name);
  }
  // Only Deno's cache is shown again, read-only, after the data folder is hidden.
  assert.ok(plan.args.indexOf("/data/deno_cache") > plan.args.indexOf("/data"));
});

Deno.test("--deny-net holds only forms Deno 2.9 accepts (no IPv6 CIDR ranges)", () => {
  for (const net of DENIED_NETWORKS) {
    assert.ok(!(net.startsWith("[") && net.includes("/")), net);
  }
});
