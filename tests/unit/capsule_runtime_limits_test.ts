import assert from "node:assert/strict";
import { buildLaunchPlan, resolvePermissions } from "../../capsule_runtime/launcher.ts";
import {
  breachMessage,
  breachOf,
  DEFAULT_LIMITS,
  effectiveLimits,
  liveBreach,
  prlimitOptions,
} from "../../capsule_runtime/limits.ts";
import { parseManifest } from "../../capsule_runtime/manifest.ts";
import { programSandboxArgs } from "../../capsule_runtime/program_sandbox.ts";

const MIB = 1024 * 1024;

function manifest(limits?: Record<string, unknown>) {
  return parseManifest({
    agent_id: "worker-1a2b",
    name: "Worker",
    created_at: "2026-01-01T00:00:00Z",
    tools_allowlist: ["terminal"],
    ...(limits ? { limits } : {}),
  });
}

Deno.test("manifest limits: absent means the defaults; a partial object fills in the rest", () => {
  assert.equal(manifest().limits, undefined);
  assert.deepEqual(effectiveLimits(manifest()), DEFAULT_LIMITS);
  const some = effectiveLimits(manifest({ cpu_seconds: 5, processes: 32 }));
  assert.equal(some.cpu_seconds, 5);
  assert.equal(some.processes, 32);
  assert.equal(some.memory_mb, 1024);
  assert.equal(some.guest_memory_mb, 768);
});

Deno.test("manifest limits: out-of-range, fractional and unknown fields are refused", () => {
  for (const bad of [{ processes: 0 }, { cpu_seconds: 1.5 }, { memory_mb: 1e9 }, { swap_mb: 1 }]) {
    assert.throws(() => manifest(bad), JSON.stringify(bad));
  }
});

Deno.test("prlimit options: programs get RLIMIT_AS, the guest RLIMIT_DATA; nproc only when asked", () => {
  const program = prlimitOptions(DEFAULT_LIMITS, "program", true);
  assert.deepEqual(program, [
    `--as=${1024 * MIB}`,
    "--nproc=256",
    "--cpu=120:122",
    `--fsize=${256 * MIB}`,
    "--nofile=512",
    "--core=0",
  ]);
  const guest = prlimitOptions(DEFAULT_LIMITS, "guest", false);
  assert.ok(guest.includes(`--data=${(768 + 1024) * MIB}`), guest.join(" "));
  assert.ok(!guest.some((o) => o.startsWith("--as") || o.startsWith("--nproc")));
  assert.ok(guest.includes("--cpu=600:602"));
});

Deno.test("breaches are named from the exit status and stderr", () => {
  assert.equal(breachOf(0, "MemoryError"), null, "a program that succeeded breached nothing");
  assert.equal(breachOf(152, ""), "limit_cpu");
  assert.equal(breachOf(153, ""), "limit_file_size");
  assert.equal(breachOf(1, "Traceback ...\nMemoryError\n"), "limit_memory");
  assert.equal(breachOf(2, "bash: xrealloc: cannot allocate 263892992 bytes"), "limit_memory");
  assert.equal(breachOf(1, "OSError: [Errno 27] File too large"), "limit_file_size");
  assert.equal(breachOf(1, "OSError: [Errno 24] Too many open files: 'x'"), "limit_open_files");
  assert.equal(breachOf(254, "bash: fork: Resource temporarily unavailable"), "limit_processes");
  assert.equal(breachOf(1, "ls: cannot access 'x': No such file or directory"), null);
  assert.equal(
    liveBreach("bash: fork: retry: Resource temporarily unavailable"),
    "limit_processes",
  );
  assert.equal(liveBreach("all fine"), null);
  assert.match(breachMessage("limit_cpu", DEFAULT_LIMITS), /^limit_cpu: .*120 s/);
});

function plan(prlimitPath: string, bwrapPath: string, enforceLimits = true) {
  const m = manifest({ guest_memory_mb: 512 });
  return buildLaunchPlan({
    manifest: m,
    permissions: resolvePermissions(m, "/ws", ["/ws"]),
    capsuleDir: "/data/agents/worker-1a2b",
    homeDir: "/data",
    agentsDir: "/data/agents",
    secretPaths: [],
    workspace: "/ws",
    denoPath: "/usr/bin/deno",
    guestEntry: "/src/guest/main.ts",
    guestSources: [],
    denoDir: "/data/deno_cache",
    bwrapPath,
    systemPaths: [],
    etcPaths: [],
    allowUnsandboxedExec: true,
    prlimitPath,
    enforceLimits,
  });
}

Deno.test("the guest starts under prlimit, inside bubblewrap (with nproc) or directly (without)", () => {
  const boxed = plan("/usr/bin/prlimit", "/usr/bin/bwrap");
  const tail = boxed.args.slice(boxed.args.indexOf("--") + 1);
  assert.equal(tail[0], "/usr/bin/prlimit");
  assert.ok(tail.includes("--nproc=256"));
  assert.equal(tail[tail.indexOf("--") + 1], "/usr/bin/deno");
  assert.ok(boxed.denoFlags.includes("--v8-flags=--max-old-space-size=512"));
  assert.equal(boxed.limits?.limits.guest_memory_mb, 512);

  const direct = plan("/usr/bin/prlimit", "");
  assert.equal(direct.command, "/usr/bin/prlimit");
  assert.ok(!direct.args.some((a) => a.startsWith("--nproc")), "nproc would count all the user's");
  assert.equal(direct.args[direct.args.indexOf("--") + 1], "/usr/bin/deno");

  assert.equal(plan("", "").command, "/usr/bin/deno", "no prlimit here: heap flag only");
  assert.equal(plan("/usr/bin/prlimit", "", false).command, "/usr/bin/deno", "limits off");
});

Deno.test("a program's /tmp is bounded when a size is given", () => {
  const args = programSandboxArgs({
    bwrapPath: "/usr/bin/bwrap",
    systemPaths: [],
    etcPaths: [],
    workspace: "/ws",
    readRoots: [],
    writeRoots: [],
    hiddenDirs: [],
    readOnlyDirs: [],
    secrets: [],
    env: {},
    tmpSizeBytes: 4096,
  }, ["bash"]);
  const at = args.indexOf("/tmp") - 3;
  assert.deepEqual(args.slice(at, at + 4), ["--size", "4096", "--tmpfs", "/tmp"]);
  // POSIX shared memory is a tmpfs too: bounded the same way; /dev itself is read-only.
  const shm = args.indexOf("/dev/shm") - 3;
  assert.deepEqual(args.slice(shm, shm + 6), [
    "--size",
    "4096",
    "--tmpfs",
    "/dev/shm",
    "--remount-ro",
    "/dev",
  ]);
});
