/**
 * Findings of a security review of the program sandbox, each as the attack a
 * hostile program, an evil model or a poisoned workspace would make.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { machineFacts } from "../../capsule_runtime/machine.ts";
import { planLaunch } from "../../capsule_runtime/host.ts";
import { bwrapKnowsSize } from "../../capsule_runtime/limit_facts.ts";
import type { Limits } from "../../capsule_runtime/limits.ts";
import { checkPath } from "../../guest/policy/paths.ts";
import {
  capsuleFixture,
  eventsOfType,
  finalStep,
  scriptedModel,
  toolStep,
} from "../fixtures/capsule_harness.ts";

const facts = await machineFacts();
const bwrapWorks = facts.bwrapPath !== "";

Deno.test({
  name:
    "security review: a program cannot fill memory through the sandbox's own tmpfs mounts (root, /dev, /dev/shm, masks)",
  ignore: !bwrapWorks || !bwrapKnowsSize(facts.bwrapPath),
  fn: async () => {
    await using fx = await capsuleFixture({
      tools: ["terminal"],
      permissions: { read_roots: ["."], write_roots: ["sub"], file_write: true },
    });
    fx.manifest = {
      ...fx.manifest,
      limits: { ...fx.manifest.limits, bytes_written_mb: 4 } as Limits,
    };
    const ws = fx.workspace;
    Deno.mkdirSync(join(ws, "sub"));
    Deno.mkdirSync(join(ws, ".ssh"));
    Deno.writeTextFileSync(join(ws, ".ssh", "id"), "SSH-SECRET");
    // 8 MiB into each place: more than the run may write (4 MiB).
    const fill = (path: string, name: string) =>
      `head -c 8388608 /dev/zero > ${path} 2>/dev/null; echo "${name}=$(stat -c %s ${path} 2>/dev/null || echo 0)"`;
    const cmd = [
      "python3 -c 'import multiprocessing as m; m.Lock(); print(\"SEMAPHORE-OK\")'",
      fill("/big", "ROOT"),
      fill("/etc/big", "ETC"),
      fill("/dev/big", "DEV"),
      fill("/dev/shm/big", "SHM"),
      fill("/tmp/big", "TMP"),
      fill(join(ws, ".ssh", "big"), "MASK"),
      fill(join(ws, ".closed_claw", "big"), "HIDDEN"),
    ].join("; ");
    const model = scriptedModel([toolStep("terminal", { cmd, timeout_s: 60 }), finalStep("done")]);
    const result = await fx.run({ task: "fill memory", hooks: model, timeoutMs: 90_000 });
    assert.equal(result.status, "ok", `${result.error_code}: ${result.error_message}`);
    const done = eventsOfType(fx.events, "tool_done");
    assert.equal(done.length, 1, JSON.stringify(fx.events).slice(0, 2000));
    const out = String((done[0].result as { stdout?: string }).stdout ?? "");
    const size = (name: string) => Number(new RegExp(`${name}=(\\d+)`).exec(out)?.[1] ?? -1);
    for (const name of ["ROOT", "ETC", "DEV", "MASK", "HIDDEN"]) {
      assert.equal(size(name), 0, `${name} was writable: ${out}`);
    }
    for (const name of ["SHM", "TMP"]) {
      assert.ok(size(name) >= 0 && size(name) <= 4 * 1024 * 1024, `${name} unbounded: ${out}`);
    }
    // POSIX shared memory still works for what needs it (a semaphore), within the bound.
    assert.match(out, /SEMAPHORE-OK/);
    assert.ok(!out.includes("SSH-SECRET"));
  },
});

Deno.test({
  name:
    "security review: secret names in another case (.ENV, .SSH, ID_RSA) are refused and masked too",
  ignore: !bwrapWorks,
  fn: async () => {
    await using fx = await capsuleFixture({
      tools: ["terminal", "file_io"],
      permissions: { read_roots: ["."] },
    });
    const ws = fx.workspace;
    Deno.writeTextFileSync(join(ws, ".ENV"), "SECRET-ENV-UPPER\n");
    Deno.mkdirSync(join(ws, ".SSH"));
    Deno.writeTextFileSync(join(ws, ".SSH", "config"), "SECRET-SSH-UPPER\n");
    Deno.mkdirSync(join(ws, "deep"));
    Deno.writeTextFileSync(join(ws, "deep", "ID_RSA"), "SECRET-KEY-UPPER\n");
    const policy = { workspace: ws, readRoots: ["."], writeRoots: [], fileWrite: false };
    for (const path of [".ENV", ".SSH/config", "deep/ID_RSA", ".Env.Local"]) {
      const check = checkPath(path, "read", policy);
      assert.equal(check.ok, false, `${path} passed the path policy`);
    }
    const model = scriptedModel([
      toolStep("terminal", { cmd: "cat .ENV .SSH/config deep/ID_RSA 2>&1" }),
      finalStep("done"),
    ]);
    const result = await fx.run({ task: "read secrets", hooks: model, timeoutMs: 60_000 });
    assert.equal(result.status, "ok", `${result.error_code}: ${result.error_message}`);
    const out = JSON.stringify(eventsOfType(fx.events, "tool_done")[0].result);
    for (const secret of ["SECRET-ENV-UPPER", "SECRET-SSH-UPPER", "SECRET-KEY-UPPER"]) {
      assert.ok(!out.includes(secret), `${secret} leaked: ${out}`);
    }
  },
});

Deno.test({
  name:
    "security review: secrets past the symlink scan's entry limit are still masked for programs",
  ignore: !bwrapWorks,
  fn: async () => {
    await using fx = await capsuleFixture({
      tools: ["terminal"],
      permissions: { read_roots: ["."] },
    });
    const ws = fx.workspace;
    // A big tree (node_modules, a dataset) the scan stops in, and a .env it never reached.
    for (let i = 0; i < 10; i++) Deno.mkdirSync(join(ws, `dir${i}`, "nested"), { recursive: true });
    for (let i = 0; i < 10; i++) {
      Deno.writeTextFileSync(join(ws, `dir${i}`, "nested", ".env"), `SECRET-DEEP-${i}\n`);
    }
    const plan = await planLaunch(fx.settings, fx.manifest, { symlinkScanLimit: 5 });
    assert.deepEqual(plan.tools, ["terminal"]);
    const masked = plan.programSandbox?.secrets.map((s) => s.path) ?? [];
    for (let i = 0; i < 10; i++) {
      assert.ok(masked.includes(join(ws, `dir${i}`, "nested", ".env")), `dir${i} not masked`);
    }
    // Where not even the deeper search can see every entry, no program runs on these roots.
    const tooBig = await planLaunch(fx.settings, fx.manifest, {
      symlinkScanLimit: 5,
      secretScanLimit: 8,
    });
    assert.deepEqual(tooBig.tools, []);
    assert.equal(tooBig.programSandbox, undefined);
    assert.match(tooBig.refusedTools[0].reason, /more than 8 entries.*secret/);
  },
});
