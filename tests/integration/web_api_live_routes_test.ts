/** Live streams: run-log lines as another process writes them, resume, keep-alive, clean end, global snapshots. */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  openSse,
  seedRun,
  type SseMessage,
  startWebFixture,
  type WebFixture,
} from "../helpers/web_fixture.ts";
import { tempDir, testSettings } from "../helpers/temp.ts";
import { openStore } from "../../store/mod.ts";
import { startWebServer } from "../../web/server.ts";
import { LiveHub } from "../../web/live/hub.ts";

function append(
  fx: WebFixture,
  runId: string,
  event: string,
  payload: Record<string, unknown> = {},
) {
  Deno.writeTextFileSync(
    join(fx.settings.runLogsDir, `${runId}.jsonl`),
    JSON.stringify({ ts: new Date().toISOString(), event, payload }) + "\n",
    { append: true },
  );
}

async function nextData(stream: { next(): Promise<SseMessage | null> }): Promise<SseMessage> {
  while (true) {
    const message = await stream.next();
    if (message === null) throw new Error("stream ended");
    if (!message.comment) return message;
  }
}

Deno.test("web sse: run-log lines written by another process arrive live, in order, with line ids", async () => {
  await using fx = await startWebFixture();
  seedRun(fx, "cli-run", "task", [{ event: "task_ingested" }], "running");
  const stream = await openSse(`${fx.server.url}/api/runlog/cli-run/stream`, fx.server.token);
  try {
    const first = await nextData(stream);
    assert.equal(first.id, "1");
    assert.equal(JSON.parse(first.data).event, "task_ingested");
    append(fx, "cli-run", "task_plan_created", { n: 1 });
    append(fx, "cli-run", "subtask_attempt_started", { n: 2 });
    const second = await nextData(stream);
    const third = await nextData(stream);
    assert.deepEqual([second.id, third.id], ["2", "3"]);
    assert.equal(JSON.parse(third.data).event, "subtask_attempt_started");

    // A half-written line is held back until its newline arrives.
    const path = join(fx.settings.runLogsDir, "cli-run.jsonl");
    const line = JSON.stringify({ ts: new Date().toISOString(), event: "tool_call", payload: {} });
    Deno.writeTextFileSync(path, line.slice(0, 20), { append: true });
    await new Promise((r) => setTimeout(r, 150));
    Deno.writeTextFileSync(path, line.slice(20) + "\n", { append: true });
    const fourth = await nextData(stream);
    assert.equal(fourth.id, "4");
    assert.equal(JSON.parse(fourth.data).event, "tool_call");

    // The run ends: the stream says so and closes.
    fx.store.runs.update("cli-run", { status: "ok", finished_at: new Date().toISOString() });
    const end = await nextData(stream);
    assert.equal(end.event, "stream_end");
    assert.equal(JSON.parse(end.data).status, "ok");
    assert.equal(await stream.next(), null);
  } finally {
    await stream.close();
  }
});

Deno.test("web sse: Last-Event-ID resumes after the last line seen; finished runs replay then end", async () => {
  await using fx = await startWebFixture();
  seedRun(fx, "done-run", "task", [
    { event: "task_ingested" },
    { event: "task_plan_created" },
    { event: "synthesis_complete" },
  ]);
  const stream = await openSse(`${fx.server.url}/api/runlog/done-run/stream`, fx.server.token, {
    "last-event-id": "2",
  });
  try {
    const only = await nextData(stream);
    assert.equal(only.id, "3");
    assert.equal(JSON.parse(only.data).event, "synthesis_complete");
    assert.equal((await nextData(stream)).event, "stream_end");
  } finally {
    await stream.close();
  }
});

Deno.test("web sse: a quiet stream sends keep-alive comments", async () => {
  await using fx = await startWebFixture({ keepAliveMs: 50 });
  seedRun(fx, "quiet", "task", [], "running");
  const stream = await openSse(`${fx.server.url}/api/runlog/quiet/stream`, fx.server.token);
  try {
    const message = await stream.next();
    assert.equal(message?.comment, "keepalive");
  } finally {
    await stream.close();
  }
});

Deno.test("web sse: the global stream pushes active runs and pending approvals when they change", async () => {
  await using fx = await startWebFixture();
  const stream = await openSse(`${fx.server.url}/api/events/stream`, fx.server.token);
  try {
    const initial = JSON.parse((await nextData(stream)).data);
    assert.deepEqual(initial.active_runs, []);
    assert.equal(initial.pending_approvals, 0);

    seedRun(
      fx,
      "new-run",
      "a task that started elsewhere",
      [{ event: "task_ingested" }],
      "running",
    );
    let snapshot = JSON.parse((await nextData(stream)).data);
    assert.deepEqual(snapshot.active_runs.map((r: { run_id: string }) => r.run_id), ["new-run"]);

    const approval = fx.store.approvals.create({
      runId: "new-run",
      kind: "api_call",
      request: {},
      timeoutSec: 60,
    });
    snapshot = JSON.parse((await nextData(stream)).data);
    assert.equal(snapshot.pending_approvals, 1);
    assert.equal(snapshot.approvals[0].approval_id, approval.approval_id);
  } finally {
    await stream.close();
  }
});

Deno.test("web sse: unknown or invalid run ids", async () => {
  await using fx = await startWebFixture();
  const response = await fx.api("GET", "/api/runlog/..%2F..%2Fsecret/stream");
  assert.equal(response.status, 400);
  await response.body?.cancel();
});

/** Settles with "timeout" if `promise` takes longer than `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), ms));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

Deno.test("web sse: shutting down ends open streams instead of waiting for the browser to leave", async () => {
  await using fx = await startWebFixture();
  seedRun(fx, "open-run", "task", [{ event: "task_ingested" }], "running");
  const global = await openSse(`${fx.server.url}/api/events/stream`, fx.server.token);
  const runLog = await openSse(`${fx.server.url}/api/runlog/open-run/stream`, fx.server.token);
  try {
    await nextData(global);
    await nextData(runLog);
    assert.equal(await within(fx.server.shutdown(), 5000), undefined);
    assert.equal(await within(global.next(), 5000), null);
    assert.equal(await within(runLog.next(), 5000), null);
  } finally {
    await global.close();
    await runLog.close();
  }
});

Deno.test("web sse: aborting the server's signal (Ctrl-C) stops it with a stream open", async () => {
  await using temp = await tempDir("claw-web-");
  const settings = testSettings(temp.path);
  Deno.mkdirSync(settings.homeDir, { recursive: true });
  const store = openStore(settings.dbPath);
  const abort = new AbortController();
  const server = startWebServer({ settings, store, coordinator: null }, {
    port: 0,
    signal: abort.signal,
  });
  const stream = await openSse(`${server.url}/api/events/stream`, server.token);
  try {
    await nextData(stream);
    abort.abort();
    assert.equal(await within(server.finished, 5000), undefined);
    // The connection is closed: the client sees the end, or a cut connection.
    assert.equal(await within(stream.next().catch(() => null), 5000), null);
  } finally {
    await stream.close();
    store.close();
  }
});

Deno.test("web sse: a subscriber joining while the last one leaves still gets new lines", async () => {
  await using fx = await startWebFixture();
  seedRun(fx, "shared", "task", [{ event: "task_ingested" }], "running");
  const hub = new LiveHub({ runLogsDir: fx.settings.runLogsDir, dbPath: fx.settings.dbPath });
  const leaving = await hub.subscribeRun("shared", 0, () => {});
  const seen: string[] = [];
  const joining = hub.subscribeRun("shared", 0, (item) => seen.push(item.event.event));
  leaving(); // while the new subscriber is still reading the file
  const unsubscribe = await joining;
  append(fx, "shared", "task_plan_created");
  await hub.flush("shared");
  assert.deepEqual(seen, ["task_ingested", "task_plan_created"]);
  unsubscribe();
  hub.close();
});
