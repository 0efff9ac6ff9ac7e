/**
 * Capsule benchmarks (`deno task bench`): spawn-to-ready latency of a warm
 * capsule with and without bubblewrap (target: 80 ms median), the host↔guest
 * round trip of a no-op tool decision (target: 0.5 ms median), 8
 * capsules started at once, and the cost of resource limits: spawn-to-ready
 * with limits on versus off in one group, so `deno bench` prints the ratio
 * (target: at most ~1.1x).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createCapsule } from "../capsule_runtime/factory.ts";
import { planLaunch } from "../capsule_runtime/host.ts";
import type { LaunchPlan } from "../capsule_runtime/launcher.ts";
import { machineFacts, warmGuestCache } from "../capsule_runtime/machine.ts";
import { PROTOCOL_VERSION } from "../capsule_runtime/protocol.ts";
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
const denoDir = join(settings.homeDir, "deno_cache");
await warmGuestCache(denoDir);
await warmGuestCache(denoDir, ECHO_GUEST);
const bwrapWorks = (await machineFacts()).bwrapPath !== "";
const plans = {
  bwrap: await planLaunch(settings, manifest),
  denoOnly: await planLaunch(settings, manifest, { osSandbox: false }),
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

// The floor: an empty `deno run` (start to exit), so the group prints capsule start as a ratio of it.
const EMPTY = await Deno.makeTempFile({ suffix: ".js" });
await Deno.writeTextFile(EMPTY, "");
Deno.bench({
  name: "empty deno run (the runtime's floor)",
  group: "spawn",
  baseline: true,
  async fn() {
    await new Deno.Command(Deno.execPath(), { args: ["run", EMPTY], stdout: "null" }).output();
  },
});
spawnBench("spawn to ready, warm, Deno permissions only", plans.denoOnly, 1);
spawnBench("spawn to ready, warm, inside bubblewrap", plans.bwrap, 1, !bwrapWorks);
// The same capsule in bubblewrap without and with its resource limits (prlimit, RLIMIT_DATA).
const limitsGroup = (baseline: boolean) => ({ group: "limits", baseline });
spawnBench("spawn to ready, limits off", plans.bwrapNoLimits, 1, !bwrapWorks, limitsGroup(true));
spawnBench("spawn to ready, limits on", plans.bwrap, 1, !bwrapWorks, limitsGroup(false));
// Last: the burst leaves processes exiting, which would disturb the groups above.
spawnBench("8 capsules started at once, until all are ready", plans.bwrap, 8);

// One echo capsule kept open for the round-trip bench.
const echoPlan = await planLaunch(settings, manifest, { guestEntry: ECHO_GUEST });
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
  echo.kill("bench done");
  Deno.removeSync(root, { recursive: true });
});
