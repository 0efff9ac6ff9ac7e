/**
 * Durable runs through the real CLI with `deno task run`'s own permission
 * flags: a run whose process dies (kill -9), is stopped (SIGTERM, SIGHUP) or
 * whose owner is gone shows as `interrupted` within seconds, and can be
 * resumed or cancelled; a damaged registry.db is refused and left as it is;
 * `backup` makes a copy that opens.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { openStore } from "../../store/mod.ts";
import { decode, runCli, spawnCli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp.ts";
import { waitFor } from "../helpers/wait.ts";
import { finalStep, startBrain, toolStep } from "../helpers/coordinator_brain.ts";

interface ListedRun {
  run_id: string;
  status: string;
  error_message: string | null;
}

async function listRuns(cwd: string, env: Record<string, string>): Promise<ListedRun[]> {
  const out = await runCli(["runs", "--json"], { cwd, env });
  assert.equal(out.code, 0, out.stderr);
  return JSON.parse(out.stdout);
}

/**
 * A one-subtask run whose capsule's first step is held by the fake model
 * while `hold.on`, so the coordinator can be stopped mid-run.
 */
async function slowRun(dir: string) {
  const hold = { on: true };
  const brain = await startBrain(dir, {
    plan:
      () => [{ task_id: "read", title: "Read", description: "Read a.txt.", role_tag: "reader" }],
    agent: ({ step, last }) => {
      if (hold.on) return { text: "{}", delayMs: 60_000 };
      return step === 0 ? toolStep("file_io", { op: "read", path: "a.txt" }) : finalStep(last);
    },
  });
  await Deno.writeTextFile(join(brain.workspace, "a.txt"), "A");
  const child = spawnCli(["run", "Read a.txt"], { cwd: dir, env: brain.env });
  let runId = "";
  await waitFor(() => {
    const held = brain.fake.requests.some((r) => JSON.stringify(r.body).includes("Read a.txt."));
    if (!held) return false;
    const store = openStore(brain.settings.dbPath);
    try {
      runId = store.runs.list({ limit: 1 })[0]?.run_id ?? "";
    } finally {
      store.close();
    }
    return runId !== "";
  }, "the capsule's first model call");
  return { ...brain, hold, child, runId };
}

/** Stops the coordinator with `signal`, then checks the run is interrupted and resumes it. */
async function stopThenResume(signal: Deno.Signal, exitCode: number | null) {
  await using dir = await tempDir();
  const run = await slowRun(dir.path);
  try {
    run.child.kill(signal);
    const out = await run.child.output();
    if (exitCode !== null) assert.equal(out.code, exitCode, decode(out.stderr));
    run.hold.on = false;
    // Seen as interrupted within seconds, by another process with the CLI's flags.
    const started = Date.now();
    let row: ListedRun | undefined;
    await waitFor(
      async () => {
        row = (await listRuns(dir.path, run.env)).find((r) => r.run_id === run.runId);
        return row?.status === "interrupted";
      },
      `${signal}: the run to show as interrupted`,
      10_000,
    );
    assert.ok(Date.now() - started < 5000, "seen as interrupted within seconds");
    assert.ok(row?.error_message, "the reason is recorded");

    const resumed = await runCli(["resume", run.runId, "--json"], { cwd: dir.path, env: run.env });
    assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout);
    const json = JSON.parse(resumed.stdout);
    assert.equal(json.status, "ok");
    // One subtask: its answer (what the agent read) is the run's.
    assert.equal(json.result, "A");
    const runs = await listRuns(dir.path, run.env);
    assert.deepEqual(runs.filter((r) => r.status === "running"), [], "no run left running");
    assert.equal(runs.find((r) => r.run_id === run.runId)?.status, "ok");
  } finally {
    await run.fake.close();
  }
}

Deno.test("kill -9 of the coordinator: the run shows interrupted within seconds, resume finishes it", () =>
  stopThenResume("SIGKILL", null));

Deno.test("SIGTERM stops a run like Ctrl-C: exit 143, left interrupted, resumable", () =>
  stopThenResume("SIGTERM", 143));

Deno.test("SIGHUP stops a run like Ctrl-C: exit 129, left interrupted, resumable", () =>
  stopThenResume("SIGHUP", 129));

Deno.test("a run owned by a live process stays running; resume refuses it; cancel-run stops it", async () => {
  await using dir = await tempDir();
  const run = await slowRun(dir.path);
  try {
    const runs = await listRuns(dir.path, run.env);
    assert.equal(runs.find((r) => r.run_id === run.runId)?.status, "running");
    const refused = await runCli(["resume", run.runId], { cwd: dir.path, env: run.env });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /still running in another process/);
    const cancel = await runCli(["cancel-run", run.runId], { cwd: dir.path, env: run.env });
    assert.equal(cancel.code, 0, cancel.stderr);
    const out = await run.child.output();
    assert.equal(out.code, 130, decode(out.stderr));
  } finally {
    await run.fake.close();
  }
});

Deno.test("cancel-run on a run whose process died closes it as cancelled", async () => {
  await using dir = await tempDir();
  const run = await slowRun(dir.path);
  try {
    run.child.kill("SIGKILL");
    await run.child.output();
    const cancel = await runCli(["cancel-run", run.runId, "--json"], {
      cwd: dir.path,
      env: run.env,
    });
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.deepEqual(JSON.parse(cancel.stdout), {
      cancel_requested: true,
      run_id: run.runId,
      status: "cancelled",
    });
    const again = await runCli(["cancel-run", run.runId], { cwd: dir.path, env: run.env });
    assert.equal(again.code, 1, "a cancelled run cannot be cancelled again");
  } finally {
    await run.fake.close();
  }
});

Deno.test("a zero-length or foreign registry.db is refused with a hint and left untouched", async () => {
  await using dir = await tempDir();
  const db = join(dir.path, ".closed_claw", "registry.db");
  await Deno.mkdir(join(dir.path, ".closed_claw"), { recursive: true });
  // A data folder made by hand is accepted first (else it is refused as possibly planted).
  assert.equal((await runCli(["trust", ".closed_claw"], { cwd: dir.path })).code, 0);
  for (const content of ["", "not a database at all, just text"]) {
    await Deno.writeTextFile(db, content);
    const out = await runCli(["runs", "--json"], { cwd: dir.path });
    assert.equal(out.code, 1);
    const lines = out.stderr.trim().split("\n");
    assert.equal(lines.length, 1, out.stderr);
    assert.match(lines[0], content ? /is not a SQLite database/ : /is empty \(0 bytes\)/);
    assert.match(lines[0], /closed-claw backup/);
    assert.equal(await Deno.readTextFile(db), content, "the file is left as it was");
  }
});

Deno.test("backup copies registry.db (runs included) to a file that opens", async () => {
  await using dir = await tempDir();
  const home = join(dir.path, ".closed_claw");
  const store = openStore(join(home, "registry.db"));
  store.runs.create({ run_id: "backed-up-run", task: "keep me" });
  store.close();
  assert.equal((await runCli(["trust", ".closed_claw"], { cwd: dir.path })).code, 0);
  const target = join(dir.path, "copy", "claw.db");
  const out = await runCli(["backup", "--to", "copy/claw.db", "--json"], { cwd: dir.path });
  assert.equal(out.code, 0, out.stderr);
  assert.equal(JSON.parse(out.stdout).backup, target);
  const copy = new DatabaseSync(target, { readOnly: true });
  try {
    const row = copy.prepare("SELECT task FROM runs WHERE run_id = ?").get("backed-up-run");
    assert.deepEqual({ ...row }, { task: "keep me" });
  } finally {
    copy.close();
  }
  const again = await runCli(["backup", "--to", "copy/claw.db"], { cwd: dir.path });
  assert.equal(again.code, 2, "an existing file is never replaced");
  const plain = await runCli(["backup"], { cwd: dir.path });
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stdout, /backups\/registry-\d{8}T\d{6}Z\.db/);
});
