/**
 * Capsules between runs (capsule_runtime/capsule_shelf.ts), with the real
 * guest: a run's pool that ends well leaves its idle capsule on the shelf, the
 * next pool hands it only to the very same plan and manifest, from a fresh
 * state; a stopped run leaves nothing; the shelf kills what idles too long,
 * what is over its size, and everything when it closes.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CapsulePool } from "../../capsule_runtime/host.ts";
import { CapsuleShelf } from "../../capsule_runtime/capsule_shelf.ts";
import { createCapsule } from "../../capsule_runtime/factory.ts";
import {
  capsuleFixture,
  finalStep,
  processAlive,
  promptsText,
  runScripted,
  toolStep,
} from "../fixtures/capsule_harness.ts";
import { waitFor } from "../helpers/wait.ts";

Deno.test("a run that ended well leaves its capsule to the next run of the same agent, which starts from a fresh state", async () => {
  await using fx = await capsuleFixture({ tools: ["file_io"] });
  Deno.writeTextFileSync(join(fx.workspace, "secret.txt"), "the vault code is ZEBRA-4711");
  const shelf = new CapsuleShelf();
  try {
    const firstRun = new CapsulePool({ shelf });
    const a = await runScripted(fx, [
      toolStep("file_io", { op: "read", path: "secret.txt" }),
      finalStep("Read it."),
    ], { pool: firstRun }).result;
    assert.equal(a.status, "ok");
    const pid = a.started[0].pid;
    firstRun.close("the run ended", { shelve: true });
    assert.equal(shelf.size, 1, "the run's idle capsule went to the shelf");
    assert.ok(processAlive(pid));

    const secondRun = new CapsulePool({ shelf });
    // The next run sees it waiting for this manifest and workspace, so it plans no prestart
    // for them; another workspace or manifest of the agent still gets one.
    const { workspace } = fx.settings;
    assert.equal(secondRun.hasWaiting(fx.manifest, workspace), true);
    assert.equal(secondRun.hasWaiting(fx.manifest, join(workspace, "elsewhere")), false);
    assert.equal(secondRun.hasWaiting({ ...fx.manifest, tools_allowlist: [] }, workspace), false);
    const second = runScripted(fx, [finalStep("Nothing to read.")], {
      pool: secondRun,
      task: "Second run: say hello.",
    });
    const b = await second.result;
    assert.equal(b.status, "ok");
    assert.equal(b.started[0].pid, pid, "the same process served the next run");
    assert.equal(b.started[0].warm, "carried");
    assert.equal(shelf.size, 0);
    assert.doesNotMatch(promptsText(second.model.prompts), /ZEBRA-4711/);
    assert.deepEqual(second.model.prompts[0].map((m) => m.role), ["system", "system", "user"]);
    secondRun.close("the run ended", { shelve: true });
    assert.equal(shelf.size, 1);
  } finally {
    shelf.close("test over");
  }
  assert.equal(shelf.size, 0);
});

Deno.test("a stopped run shelves nothing; another manifest or workspace never gets a shelved capsule", async () => {
  await using fx = await capsuleFixture({ tools: ["file_io"] });
  const shelf = new CapsuleShelf();
  try {
    const stopped = new CapsulePool({ shelf });
    const a = await runScripted(fx, [finalStep("one")], { pool: stopped }).result;
    stopped.close("the run stopped");
    assert.equal(shelf.size, 0);
    await waitFor(() => !processAlive(a.started[0].pid), "the stopped run's capsule to end");

    const ended = new CapsulePool({ shelf });
    const b = await runScripted(fx, [finalStep("two")], { pool: ended }).result;
    ended.close("the run ended", { shelve: true });
    assert.equal(shelf.size, 1);
    const shelved = b.started[0].pid;

    // Another agent with the same tools and flags.
    const other = createCapsule(fx.settings.agentsDir, {
      name: "Other worker",
      description: "Another capsule.",
      tools_allowlist: ["file_io"],
    });
    const c = await runScripted(fx, [finalStep("three")], {
      pool: new CapsulePool({ shelf }),
      manifest: other,
    }).result;
    assert.notEqual(c.started[0].pid, shelved);
    // The same agent on another workspace.
    const elsewhere = join(fx.root, "elsewhere");
    Deno.mkdirSync(elsewhere);
    const d = await runScripted(fx, [finalStep("four")], {
      pool: new CapsulePool({ shelf }),
      workspace: elsewhere,
      allowedRoots: [elsewhere],
    }).result;
    assert.equal(d.status, "ok");
    assert.notEqual(d.started[0].pid, shelved);
    assert.equal(d.started[0].warm, undefined);
    assert.equal(shelf.size, 1, "the shelved capsule still waits for its own plan");
  } finally {
    shelf.close("test over");
  }
});

Deno.test("the shelf kills what idles too long and what is over its size", async () => {
  await using fx = await capsuleFixture({ tools: ["file_io"] });
  const shelf = new CapsuleShelf({ idleMs: 400, max: 1 });
  try {
    // Two runs that overlapped (the first still open when the second started),
    // each of whose capsules ends up on the shelf: one too many.
    const pools = [new CapsulePool({ shelf }), new CapsulePool({ shelf })];
    const pids: number[] = [];
    for (const [i, pool] of pools.entries()) {
      pids.push(
        (await runScripted(fx, [finalStep(`answer ${i}`)], { pool }).result).started[0].pid,
      );
    }
    assert.notEqual(pids[0], pids[1]);
    for (const pool of pools) pool.close("the run ended", { shelve: true });
    assert.equal(shelf.size, 1);
    await waitFor(() => !processAlive(pids[0]), "the oldest to be killed");
    await waitFor(() => shelf.size === 0 && !processAlive(pids[1]), "the idle one to be killed");
  } finally {
    shelf.close("test over");
  }
});

Deno.test("a waiting bubblewrap capsule whose folder was made again is not handed over: it would not see the new one", async () => {
  await using fx = await capsuleFixture({
    tools: ["file_io"],
    permissions: { read_roots: ["data"] },
  });
  const data = join(fx.workspace, "data");
  Deno.mkdirSync(data);
  Deno.writeTextFileSync(join(data, "old.txt"), "old");
  const shelf = new CapsuleShelf();
  const list = (pool: CapsulePool) =>
    runScripted(fx, [toolStep("file_io", { op: "list", path: "data" }), finalStep("Listed.")], {
      pool,
      task: "List data.",
    });
  try {
    const first = new CapsulePool({ shelf });
    const a = await list(first).result;
    first.close("the run ended", { shelve: true });
    if (a.started[0].sandbox !== "bwrap") return; // only bubblewrap binds a folder by inode
    assert.equal(shelf.size, 1);
    // Between the runs the folder is replaced (a fresh checkout, a reset fixture).
    Deno.removeSync(data, { recursive: true });
    Deno.mkdirSync(data);
    Deno.writeTextFileSync(join(data, "new.txt"), "new");
    const second = list(new CapsulePool({ shelf }));
    const b = await second.result;
    assert.equal(b.status, "ok");
    assert.notEqual(b.started[0].pid, a.started[0].pid, "a new capsule, with the new folder bound");
    assert.equal(b.started[0].warm, undefined);
    assert.match(promptsText(second.model.prompts), /new\.txt/);
    await waitFor(() => !processAlive(a.started[0].pid), "the old capsule to end");
  } finally {
    shelf.close("test over");
  }
});

Deno.test("a prestarted capsule that may start programs is never shelved", async () => {
  const shelf = new CapsuleShelf();
  // A stand-in process: the pool looks only at the plan's flags.
  const plan = {
    command: "sleep",
    args: ["30", "--allow-run"],
    env: { PATH: "/usr/bin:/bin" },
    cwd: "/tmp",
    sandbox: "deno-only",
  } as unknown as Parameters<CapsulePool["take"]>[0];
  const manifest = { agent_id: "runner" } as unknown as Parameters<CapsulePool["take"]>[1];
  const pool = new CapsulePool({ shelf });
  await pool.prestart(
    "runner",
    () => Promise.resolve({ plan, manifest, workspace: "/tmp" }),
    1,
  );
  const [pid] = pool.pids();
  assert.ok(pid);
  pool.close("the run ended", { shelve: true });
  assert.equal(shelf.size, 0);
  await waitFor(() => !processAlive(pid), "the prestarted capsule to be killed");
  assert.equal(await new CapsulePool({ shelf }).take(plan, manifest), null);
  shelf.close("test over");
});

Deno.test("a link out of the workspace planted between runs (by another agent's program) means a new capsule that denies it", async () => {
  // Deno permissions only: there a link is followed, and only the launch's deny list stops it.
  await using fx = await capsuleFixture({ tools: ["file_io"] });
  const outside = join(fx.root, "outside");
  Deno.mkdirSync(outside);
  Deno.writeTextFileSync(join(outside, "secret.txt"), "the vault code is ZEBRA-4711");
  const shelf = new CapsuleShelf();
  try {
    const first = new CapsulePool({ shelf });
    const a = await runScripted(fx, [finalStep("Nothing to do.")], {
      pool: first,
      osSandbox: false,
    }).result;
    first.close("the run ended", { shelve: true });
    assert.equal(shelf.size, 1);
    // What a terminal agent's program could leave in the shared workspace.
    Deno.symlinkSync(outside, join(fx.workspace, "way_out"));
    const second = runScripted(fx, [
      toolStep("file_io", { op: "read", path: "way_out/secret.txt" }),
      finalStep("Tried."),
    ], { pool: new CapsulePool({ shelf }), osSandbox: false, task: "Read way_out/secret.txt." });
    const b = await second.result;
    assert.notEqual(b.started[0].pid, a.started[0].pid, "the plan changed, so the capsule did");
    assert.equal(b.started[0].warm, undefined);
    assert.doesNotMatch(promptsText(second.model.prompts), /ZEBRA-4711/);
  } finally {
    shelf.close("test over");
  }
});
