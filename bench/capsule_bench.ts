/**
 * Capsule benchmarks (`deno task bench`): spawn-to-ready latency of a warm
 * capsule with and without bubblewrap, and spawn to its first model request
 * (after `start`), against an empty `deno run` with the same Deno cache in
 * one group, so `deno bench` prints the ratios (target: at most 2x inside
 * bubblewrap); the host↔guest round trip of a no-op tool decision (target:
 * 0.5 ms median), 8 capsules started at once, and the cost of resource
 * limits: spawn-to-ready with limits on versus off in one group (target: at
 * most ~1.1x); and the memory (PSS) each extra concurrent capsule adds
 * (target: at most 12 MiB).
 */
import { cpSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createCapsule } from "../capsule_runtime/factory.ts";
import { planLaunch } from "../capsule_runtime/host.ts";
import type { LaunchPlan } from "../capsule_runtime/launcher.ts";
import { machineFacts, warmPlanCache } from "../capsule_runtime/machine.ts";
import { type HostMessage, PROTOCOL_VERSION } from "../capsule_runtime/protocol.ts";
import { CapsuleProcess, type StdoutItem } from "../capsule_runtime/supervisor.ts";
import { testSettings } from "../tests/helpers/temp.ts";

const ECHO_GUEST = fileURLToPath(
  new URL("../tests/fixtures/capsule_hostile_guest.ts", import.meta.url),
);
const root = await Deno.makeTempDir({ prefix: "claw-bench-" });
const settings = testSettings(root);
const manifest = createCapsule(settings.agentsDir, {
  name: "Bench",
  description: "",
  tools_allowlist: ["file_io"],
});
const bwrapWorks = (await machineFacts()).bwrapPath !== "";
const bwrapPlan = await planLaunch(settings, manifest);
// Warm as runCapsule does before a capsule starts.
await warmPlanCache(bwrapPlan);

/**
 * The plan with a copy of the warmed Deno cache, for runs outside bubblewrap:
 * they write to their cache, and a Deno that exits normally folds away the
 * SQLite side files a read-only capsule needs to read the cache.
 */
function withOwnCache(plan: LaunchPlan, name: string): LaunchPlan {
  const copy = join(root, `deno_cache_${name}`);
  cpSync(plan.env.DENO_DIR, copy, { recursive: true });
  return { ...plan, env: { ...plan.env, DENO_DIR: copy } };
}

const plans = {
  bwrap: bwrapPlan,
  denoOnly: withOwnCache(await planLaunch(settings, manifest, { osSandbox: false }), "deno_only"),
  bwrapNoLimits: await planLaunch(settings, manifest, { limits: false }),
};

/** Spawns a capsule and waits for its `ready` line; the caller kills it. */
async function spawnToReady(plan: LaunchPlan): Promise<CapsuleProcess> {
  const proc = CapsuleProcess.spawn(plan);
  const first = await proc.lines(settings.maxLineBytes).next();
  if (first.done || !first.value.ok || first.value.message.type !== "ready") {
    proc.kill("no ready line");
    throw new Error(`no ready line; stderr: ${proc.stderrTail()}`);
  }
  return proc;
}

/** A `start` for the real guest; it answers with its first `llm_request`. */
const START: HostMessage = {
  v: PROTOCOL_VERSION,
  type: "start",
  task: "Say hello.",
  context: {},
  system_prompt: "You are a bench.",
  tools: [],
  tool_context: {
    workspace: root,
    read_roots: [root],
    write_roots: [],
    file_write: false,
    sql_paths: [],
    network_hosts: [],
  },
  limits: { max_steps: 1, max_tool_calls: 1, max_consecutive_errors: 1, max_observation_chars: 1 },
  step_schema: {},
  tool_mode: "native",
};

/** Spawns a capsule, sends `start` at its `ready` and waits for its first model request. */
async function spawnToFirstRequest(plan: LaunchPlan): Promise<CapsuleProcess> {
  const proc = CapsuleProcess.spawn(plan);
  const lines = proc.lines(settings.maxLineBytes);
  const ready = await lines.next();
  if (ready.done || !ready.value.ok || ready.value.message.type !== "ready") {
    proc.kill("no ready line");
    throw new Error(`no ready line; stderr: ${proc.stderrTail()}`);
  }
  await proc.send(START);
  const asked = await lines.next();
  if (asked.done || !asked.value.ok || asked.value.message.type !== "llm_request") {
    proc.kill("no llm_request");
    throw new Error(`no llm_request; stderr: ${proc.stderrTail()}`);
  }
  return proc;
}

async function stop(procs: CapsuleProcess[]): Promise<void> {
  for (const proc of procs) proc.kill("bench done");
  await Promise.all(procs.map((proc) => proc.status));
}

function spawnBench(
  name: string,
  plan: LaunchPlan,
  count: number,
  ignore = false,
  group: { group: string; baseline: boolean } | undefined = undefined,
) {
  Deno.bench({
    name,
    group: group?.group ?? (count === 1 ? "spawn" : undefined),
    baseline: group?.baseline ?? false,
    ignore,
    async fn(b) {
      b.start();
      const procs = await Promise.all(Array.from({ length: count }, () => spawnToReady(plan)));
      b.end();
      await stop(procs);
    },
  });
}

// The floor: an empty `deno run` (start to exit) with the capsules' environment and (a copy of)
// their warm Deno cache, so the group prints capsule start as a ratio of it.
const EMPTY = await Deno.makeTempFile({ suffix: ".js" });
await Deno.writeTextFile(EMPTY, "");
const emptyEnv = withOwnCache(bwrapPlan, "empty").env;
Deno.bench({
  name: "empty deno run (the runtime's floor)",
  group: "spawn",
  baseline: true,
  async fn() {
    await new Deno.Command(Deno.execPath(), {
      args: ["run", EMPTY],
      env: emptyEnv,
      clearEnv: true,
      stdout: "null",
    }).output();
  },
});
spawnBench("spawn to ready, warm, inside bubblewrap", plans.bwrap, 1, !bwrapWorks);
Deno.bench({
  name: "spawn to first model request, warm, inside bubblewrap",
  group: "spawn",
  ignore: !bwrapWorks,
  async fn(b) {
    b.start();
    const proc = await spawnToFirstRequest(plans.bwrap);
    b.end();
    await stop([proc]);
  },
});
// After the bubblewrap runs: run before them, it slowed them down (~25% here).
spawnBench("spawn to ready, warm, Deno permissions only", plans.denoOnly, 1);
// The same capsule in bubblewrap without and with its resource limits (prlimit, RLIMIT_DATA).
const limitsGroup = (baseline: boolean) => ({ group: "limits", baseline });
spawnBench("spawn to ready, limits off", plans.bwrapNoLimits, 1, !bwrapWorks, limitsGroup(true));
spawnBench("spawn to ready, limits on", plans.bwrap, 1, !bwrapWorks, limitsGroup(false));
// Last: the burst leaves processes exiting, which would disturb the groups above.
spawnBench("8 capsules started at once, until all are ready", plans.bwrap, 8);

/**
 * Proportional memory (PSS, KiB) of these processes and all their
 * descendants (a capsule is bwrap, its init and deno). Read through `sh`:
 * Deno's permissions refuse /proc without --allow-all, and the bench runs
 * with the task's flags.
 */
async function pssKib(roots: number[]): Promise<number> {
  const script = `for p in /proc/[0-9]*; do ` +
    `s=$(cut -d' ' -f1,4 $p/stat 2>/dev/null) || continue; ` +
    `k=$(awk '/^Pss:/{print $2}' $p/smaps_rollup 2>/dev/null); echo "$s \${k:-0}"; done`;
  const out = await new Deno.Command("sh", { args: ["-c", script] }).output();
  const rows = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) =>
    l.split(" ").map(Number)
  );
  const tree = new Set(roots);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of rows) {
      if (tree.has(ppid) && !tree.has(pid)) (tree.add(pid), grew = true);
    }
  }
  return rows.filter(([pid]) => tree.has(pid)).reduce((sum, [, , kib]) => sum + (kib || 0), 0);
}

/** PSS of one ready capsule, and what each extra one adds, with 1 and 5 running at once. */
async function pssPerCapsule(plan: LaunchPlan): Promise<{ one: number; extra: number }> {
  const measure = async (count: number) => {
    const procs = await Promise.all(Array.from({ length: count }, () => spawnToReady(plan)));
    await new Promise((r) => setTimeout(r, 300)); // let start-up garbage settle
    const kib = await pssKib(procs.map((p) => p.pid));
    await stop(procs);
    return kib;
  };
  const one = await measure(1);
  const five = await measure(5);
  return { one: one / 1024, extra: (five - one) / 4 / 1024 };
}

const pss = bwrapWorks ? await pssPerCapsule(plans.bwrap) : null;

// One echo capsule kept open for the round-trip bench.
const echoPlan = await planLaunch(settings, manifest, { guestEntry: ECHO_GUEST });
await warmPlanCache(echoPlan);
const echo = CapsuleProcess.spawn(echoPlan);
const echoLines: AsyncGenerator<StdoutItem> = echo.lines(settings.maxLineBytes);
await echoLines.next(); // ready
await echo.send({
  v: PROTOCOL_VERSION,
  type: "start",
  task: "echo",
  context: {},
  system_prompt: "",
  tools: [],
  tool_context: {
    workspace: root,
    read_roots: [],
    write_roots: [],
    file_write: false,
    sql_paths: [],
    network_hosts: [],
  },
  limits: { max_steps: 1, max_tool_calls: 1, max_consecutive_errors: 1, max_observation_chars: 1 },
  step_schema: {},
});
let counter = 0;
Deno.bench("host↔guest round trip of a no-op tool decision", async () => {
  const id = `t-${++counter}`;
  await echo.send({
    v: PROTOCOL_VERSION,
    type: "tool_decision",
    id,
    allowed: true,
    args: {},
    reason: "",
  });
  const reply = await echoLines.next();
  if (reply.done || !reply.value.ok || !("id" in reply.value.message)) {
    throw new Error("echo capsule broke");
  }
});
globalThis.addEventListener("unload", () => {
  if (pss) {
    console.log(
      `PSS of one ready capsule (bwrap + deno): ${pss.one.toFixed(1)} MiB; ` +
        `each extra concurrent capsule: ${pss.extra.toFixed(1)} MiB (target ≤ 12 MiB)`,
    );
  }
  echo.kill("bench done");
  Deno.removeSync(root, { recursive: true });
});
