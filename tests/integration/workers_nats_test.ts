/**
 * Scale-out through a real nats-server with JetStream: `closed-claw run
 * --nats` sends capsule launches to `closed-claw worker` processes (each with
 * `deno task run`'s flags and a scratch folder of its own), while the model
 * calls, tool checks and records stay with the coordinator. A worker killed
 * mid-capsule: the capsule continues on the other worker from the journal,
 * its completed side effect not repeated. A coordinator killed: workers stop
 * its capsules within seconds. A worker without bubblewrap says so.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { decode, runCli, spawnCli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp.ts";
import { waitFor } from "../helpers/wait.ts";
import { effectLines, finalStep, startBrain, toolStep } from "../helpers/coordinator_brain.ts";
import { natsServerPath, startNats, startWorker } from "../helpers/nats.ts";
import { startWebFixture } from "../helpers/web_fixture.ts";

const hasNats = natsServerPath() !== "";
const skipNote = "nats-server is not installed (apt-get install nats-server)";
if (!hasNats) console.warn(`workers_nats_test: skipped: ${skipNote}`);

interface LogEvent {
  event: string;
  payload: Record<string, unknown>;
}

function runEvents(logsDir: string, runId: string): LogEvent[] {
  return Deno.readTextFileSync(join(logsDir, `${runId}.jsonl`)).trim().split("\n")
    .map((line) => JSON.parse(line));
}

/** A one-subtask run: its agent reads a.txt (written in the workspace), then answers. */
async function readerBrain(dir: string, env: Record<string, string> = {}) {
  const brain = await startBrain(dir, {
    complexity: "simple",
    plan: () => [{ task_id: "r", title: "Read", description: "Read a.txt.", role_tag: "r" }],
    agent: ({ step }) =>
      step === 0 ? toolStep("file_io", { op: "read", path: "a.txt" }) : finalStep("read it"),
  }, env);
  await Deno.writeTextFile(join(brain.workspace, "a.txt"), "A");
  return brain;
}

function startedOn(events: LogEvent[]): string[] {
  return events.filter((e) => e.event === "capsule_started").map((e) => String(e.payload.worker));
}

Deno.test({
  name:
    "8 parallel subtasks run on two workers; answers, checks and keys stay with the coordinator",
  ignore: !hasNats,
  async fn() {
    await using dir = await tempDir();
    await using nats = await startNats(dir.path);
    const parts = [...Array(8).keys()].map((i) => `part${i}`);
    const brain = await startBrain(dir.path, {
      complexity: "simple",
      plan: () =>
        parts.map((p) => ({
          task_id: p,
          title: `Read ${p}`,
          description: `Read ${p}.txt and report its word.`,
          role_tag: "reader",
        })),
      agent: ({ step, prompt, last }) => {
        const part = /Read (part\d)\.txt/.exec(prompt)?.[1] ?? "part0";
        if (step === 0) {
          return { json: toolStep("file_io", { op: "read", path: `${part}.txt` }), delayMs: 300 };
        }
        return finalStep(`${part} says ${/word-\d/.exec(last)?.[0] ?? "?"}`);
      },
      synthesis: "All eight parts were read.",
    }, { CLOSED_CLAW_MAX_PARALLEL_AGENTS: "8", CLOSED_CLAW_MAX_SUBTASKS_PER_PHASE: "8" });
    for (const [i, p] of parts.entries()) {
      await Deno.writeTextFile(join(brain.workspace, `${p}.txt`), `word-${i}`);
    }
    await using w1 = await startWorker(dir.path, {
      name: "w1",
      url: nats.url,
      roots: [brain.workspace],
      maxCapsules: 4,
    });
    await using w2 = await startWorker(dir.path, {
      name: "w2",
      url: nats.url,
      roots: [brain.workspace],
      maxCapsules: 4,
    });
    await Promise.all([w1.ready, w2.ready]);
    try {
      const listed = await runCli(["workers", "--nats", nats.url, "--json"], {
        cwd: dir.path,
        env: brain.env,
      });
      assert.equal(listed.code, 0, listed.stderr);
      const workers = JSON.parse(listed.stdout) as { name: string; sandbox: string }[];
      assert.deepEqual(workers.map((w) => w.name), ["w1", "w2"]);

      const out = await runCli(["run", "Read every part", "--nats", nats.url, "--json"], {
        cwd: dir.path,
        env: brain.env,
      });
      assert.equal(out.code, 0, `${out.stdout}\n${out.stderr}\n${w1.output.join("\n")}`);
      const result = JSON.parse(out.stdout);
      assert.equal(result.status, "ok");
      const events = runEvents(brain.settings.runLogsDir, result.run_id);
      const workersUsed = startedOn(events);
      assert.equal(workersUsed.length, 8, "one capsule per subtask");
      assert.ok(workersUsed.includes("w1") && workersUsed.includes("w2"), workersUsed.join(","));
      // Each answer came back through the relay and passed the coordinator's checks.
      const reads = events.filter((e) => e.event === "tool_call" && e.payload.tool === "file_io");
      assert.equal(reads.length, 8, "each read was decided and recorded here");
      const succeeded = events.filter((e) => e.event === "subtask_attempt_succeeded");
      assert.equal(succeeded.length, 8);
      for (const [i, p] of parts.entries()) {
        assert.ok(JSON.stringify(events).includes(`${p} says word-${i}`), `${p}'s answer`);
      }
      // The workers never saw a key: they were started without one, and every model call was
      // made by the coordinator against the fake server.
      assert.ok(brain.fake.requests.length >= 17);
      for (const w of [w1, w2]) assert.ok(!w.output.join("\n").includes("test-key"));
    } finally {
      await brain.fake.close();
    }
  },
});

/** The run's log events so far (the only run of `logsDir`). */
function onlyRunEvents(logsDir: string): LogEvent[] {
  try {
    const [file] = [...Deno.readDirSync(logsDir)].filter((e) => e.name.endsWith(".jsonl"));
    return file ? runEvents(logsDir, file.name.slice(0, -".jsonl".length)) : [];
  } catch {
    return [];
  }
}

/** A one-subtask run whose agent appends to effects.txt with `cmd`, then thinks slowly. */
async function payingOnWorkers(dir: string, cmd: string) {
  const nats = await startNats(dir);
  const brain = await startBrain(dir, {
    complexity: "simple",
    plan: () => [{
      task_id: "pay",
      title: "Record the payment",
      description: "Append one line to effects.txt.",
      role_tag: "payer",
      tools: ["terminal", "file_io"],
      writes_files: true,
    }],
    agent: ({ step }) => {
      if (step === 0) return toolStep("terminal", { cmd });
      // The model is slow here: long enough for the test to kill the worker.
      if (step === 1) return { json: finalStep("paid"), delayMs: 2_500 };
      return finalStep("paid");
    },
    synthesis: "The payment is recorded.",
  });
  const workers = await Promise.all(
    ["w1", "w2"].map((name) => startWorker(dir, { name, url: nats.url, roots: [brain.workspace] })),
  );
  await Promise.all(workers.map((w) => w.ready));
  const run = spawnCli(["run", "Pay once", "--nats", nats.url, "--json"], {
    cwd: dir,
    env: brain.env,
  });
  const holder = async () => {
    await waitFor(
      () => workers.some((w) => w.output.some((l) => l.includes("started ("))),
      "a capsule",
    );
    return workers.find((w) => w.output.some((l) => l.includes("started (")))!;
  };
  const close = async () => {
    for (const w of workers) await w.kill();
    await brain.fake.close();
    await nats[Symbol.asyncDispose]();
  };
  return { brain, workers, run, holder, close };
}

Deno.test({
  name:
    "a worker killed mid-capsule: the subtask continues on the other worker, its side effect once",
  ignore: !hasNats,
  async fn() {
    await using dir = await tempDir();
    const t = await payingOnWorkers(dir.path, "echo paid >> effects.txt");
    try {
      // The program ran on a worker and its result reached the coordinator; the model is
      // thinking about the next step when the worker dies.
      await waitFor(
        () =>
          onlyRunEvents(t.brain.settings.runLogsDir).some((e) =>
            e.event === "tool_call" && e.payload.ok === true
          ),
        "the recorded payment",
        60_000,
      );
      const holder = await t.holder();
      await holder.kill("SIGKILL");
      const out = await t.run.output();
      const stdout = decode(out.stdout);
      assert.equal(out.code, 0, `${stdout}\n${decode(out.stderr)}`);
      const result = JSON.parse(stdout);
      assert.equal(result.status, "ok");
      assert.equal(effectLines(t.brain.workspace), 1, "the payment ran once");
      const events = runEvents(t.brain.settings.runLogsDir, result.run_id);
      const other = t.workers.find((w) => w !== holder)!;
      assert.deepEqual(startedOn(events), [holder.name, other.name], "relaunched on the other one");
      const replayed = events.filter((e) => e.event === "step_replayed");
      assert.ok(
        replayed.some((e) => e.payload.kind === "tool_call" && e.payload.tool === "terminal"),
        "the completed call was replayed from the journal, not run again",
      );
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "a worker killed while its program runs: the call is in doubt, never run a second time",
  ignore: !hasNats,
  async fn() {
    await using dir = await tempDir();
    const t = await payingOnWorkers(dir.path, "echo paid >> effects.txt; sleep 20");
    try {
      await waitFor(() => effectLines(t.brain.workspace) === 1, "the payment", 60_000);
      await (await t.holder()).kill("SIGKILL");
      const out = await t.run.output();
      const stdout = decode(out.stdout);
      assert.notEqual(out.code, 0, stdout);
      assert.match(stdout + decode(out.stderr), /side_effect_in_doubt/);
      assert.equal(effectLines(t.brain.workspace), 1, "not run again");
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "a coordinator that dies: its worker stops the capsule within seconds",
  ignore: !hasNats,
  async fn() {
    await using dir = await tempDir();
    await using nats = await startNats(dir.path);
    const brain = await startBrain(dir.path, {
      complexity: "simple",
      plan: () => [{ task_id: "wait", title: "Wait", description: "Wait.", role_tag: "waiter" }],
      agent: () => ({ json: finalStep("done"), delayMs: 60_000 }),
    });
    await using worker = await startWorker(dir.path, {
      name: "w1",
      url: nats.url,
      roots: [brain.workspace],
    });
    await worker.ready;
    try {
      const run = spawnCli(["run", "Wait", "--nats", nats.url, "--json"], {
        cwd: dir.path,
        env: brain.env,
      });
      await waitFor(() => worker.output.some((l) => l.includes("started (")), "the capsule");
      run.kill("SIGKILL");
      await run.output();
      const killedAt = Date.now();
      await waitFor(
        () => worker.output.some((l) => /capsule \w+ ended/.test(l)),
        "the worker to stop the orphaned capsule",
        15_000,
      );
      assert.ok(Date.now() - killedAt < 10_000, "within seconds");
      assert.ok(worker.output.some((l) => l.includes("coordinator went silent")));
    } finally {
      await brain.fake.close();
    }
  },
});

Deno.test({
  name: "a worker without bubblewrap says so; a workspace outside its roots is refused clearly",
  ignore: !hasNats,
  async fn() {
    await using dir = await tempDir();
    await using nats = await startNats(dir.path);
    const brain = await readerBrain(dir.path, {
      CLOSED_CLAW_AGENT_RETRIES: "0",
      CLOSED_CLAW_SUBTASK_MAX_ATTEMPTS: "1",
    });
    const elsewhere = join(dir.path, "elsewhere");
    await Deno.mkdir(elsewhere);
    // No bubblewrap on its PATH: the worker can only give capsules Deno's permissions.
    const emptyBin = join(dir.path, "empty-bin");
    await Deno.mkdir(emptyBin);
    await using worker = await startWorker(dir.path, {
      name: "plain",
      url: nats.url,
      roots: [elsewhere],
      env: { PATH: emptyBin },
    });
    await worker.ready;
    try {
      assert.ok(worker.output.some((l) => l.includes("Deno permissions only")));
      // The warning goes to stderr, "Waiting for jobs" to stdout: the two streams race.
      await waitFor(
        () => worker.output.some((l) => l.includes("bubblewrap does not work here")),
        "the worker's bubblewrap warning on stderr",
      );
      const listed = await runCli(["workers", "--nats", nats.url, "--json"], {
        cwd: dir.path,
        env: brain.env,
      });
      assert.equal(JSON.parse(listed.stdout)[0].sandbox, "deno-only");
      const doctor = await runCli(["doctor", "--json"], {
        cwd: dir.path,
        env: { ...brain.env, CLOSED_CLAW_NATS_URL: nats.url },
      });
      const check = JSON.parse(doctor.stdout).checks.find((c: { name: string }) =>
        c.name === "workers"
      );
      assert.equal(check?.status, "warn", doctor.stdout);
      assert.match(check.detail, /plain \(deno-only, 0\/4\)/);
      assert.match(check.fix, /Install bubblewrap on plain/);
      const out = await runCli(["run", "Read a.txt", "--nats", nats.url, "--json"], {
        cwd: dir.path,
        env: brain.env,
      });
      assert.notEqual(out.code, 0);
      const text = out.stdout + out.stderr;
      assert.match(
        text,
        /worker plain refused the capsule: workspace .* is outside this worker's roots/,
      );
      assert.match(text, /--workspace-root/);
    } finally {
      await brain.fake.close();
    }
  },
});

Deno.test({
  name: "the dashboard lists the live workers, and says when capsules run here",
  ignore: !hasNats,
  async fn() {
    await using dir = await tempDir();
    await using nats = await startNats(dir.path);
    await using worker = await startWorker(dir.path, {
      name: "dash-w",
      url: nats.url,
      roots: [dir.path],
      maxCapsules: 3,
    });
    await worker.ready;
    {
      await using web = await startWebFixture({ env: { CLOSED_CLAW_NATS_URL: nats.url } });
      const api = await (await web.api("GET", "/api/workers")).json();
      assert.equal(api.configured, true);
      assert.deepEqual(
        api.workers.map((w: { name: string; max_capsules: number }) => [w.name, w.max_capsules]),
        [["dash-w", 3]],
      );
      const page = await (await web.api("GET", "/system")).text();
      assert.match(page, /<h2>Workers<\/h2>/);
      assert.match(page, /dash-w/);
      assert.match(page, /0 \/ 3/);
    }
    {
      await using web = await startWebFixture();
      const api = await (await web.api("GET", "/api/workers")).json();
      assert.equal(api.configured, false);
      assert.match(await (await web.api("GET", "/system")).text(), /Capsules run on this machine/);
    }
  },
});

Deno.test({
  name: "a worker that loses NATS says so, reconnects with back-off, and takes jobs again",
  ignore: !hasNats,
  async fn() {
    await using dir = await tempDir();
    await using nats = await startNats(dir.path);
    const brain = await readerBrain(dir.path);
    await using worker = await startWorker(dir.path, {
      name: "w1",
      url: nats.url,
      roots: [brain.workspace],
    });
    await worker.ready;
    try {
      await nats.stop();
      await waitFor(
        () => worker.output.some((l) => l.includes("lost the NATS connection")),
        "the worker to report the lost connection",
      );
      await nats.restart();
      await waitFor(
        () => worker.output.some((l) => l.includes("reconnected to NATS")),
        "the worker to reconnect",
        60_000,
      ).catch((error) => {
        throw new Error(`${error.message}; it said:\n${worker.output.join("\n")}`);
      });
      const out = await runCli(["run", "Read a.txt", "--nats", nats.url, "--json"], {
        cwd: dir.path,
        env: brain.env,
      });
      assert.equal(out.code, 0, `${out.stdout}\n${out.stderr}\n${worker.output.join("\n")}`);
      assert.equal(JSON.parse(out.stdout).status, "ok");
    } finally {
      await brain.fake.close();
    }
  },
});
