/**
 * A real scripted run exported over OTLP/HTTP JSON to a receiver started
 * here, and the same spans from `GET /api/runs/:id/trace` and on the run page.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../store/mod.ts";
import { resumeRun, startRun } from "../../coordinator/mod.ts";
import { loadRunTrace } from "../../coordinator/trace.ts";
import { startWebServer } from "../../web/server.ts";
import { tempDir } from "../helpers/temp.ts";
import {
  finalStep,
  notesBrain,
  READ_BOTH_PLAN,
  startBrain,
  toolStep,
} from "../helpers/coordinator_brain.ts";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: Record<string, unknown> }[];
  status: { code: number; message?: string };
}

/** An OTLP/HTTP receiver on a free port, keeping each POST /v1/traces body and its headers. */
function startReceiver(status = 200) {
  const bodies: { headers: Headers; body: Record<string, unknown> }[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (req.method !== "POST" || path !== "/v1/traces") return new Response("no", { status: 404 });
    bodies.push({ headers: req.headers, body: await req.json() });
    return Response.json({}, { status });
  });
  return { bodies, url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

/** Sets OTEL_* for this test only (the coordinator reads the process environment). */
function withEnv(vars: Record<string, string>): Disposable {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  for (const [k, v] of Object.entries(vars)) Deno.env.set(k, v);
  return {
    [Symbol.dispose]() {
      for (const [k, v] of Object.entries(before)) {
        if (v === undefined) Deno.env.delete(k);
        else Deno.env.set(k, v);
      }
    },
  };
}

/** The spans of an export body (one resource, one scope). */
function spansOf(body: Record<string, unknown>): OtlpSpan[] {
  const resource = (body.resourceSpans as { scopeSpans: { spans: OtlpSpan[] }[] }[])[0];
  return resource.scopeSpans[0].spans;
}

const attr = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value ? Object.values(value)[0] : undefined;
};

Deno.test("a finished run's spans go to the OTLP endpoint, and the trace route returns them", async () => {
  await using dir = await tempDir();
  const receiver = startReceiver();
  const { fake, settings, workspace } = await startBrain(dir.path, notesBrain());
  await Deno.writeTextFile(join(workspace, "notes.txt"), "hello world\nsecond line\n");
  const store = openStore(settings.dbPath);
  try {
    let runId = "";
    {
      using _env = withEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_HEADERS: "x-collector-key=k%201",
        OTEL_SERVICE_NAME: "claw-trace-test",
      });
      const run = startRun({ settings, store }, { task: "What is the first line of notes.txt?" });
      runId = run.runId;
      const outcome = await run.done;
      assert.equal(outcome.status, "ok", outcome.error);
    }
    // One export, sent before the run's promise settled.
    assert.equal(receiver.bodies.length, 1);
    const { headers, body } = receiver.bodies[0];
    assert.equal(headers.get("content-type"), "application/json");
    assert.equal(headers.get("x-collector-key"), "k 1");
    // deno-lint-ignore no-explicit-any
    const resource = (body as any).resourceSpans[0];
    assert.deepEqual(resource.resource.attributes[0], {
      key: "service.name",
      value: { stringValue: "claw-trace-test" },
    });
    const spans: OtlpSpan[] = resource.scopeSpans[0].spans;
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const parentOf = (s: OtlpSpan) => byId.get(s.parentSpanId ?? "");

    // One trace, whose id is the run's, with one root: the run.
    assert.deepEqual([...new Set(spans.map((s) => s.traceId))], [runId]);
    const roots = spans.filter((s) => !s.parentSpanId);
    assert.deepEqual(roots.map((s) => s.name), ["run"]);
    const root = roots[0];
    assert.equal(root.status.code, 1);
    assert.ok(spans.every((s) => !s.parentSpanId || byId.has(s.parentSpanId)), "dangling parent");
    assert.ok(spans.every((s) => BigInt(s.endTimeUnixNano) >= BigInt(s.startTimeUnixNano)));

    const subtask = spans.find((s) => s.name === "subtask execute-read-notes")!;
    assert.equal(parentOf(subtask), root);
    assert.ok(spans.some((s) => s.name === "plan execution" && parentOf(s) === root));
    const attempt = spans.find((s) => attr(s, "gen_ai.operation.name") === "invoke_agent")!;
    assert.equal(parentOf(attempt), subtask);
    assert.equal(attr(attempt, "closed_claw.attempt"), "1");
    assert.ok(spans.some((s) => s.name === "capsule_start" && parentOf(s) === attempt));
    assert.ok(spans.some((s) => s.name.startsWith("route ") && parentOf(s) === subtask));

    const steps = spans.filter((s) => attr(s, "closed_claw.purpose") === "agent_step");
    assert.equal(steps.length, 2);
    const chat = steps[0];
    assert.equal(chat.name, "chat gpt-4o-mini");
    assert.equal(parentOf(chat), attempt);
    assert.equal(chat.kind, 3);
    assert.equal(attr(chat, "gen_ai.operation.name"), "chat");
    assert.equal(attr(chat, "gen_ai.provider.name"), "openai");
    assert.equal(attr(chat, "gen_ai.request.model"), "gpt-4o-mini");
    assert.ok(Number(attr(chat, "gen_ai.usage.input_tokens")) > 0);
    assert.ok(Number(attr(chat, "gen_ai.usage.output_tokens")) > 0);

    const tool = spans.find((s) => s.name === "execute_tool file_io")!;
    assert.ok(tool, spans.map((s) => s.name).join());
    assert.equal(parentOf(tool), attempt);
    assert.equal(attr(tool, "gen_ai.operation.name"), "execute_tool");
    assert.equal(attr(tool, "gen_ai.tool.name"), "file_io");
    assert.match(String(attr(tool, "gen_ai.tool.call.arguments")), /notes\.txt/);
    assert.equal(tool.status.code, 1);
    // The tool ran between the step that asked for it and the one that read its result.
    assert.ok(BigInt(tool.startTimeUnixNano) >= BigInt(chat.endTimeUnixNano) - 1_000_000n);

    const judge = spans.find((s) => attr(s, "closed_claw.purpose") === "judge")!;
    assert.equal(parentOf(judge)?.name, "validation");
    assert.equal(parentOf(parentOf(judge)!), attempt);
    assert.ok(spans.some((s) => s.name === "synthesis" && parentOf(s) === root));
    // Nothing secret went out.
    assert.ok(!JSON.stringify(body).includes("test-key-0123456789"));

    // The dashboard API serves the same spans (behind the token like every /api route).
    const web = startWebServer({ settings, store, coordinator: null }, { port: 0 });
    try {
      const denied = await fetch(`${web.url}/api/runs/${runId}/trace`);
      assert.equal(denied.status, 401);
      await denied.body?.cancel();
      const res = await fetch(`${web.url}/api/runs/${runId}/trace`, {
        headers: { authorization: `Bearer ${web.token}` },
      });
      assert.equal(res.status, 200);
      const trace = await res.json();
      assert.equal(trace.trace_id, runId);
      assert.deepEqual(
        trace.spans.map((s: { span_id: string }) => s.span_id).sort(),
        spans.map((s) => s.spanId).sort(),
      );
      // The run page draws it as a waterfall, grouped by subtask, a details panel per span.
      const page = await fetch(`${web.url}/runs/${runId}`, {
        headers: { authorization: `Bearer ${web.token}` },
      });
      assert.equal(page.status, 200);
      const html = await page.text();
      assert.match(html, /<h2>Trace/);
      assert.match(html, /<h3 class="mono">execute-read-notes<\/h3>/);
      assert.equal(html.match(/<details class="span-row"/g)?.length, spans.length);
      assert.match(html, /execute_tool file_io/);
      assert.match(html, /gen_ai\.usage\.input_tokens/);
      const missing = await fetch(`${web.url}/api/runs/${"f".repeat(32)}/trace`, {
        headers: { authorization: `Bearer ${web.token}` },
      });
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
    } finally {
      await web.shutdown();
    }
  } finally {
    store.close();
    await fake.close();
    await receiver.close();
  }
});

Deno.test("a collector that refuses the trace costs one warning line, never the run", async () => {
  await using dir = await tempDir();
  const receiver = startReceiver(503);
  const { fake, settings, workspace } = await startBrain(dir.path, notesBrain());
  await Deno.writeTextFile(join(workspace, "notes.txt"), "hello world\n");
  const store = openStore(settings.dbPath);
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args.join(" "));
  try {
    using _env = withEnv({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
    });
    const outcome = await startRun({ settings, store }, {
      task: "What is the first line of notes.txt?",
    }).done;
    assert.equal(outcome.status, "ok", outcome.error);
    assert.equal(receiver.bodies.length, 1);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /trace of run \w+ was not exported to .*: HTTP 503/);
  } finally {
    console.warn = warn;
    store.close();
    await fake.close();
    await receiver.close();
  }
});

Deno.test("a run stopped by its budget and resumed: one trace, the first part's ids kept, only new spans sent again", async () => {
  await using dir = await tempDir();
  const receiver = startReceiver();
  let expensive = true;
  const { fake, settings, workspace } = await startBrain(dir.path, {
    plan: () => READ_BOTH_PLAN,
    agent: ({ prompt, step, last }) => {
      const file = prompt.includes("Read second.txt") ? "second.txt" : "first.txt";
      if (step > 0) return finalStep(`${file}: ${last.slice(0, 80)}`);
      const read = toolStep("file_io", { op: "read", path: file });
      // A million input tokens of gpt-4o-mini cost $0.15, over the $0.05 budget.
      return file === "second.txt" && expensive
        ? { json: read, usage: { input: 1_000_000, output: 10 } }
        : read;
    },
    synthesis: "both read",
  });
  await Deno.writeTextFile(join(workspace, "first.txt"), "1");
  await Deno.writeTextFile(join(workspace, "second.txt"), "2");
  const store = openStore(settings.dbPath);
  const deps = { settings, store };
  const logFile = (id: string) => join(settings.runLogsDir, `${id}.jsonl`);
  try {
    using _env = withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    const stopped = await startRun(deps, { task: "Read both files", maxCostUsd: 0.05 }).done;
    assert.equal(stopped.status, "error");
    const before = (await loadRunTrace(store, logFile(stopped.runId), stopped.runId))!;
    expensive = false;
    const resumed = await resumeRun(deps, stopped.runId, { maxCostUsd: 5 }).done;
    assert.equal(resumed.status, "ok", resumed.error);
    const after = (await loadRunTrace(store, logFile(stopped.runId), stopped.runId))!;

    // One trace with one root, every parent present, every id once.
    assert.equal(after.trace_id, before.trace_id);
    assert.equal(after.spans.filter((s) => !s.parent_span_id).length, 1);
    const ids = new Set(after.spans.map((s) => s.span_id));
    assert.equal(ids.size, after.spans.length);
    assert.ok(after.spans.every((s) => !s.parent_span_id || ids.has(s.parent_span_id)));
    // What the first part recorded keeps its ids, and its spans their parents.
    const parentBefore = new Map(before.spans.map((s) => [s.span_id, s.parent_span_id]));
    for (const s of after.spans.filter((s) => parentBefore.has(s.span_id))) {
      assert.equal(s.parent_span_id, parentBefore.get(s.span_id), s.name);
    }
    assert.ok(before.spans.every((s) => ids.has(s.span_id)));
    // The second subtask ran twice: an attempt stopped by the budget, then one that passed.
    const second = after.spans.find((s) => s.name === "subtask execute-second")!;
    const attempts = after.spans.filter((s) =>
      s.kind === "attempt" && s.parent_span_id === second.span_id
    );
    assert.ok(attempts.length >= 2, attempts.map((a) => a.name).join());
    assert.equal(attempts[0].status, "error");
    assert.equal(attempts[attempts.length - 1].status, "ok");
    assert.equal(after.spans[0].status, "ok");
    assert.equal(after.spans[0].attributes["closed_claw.resumes"], 1);

    // Two exports: the second sends the root again and what is new, not the first part's spans.
    assert.equal(receiver.bodies.length, 2);
    const sent = (i: number) => spansOf(receiver.bodies[i].body);
    const firstIds = new Set(sent(0).map((s) => s.spanId));
    assert.deepEqual(firstIds, new Set(before.spans.map((s) => s.span_id)));
    const again = sent(1).filter((s) => firstIds.has(s.spanId)).map((s) => s.name);
    assert.ok(again.includes("run"));
    assert.ok(!again.includes("plan execution"), again.join());
    assert.ok(!again.includes("subtask execute-first"), again.join());
    const lastAttempt = attempts[attempts.length - 1];
    assert.ok(sent(1).some((s) => s.spanId === lastAttempt.span_id));
  } finally {
    store.close();
    await fake.close();
    await receiver.close();
  }
});
