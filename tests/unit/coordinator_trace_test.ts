/** Spans built from a recorded run: parent links, timing, attributes, ids; OTLP encoding. */
import assert from "node:assert/strict";
import {
  buildTrace,
  genAiProvider,
  spanIdOf,
  traceIdOf,
  type TraceInput,
  type TraceSpan,
} from "../../coordinator/trace.ts";
import {
  encodeOtlp,
  otlpConfig,
  otlpValue,
  parseHeaders,
  unixNano,
} from "../../coordinator/otlp.ts";
import { spansToExport } from "../../coordinator/trace_export.ts";
import type { RunLogEvent } from "../../coordinator/run_log.ts";
import type { LlmCall, ToolEvent } from "../../store/events_repos.ts";

const RUN = "0123456789abcdef0123456789abcdef";
const T0 = Date.parse("2026-01-01T10:00:00.000Z");
const at = (ms: number) => new Date(T0 + ms).toISOString();
const ev = (ms: number, event: string, payload: Record<string, unknown> = {}): RunLogEvent => ({
  ts: at(ms),
  event,
  payload,
});

let callId = 0;
function call(endMs: number, latency: number, fields: Partial<LlmCall>): LlmCall {
  return {
    id: ++callId,
    run_id: RUN,
    task_id: null,
    agent_id: null,
    purpose: "plan",
    provider: "openai",
    model: "gpt-4o-mini",
    input_tokens: 100,
    output_tokens: 10,
    cost_usd: 0.001,
    latency_ms: latency,
    outcome: "ok",
    error: "",
    created_at: at(endMs),
    ...fields,
  };
}

function tool(endMs: number, latency: number, fields: Partial<ToolEvent>): ToolEvent {
  return {
    id: 1,
    run_id: RUN,
    task_id: "t1",
    agent_id: "reader-1",
    attempt: 1,
    tool: "file_io",
    args: { op: "read", path: "notes.txt", token: "[REDACTED]" },
    allowed: true,
    ok: true,
    reason: "allowed",
    error: "",
    result: { content: "hello" },
    latency_ms: latency,
    created_at: at(endMs),
    ...fields,
  };
}

/** One subtask, a failed first attempt and a passing second one, an approval, a synthesis. */
function recordedRun(): TraceInput {
  callId = 0;
  const A = "reader-1";
  return {
    run: {
      run_id: RUN,
      task: "Read notes.txt",
      status: "ok",
      created_at: at(0),
      finished_at: at(2000),
      session_id: "sess",
      input_tokens: 500,
      output_tokens: 50,
      cost_usd: 0.005,
    },
    events: [
      ev(1, "task_ingested", { task: "Read notes.txt" }),
      ev(200, "task_plan_created", { phase: "execution", subtask_count: 1 }),
      ev(210, "task_embedded", { task_id: "t1" }),
      ev(212, "routing_decision", { task_id: "t1", decision: "create", rerank_method: "none" }),
      ev(215, "approval_request", {
        approval_id: "ap1",
        kind: "agent_create",
        request: { task_id: "t1" },
      }),
      ev(300, "approval_resolved", { approval_id: "ap1", approved: true, operator: "auto" }),
      ev(320, "agent_created_for_role", { task_id: "t1", agent_id: A }),
      ev(330, "subtask_attempt_started", { task_id: "t1", attempt: 1, agent_id: A }),
      ev(500, "capsule_started", { task_id: "t1", agent_id: A, sandbox: "bwrap", spawn_ms: 40 }),
      ev(700, "subtask_verdict", { task_id: "t1", attempt: 1, passed: false }),
      ev(701, "subtask_attempt_failed", {
        task_id: "t1",
        attempt: 1,
        agent_id: A,
        error: "criteria_not_met: the answer does not show it",
      }),
      ev(710, "subtask_attempt_started", { task_id: "t1", attempt: 2, agent_id: A }),
      ev(800, "capsule_started", {
        task_id: "t1",
        agent_id: A,
        sandbox: "bwrap",
        spawn_ms: 30,
        worker: "w2",
        warm: "kept",
      }),
      ev(1000, "subtask_verdict", { task_id: "t1", attempt: 2, passed: true }),
      ev(1001, "subtask_attempt_succeeded", { task_id: "t1", attempt: 2, agent_id: A }),
      ev(1100, "run_summary", { status: "ok" }),
      ev(1500, "synthesis_complete", { llm_synthesized: true }),
      ev(1999, "run_finished", { status: "ok" }),
    ],
    llmCalls: [
      call(199, 150, { purpose: "plan" }),
      call(318, 10, { purpose: "profile", task_id: "t1" }),
      call(600, 50, {
        purpose: "agent_step",
        task_id: "t1",
        agent_id: A,
        cached_input_tokens: 64,
      }),
      call(699, 20, { purpose: "judge", task_id: "t1", agent_id: A }),
      call(850, 20, {
        purpose: "agent_step",
        task_id: "t1",
        agent_id: A,
        outcome: "timeout",
        error: "the model did not answer",
      }),
      call(900, 30, { purpose: "agent_step", task_id: "t1", agent_id: A }),
      call(999, 20, { purpose: "judge", task_id: "t1", agent_id: A }),
      call(1499, 300, { purpose: "synthesize", provider: "claude", model: "claude-x" }),
    ],
    toolEvents: [
      tool(650, 40, { id: 1, attempt: 1 }),
      tool(950, 10, { id: 2, attempt: 2, ok: false, error: "not_found: no such file" }),
    ],
    subtasks: [{
      run_id: RUN,
      task_id: "t1",
      phase: "execution",
      title: "Read it",
      description: "",
      role_tag: "reader",
      depends_on: [],
      acceptance_criteria: ["says hello"],
      requires_tool: true,
      status: "completed",
      assigned_agent_id: A,
      result: "hello",
      error: null,
      attempts: 2,
      position: 0,
      started_at: at(205),
      finished_at: at(1002),
    }],
  };
}

function tree(spans: TraceSpan[]) {
  const byId = new Map(spans.map((s) => [s.span_id, s]));
  const parentOf = (s: TraceSpan) => (s.parent_span_id ? byId.get(s.parent_span_id)! : null);
  const one = (pred: (s: TraceSpan) => boolean, what: string) => {
    const found = spans.filter(pred);
    assert.equal(found.length, 1, `${what}: ${found.map((s) => s.name).join()}`);
    return found[0];
  };
  return { parentOf, one };
}

Deno.test("trace: the run is the root; plan, subtask and synthesis are its children", () => {
  const trace = buildTrace(recordedRun());
  const { parentOf, one } = tree(trace.spans);
  assert.equal(trace.trace_id, RUN);
  const root = trace.spans[0];
  assert.equal(root.name, "run");
  assert.equal(root.parent_span_id, null);
  assert.equal(root.status, "ok");
  assert.equal(root.start_ms, T0);
  assert.equal(root.end_ms, T0 + 2000);
  assert.equal(root.attributes["gen_ai.usage.input_tokens"], 500);
  assert.ok(trace.spans.every((s) => s.trace_id === RUN));
  assert.ok(trace.spans.slice(1).every((s) => s.parent_span_id !== null));
  const plan = one((s) => s.kind === "plan", "plan");
  assert.equal(parentOf(plan), root);
  // The plan's model call started before the plan event: the plan span starts with it.
  assert.equal(plan.start_ms, T0 + 49);
  assert.equal(plan.end_ms, T0 + 200);
  const subtask = one((s) => s.kind === "subtask", "subtask");
  assert.equal(parentOf(subtask), root);
  assert.equal(subtask.attributes["closed_claw.task_id"], "t1");
  assert.equal(subtask.attributes["gen_ai.agent.id"], "reader-1");
  assert.equal(subtask.status, "ok");
  const synthesis = one((s) => s.kind === "synthesis", "synthesis");
  assert.equal(parentOf(synthesis), root);
  const synthCall = one((s) => parentOf(s) === synthesis, "synthesis call");
  assert.equal(synthCall.name, "chat claude-x");
  assert.equal(synthCall.attributes["gen_ai.provider.name"], "anthropic");
  assert.equal(synthesis.start_ms, T0 + 1199);
  assert.equal(synthesis.end_ms, T0 + 1500);
});

Deno.test("trace: route, approval wait, attempts, capsule start, model and tool calls, validation", () => {
  const trace = buildTrace(recordedRun());
  const { parentOf, one } = tree(trace.spans);
  const subtask = one((s) => s.kind === "subtask", "subtask");
  const route = one((s) => s.kind === "route", "route");
  assert.equal(parentOf(route), subtask);
  assert.deepEqual([route.start_ms - T0, route.end_ms - T0], [210, 320]);
  assert.equal(route.attributes["closed_claw.decision"], "create");
  assert.equal(route.attributes["gen_ai.agent.id"], "reader-1");
  const approval = one((s) => s.kind === "approval", "approval");
  assert.equal(parentOf(approval), route);
  assert.deepEqual([approval.start_ms - T0, approval.end_ms - T0], [215, 300]);
  assert.equal(approval.attributes["closed_claw.approved"], true);
  const profile = one((s) => s.attributes["closed_claw.purpose"] === "profile", "profile");
  assert.equal(parentOf(profile), route);

  const attempts = trace.spans.filter((s) => s.kind === "attempt");
  assert.equal(attempts.length, 2);
  const [first, second] = attempts;
  assert.ok(attempts.every((a) => parentOf(a) === subtask));
  assert.equal(first.name, "invoke_agent reader-1");
  assert.deepEqual([first.start_ms - T0, first.end_ms - T0], [330, 701]);
  assert.equal(first.status, "error");
  assert.equal(first.attributes["error.type"], "criteria_not_met");
  assert.equal(second.status, "ok");
  assert.equal(second.attributes["closed_claw.attempt"], 2);

  const capsules = trace.spans.filter((s) => s.kind === "capsule_start");
  assert.deepEqual(capsules.map((c) => parentOf(c)), [first, second]);
  assert.deepEqual([capsules[0].start_ms - T0, capsules[0].end_ms - T0], [330, 500]);
  // Where the second ran, and that it was already running (neither is set on the first).
  assert.equal(capsules[1].attributes["closed_claw.worker"], "w2");
  assert.equal(capsules[1].attributes["closed_claw.warm"], "kept");
  assert.equal(capsules[0].attributes["closed_claw.worker"], undefined);

  const chats = trace.spans.filter((s) => s.attributes["closed_claw.purpose"] === "agent_step");
  assert.deepEqual(chats.map((c) => parentOf(c)), [first, second, second]);
  const [step] = chats;
  assert.equal(step.name, "chat gpt-4o-mini");
  assert.deepEqual([step.start_ms - T0, step.end_ms - T0], [550, 600]);
  assert.equal(step.attributes["gen_ai.operation.name"], "chat");
  assert.equal(step.attributes["gen_ai.provider.name"], "openai");
  assert.equal(step.attributes["gen_ai.request.model"], "gpt-4o-mini");
  assert.equal(step.attributes["gen_ai.usage.input_tokens"], 100);
  assert.equal(step.attributes["gen_ai.usage.output_tokens"], 10);
  assert.equal(step.attributes["gen_ai.usage.cache_read.input_tokens"], 64);
  assert.equal(step.attributes["closed_claw.cost_usd"], 0.001);
  assert.equal(chats[1].status, "error");
  assert.equal(chats[1].attributes["error.type"], "timeout");
  assert.equal(chats[1].status_message, "the model did not answer");

  const tools = trace.spans.filter((s) => s.kind === "execute_tool");
  assert.deepEqual(tools.map((t) => parentOf(t)), [first, second]);
  assert.equal(tools[0].name, "execute_tool file_io");
  assert.deepEqual([tools[0].start_ms - T0, tools[0].end_ms - T0], [610, 650]);
  assert.equal(tools[0].attributes["gen_ai.tool.name"], "file_io");
  assert.equal(tools[0].attributes["gen_ai.operation.name"], "execute_tool");
  // Arguments as the run log has them: already redacted.
  assert.match(String(tools[0].attributes["gen_ai.tool.call.arguments"]), /\[REDACTED\]/);
  assert.equal(tools[0].attributes["gen_ai.tool.call.result"], '{"content":"hello"}');
  assert.equal(tools[1].status, "error");
  assert.equal(tools[1].attributes["error.type"], "not_found");

  const validations = trace.spans.filter((s) => s.kind === "validation");
  assert.deepEqual(validations.map((v) => parentOf(v)), [first, second]);
  assert.equal(validations[0].status, "error");
  assert.deepEqual([validations[0].start_ms - T0, validations[0].end_ms - T0], [679, 700]);
  const judges = trace.spans.filter((s) => s.attributes["closed_claw.purpose"] === "judge");
  assert.deepEqual(judges.map((j) => parentOf(j)), validations);

  // Every child lies within its parent.
  for (const s of trace.spans.slice(1)) {
    const p = parentOf(s)!;
    assert.ok(s.start_ms >= p.start_ms && s.end_ms <= p.end_ms, `${s.name} outside ${p.name}`);
  }
});

Deno.test("trace: ids are stable, derived from the run; a resumed run keeps them and adds new ones", () => {
  const input = recordedRun();
  const a = buildTrace(input);
  const b = buildTrace(recordedRun());
  assert.deepEqual(a.spans.map((s) => s.span_id), b.spans.map((s) => s.span_id));
  assert.equal(a.spans[0].span_id, spanIdOf(RUN, "run"));
  assert.equal(new Set(a.spans.map((s) => s.span_id)).size, a.spans.length);
  assert.match(traceIdOf("run-a"), /^[0-9a-f]{32}$/);
  assert.ok(a.spans.every((s) => /^[0-9a-f]{16}$/.test(s.span_id)));

  // Resumed: the failed work reopened (attempts count from 1 again), run again, finished again.
  const resumed = recordedRun();
  resumed.run.finished_at = at(5000);
  resumed.events.push(
    ev(3000, "run_resumed", { stage: "planned" }),
    ev(3100, "subtask_attempt_started", { task_id: "t1", attempt: 1, agent_id: "reader-1" }),
    ev(3500, "subtask_attempt_succeeded", { task_id: "t1", attempt: 1, agent_id: "reader-1" }),
    ev(4999, "run_finished", { status: "ok" }),
  );
  resumed.toolEvents.push(tool(3400, 50, { id: 3, attempt: 1 }));
  const c = buildTrace(resumed);
  const { parentOf } = tree(c.spans);
  // Every span of the first part keeps its id.
  for (const s of a.spans) assert.ok(c.spans.some((x) => x.span_id === s.span_id), s.name);
  const attempts = c.spans.filter((s) => s.kind === "attempt");
  assert.equal(attempts.length, 3);
  assert.equal(new Set(c.spans.map((s) => s.span_id)).size, c.spans.length);
  const third = attempts[2];
  assert.equal(third.start_ms - T0, 3100);
  const lateTool = c.spans.find((s) => s.kind === "execute_tool" && s.start_ms - T0 === 3350)!;
  assert.equal(parentOf(lateTool), third);
  assert.equal(c.spans[0].end_ms - T0, 5000);
  assert.equal(c.spans[0].attributes["closed_claw.resumes"], 1);
  // The export after the resume sends the root and what ended since, not the first part again.
  const sent = spansToExport(
    c,
    Date.parse(String(c.spans[0].attributes["closed_claw.resumed_at"])),
  );
  assert.ok(sent.some((s) => s.kind === "run"));
  assert.ok(sent.includes(third) && sent.includes(lateTool));
  assert.ok(!sent.some((s) => s.kind === "plan" || s.kind === "validation"));
});

Deno.test("trace: a run still going has unfinished spans; once it stopped, an open attempt is an error", () => {
  const input = recordedRun();
  input.run.status = "running";
  input.run.finished_at = null;
  input.events = input.events.slice(0, 9); // up to the first capsule_started
  input.llmCalls = input.llmCalls.slice(0, 3); // up to the first agent step (ends at 600)
  input.toolEvents = [];
  input.subtasks = input.subtasks!.map((r) => ({ ...r, status: "in_progress", finished_at: null }));
  const trace = buildTrace(input);
  assert.equal(trace.spans[0].status, "unset");
  assert.equal(trace.spans[0].end_ms - T0, 600);
  const attempt = trace.spans.find((s) => s.kind === "attempt")!;
  assert.equal(attempt.end_ms - T0, 600); // the last event, widened by the step in flight
  assert.equal(attempt.status, "unset");
  assert.equal(trace.spans.find((s) => s.kind === "subtask")!.status, "unset");
  // The process died there: the run is marked interrupted, the attempt never ended.
  input.run.status = "interrupted";
  const stopped = buildTrace(input);
  const open = stopped.spans.find((s) => s.kind === "attempt")!;
  assert.equal(open.status, "error");
  assert.equal(open.status_message, "interrupted");
  assert.equal(stopped.spans[0].status, "error");
});

Deno.test("otlp: config from the standard variables", () => {
  assert.equal(otlpConfig({}), null);
  const base = otlpConfig({
    OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318/",
    OTEL_EXPORTER_OTLP_HEADERS: "api-key=a%20b,x-team=core",
    OTEL_SERVICE_NAME: "claw-test",
  })!;
  assert.equal(base.url, "http://127.0.0.1:4318/v1/traces");
  assert.deepEqual(base.headers, { "api-key": "a b", "x-team": "core" });
  assert.equal(base.serviceName, "claw-test");
  assert.equal(base.timeoutMs, 10_000);
  const full = otlpConfig({
    OTEL_EXPORTER_OTLP_ENDPOINT: "http://ignored:4318",
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:9999/custom/traces",
    OTEL_EXPORTER_OTLP_TIMEOUT: "2500",
  })!;
  assert.equal(full.url, "http://collector:9999/custom/traces");
  assert.equal(full.serviceName, "closed-claw");
  assert.equal(full.timeoutMs, 2500);
  assert.equal(
    otlpConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://x", OTEL_SDK_DISABLED: "true" }),
    null,
  );
  assert.equal(
    otlpConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://x", OTEL_TRACES_EXPORTER: "none" }),
    null,
  );
  assert.deepEqual(parseHeaders("bad,=x,k=v=w"), { k: "v=w" });
});

Deno.test("otlp: spans encode as resourceSpans/scopeSpans with typed attributes and nanoseconds", () => {
  const trace = buildTrace(recordedRun());
  const body = encodeOtlp(trace.spans, "claw-test");
  const [resource] = body.resourceSpans;
  assert.deepEqual(resource.resource.attributes[0], {
    key: "service.name",
    value: { stringValue: "claw-test" },
  });
  const spans = resource.scopeSpans[0].spans;
  assert.equal(spans.length, trace.spans.length);
  const root = spans[0];
  assert.equal(root.traceId, RUN);
  assert.equal("parentSpanId" in root, false);
  assert.equal(root.startTimeUnixNano, `${T0}000000`);
  assert.deepEqual(root.status, { code: 1 });
  const chat = spans.find((s) => s.name === "chat gpt-4o-mini")!;
  assert.equal(chat.kind, 3);
  const attr = (key: string) => chat.attributes.find((a) => a.key === key)?.value;
  assert.deepEqual(attr("gen_ai.usage.input_tokens"), { intValue: "100" });
  assert.deepEqual(attr("closed_claw.cost_usd"), { doubleValue: 0.001 });
  assert.deepEqual(attr("gen_ai.operation.name"), { stringValue: "chat" });
  const failed = spans.find((s) => s.status.code === 2 && s.name.startsWith("execute_tool"))!;
  assert.equal(failed.status.message, "not_found: no such file");
  assert.equal(unixNano(1.5), "1500000");
  assert.deepEqual(otlpValue(true), { boolValue: true });
  assert.deepEqual(otlpValue(["a"]), { arrayValue: { values: [{ stringValue: "a" }] } });
  assert.equal(genAiProvider("gemini"), "gcp.gemini");
  // Valid JSON end to end.
  assert.doesNotThrow(() => JSON.parse(JSON.stringify(body)));
});
