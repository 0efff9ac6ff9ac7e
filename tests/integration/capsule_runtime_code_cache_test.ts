/**
 * Capsules start from V8's code cache. runCapsule first warms the cache with
 * the capsule's own V8 flags (machine.ts `warmPlanCache`), so a capsule,
 * which only reads its Deno cache (read-only inside bubblewrap), compiles
 * nothing before `ready`: neither the guest bundle nor the `node:` modules it
 * loads at start.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { planLaunch } from "../../capsule_runtime/host.ts";
import type { LaunchPlan } from "../../capsule_runtime/launcher.ts";
import { machineFacts, warmPlanCache } from "../../capsule_runtime/machine.ts";
import { bundleIsFresh, GUEST_BUNDLE } from "../../capsule_runtime/guest_bundle.ts";
import { capsuleFixture } from "../fixtures/capsule_harness.ts";

const bwrapWorks = (await machineFacts()).bwrapPath !== "";

/** Deno's debug log of a capsule from spawn to its `ready` line. */
async function startupLog(plan: LaunchPlan): Promise<string> {
  const args = [...plan.args];
  let env: Record<string, string> = { ...plan.env, DENO_LOG: "debug" };
  if (plan.sandbox === "bwrap") {
    args.splice(args.indexOf("--"), 0, "--setenv", "DENO_LOG", "debug");
    env = plan.env;
  }
  const child = new Deno.Command(plan.command, {
    args,
    env,
    clearEnv: true,
    cwd: plan.cwd,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  const first = await reader.read();
  child.kill("SIGKILL");
  reader.releaseLock();
  await child.stdout.cancel();
  const stderr = new TextDecoder().decode((await child.output()).stderr);
  assert.match(new TextDecoder().decode(first.value), /"type":"ready"/, stderr.slice(-2000));
  return stderr;
}

Deno.test("a warmed capsule compiles nothing before ready: V8's code cache holds its guest", async () => {
  await using fx = await capsuleFixture({ tools: ["file_io"] });
  // Inside bubblewrap first: it cannot write the cache, so it sees only what the warm-up wrote.
  for (const osSandbox of bwrapWorks ? [true, false] : [false]) {
    const plan = await planLaunch(fx.settings, fx.manifest, { osSandbox });
    if (bundleIsFresh()) assert.equal(plan.guestEntry, GUEST_BUNDLE);
    await warmPlanCache(plan);
    const log = await startupLog(plan);
    const entry = new URL(`file://${plan.guestEntry}`).href;
    // Deno's own words for what it did with each cache (first lines: where the cache failed).
    const cacheLines = log.split("\n").filter((l) => /code cache|cache db/i.test(l)).slice(0, 8);
    const why = `${plan.sandbox}:\n${cacheLines.join("\n")}`;
    assert.ok(log.includes(`V8 code cache hit for ES module: ${entry}`), why);
    assert.doesNotMatch(log, /Updating V8 code cache/, `${why}\nnothing is compiled`);
    if (plan.sandbox === "bwrap") {
      // SQLite side files in the cache folder (a Deno killed while writing leaves them) are
      // not the capsule's: it keeps its own, so they can neither stall nor mislead its reads.
      for (const name of ["v8_code_cache_v2-wal", "v8_code_cache_v2-shm"]) {
        Deno.writeFileSync(join(plan.env.DENO_DIR, name), new Uint8Array(32).fill(7));
      }
      assert.ok((await startupLog(plan)).includes(`V8 code cache hit for ES module: ${entry}`));
    }
  }
});
