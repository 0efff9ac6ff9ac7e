/**
 * The importable module: `createClaw` (api/claw.ts, exported by mod.ts) used
 * directly (run, stream, registerCapsule, webApp), against the scripted brain
 * on the fake OpenAI server.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Claw, ClosedClawError, createClaw, type RunLogEvent } from "../../mod.ts";
import { parseRunLog } from "../../coordinator/run_log.ts";
import { tempDir } from "../helpers/temp.ts";
import { notesBrain, startBrain } from "../helpers/coordinator_brain.ts";

async function withClaw(
  fn: (claw: Claw, t: { workspace: string; dir: string }) => Promise<void>,
  settings: Record<string, string> = {},
): Promise<void> {
  await using dir = await tempDir();
  const { fake, workspace, env } = await startBrain(dir.path, notesBrain());
  await Deno.writeTextFile(join(workspace, "notes.txt"), "hello world\nsecond line\n");
  const claw = createClaw({
    cwd: dir.path,
    env,
    envFile: false,
    home: join(dir.path, "data"),
    settings,
  });
  try {
    await fn(claw, { workspace, dir: dir.path });
  } finally {
    await claw.close();
    await fake.close();
  }
}

Deno.test("createClaw: run() answers, keeps its data in `home`, and lists the run", () =>
  withClaw(async (claw, { dir }) => {
    assert.equal(claw.settings.homeDir, join(dir, "data"));
    const run = claw.run("What is the first line of notes.txt?");
    const outcome = await run.done;
    assert.equal(outcome.status, "ok", outcome.error);
    // One subtask: its answer is the run's answer (no synthesis call).
    assert.equal(outcome.result, "The first line is: hello world");
    assert.equal(outcome.runId, run.runId);
    const [row] = claw.runs();
    assert.equal(row.run_id, run.runId);
    assert.equal(row.status, "ok");
    assert.equal(claw.agents().length, 1, "the run created one agent");
    await Deno.stat(join(dir, "data", "runs", `${run.runId}.jsonl`));
  }));

Deno.test("createClaw: stream() yields every run-log event in order, then ends", () =>
  withClaw(async (claw) => {
    const seenByOption: string[] = [];
    const run = claw.stream("What is the first line of notes.txt?", {
      onEvent: (e) => seenByOption.push(e.event),
    });
    const events: RunLogEvent[] = [];
    for await (const event of run) events.push(event);
    const outcome = await run.done;
    assert.equal(outcome.status, "ok", outcome.error);
    assert.equal(events[0].event, "task_ingested");
    assert.ok(events.some((e) => e.event === "tool_call"));
    assert.equal(events.at(-1)?.event, "run_finished");
    assert.deepEqual(seenByOption, events.map((e) => e.event));
    const logged = parseRunLog(
      await Deno.readTextFile(join(claw.settings.runLogsDir, `${run.runId}.jsonl`)),
    );
    assert.deepEqual(logged, events);
    // A second iteration replays the finished run.
    let again = 0;
    for await (const _ of run) again++;
    assert.equal(again, events.length);
  }));

Deno.test("createClaw: a registered capsule is found and reused by routing", () =>
  withClaw(async (claw) => {
    const manifest = await claw.registerCapsule({
      name: "Notes Reader",
      description: "Read notes.txt and report its first line.",
      tools_allowlist: ["file_io"],
    });
    assert.match(manifest.agent_id, /^notes-reader/);
    assert.equal(manifest.embedding_model, "hash-ngram-v1");
    assert.equal(manifest.embedding_vector.length, claw.settings.embeddingDim);
    assert.deepEqual(claw.agents().map((a) => a.agent_id), [manifest.agent_id]);

    const events: RunLogEvent[] = [];
    const outcome = await claw.run("What is the first line of notes.txt?", {
      onEvent: (e) => events.push(e),
    }).done;
    assert.equal(outcome.status, "ok", outcome.error);
    const routing = events.find((e) => e.event === "routing_decision")!;
    assert.equal(routing.payload.decision, "reuse");
    assert.equal(routing.payload.chosen, manifest.agent_id);
    assert.ok(!events.some((e) => e.event === "agent_created_for_role"));
    assert.equal(claw.agents().length, 1);
    assert.equal(claw.agents()[0].usage_count, 1);
  }, { CLOSED_CLAW_LOW_CONFIDENCE_THRESHOLD: "0.3" }));

Deno.test("createClaw: bad input is a ClosedClawError, and a closed claw refuses work", async () => {
  let closed: Claw | undefined;
  await withClaw(async (claw) => {
    closed = claw;
    await assert.rejects(
      claw.registerCapsule({ name: "", description: "x", tools_allowlist: ["file_io"] }),
      (e) =>
        e instanceof ClosedClawError && e.code === "capsule_invalid" && !e.message.includes("\n"),
    );
    // A capsule may name only MCP servers of the user's catalogue.
    await assert.rejects(
      claw.registerCapsule({
        name: "Ghost User",
        description: "x",
        tools_allowlist: ["file_io"],
        permissions: { mcp_servers: ["ghost"] },
      }),
      (e) =>
        e instanceof ClosedClawError && e.code === "capsule_invalid" &&
        /MCP servers that are not in the catalogue: ghost\./.test(e.message),
    );
    assert.equal(claw.agents().length, 0);
    assert.throws(
      () => claw.run("   "),
      (e) => e instanceof ClosedClawError && e.code === "task_missing",
    );
  });
  assert.throws(
    () => closed!.runs(),
    (e) => e instanceof ClosedClawError && e.code === "claw_closed",
  );
});

Deno.test("createClaw: webApp() answers authorized requests for its host only", () =>
  withClaw(async (claw) => {
    const web = claw.webApp({ port: 9999 });
    const get = (headers: Record<string, string>) =>
      web.fetch(new Request("http://127.0.0.1:9999/api/health", { headers }));
    const bearer = { authorization: `Bearer ${web.token}` };
    const ok = await get({ host: "127.0.0.1:9999", ...bearer });
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).db_exists, true);
    assert.equal((await get({ host: "127.0.0.1:9999" })).status, 401);
    assert.equal((await get({ host: "evil.example:9999", ...bearer })).status, 421);
  }));
