import assert from "node:assert/strict";
import { applyEvent, emptyModel, LiveView, plainLine, renderBlock } from "../../cli/live_view.ts";
import { explainFailure, failedStage } from "../../coordinator/failure_hint.ts";
import { failedLine } from "../../cli/run_summary.ts";
import { clip, terminalSafe } from "../../cli/output.ts";
import type { RunLogEvent } from "../../coordinator/run_log.ts";

const event = (name: string, payload: Record<string, unknown>): RunLogEvent => ({
  ts: new Date().toISOString(),
  event: name,
  payload,
});

const pool = event("task_pool_update", {
  phase: "execution",
  tasks: [{
    task_id: "execute-read",
    title: "Read notes",
    status: "in_progress",
    assigned_agent_id: "reader-1a2b",
    error: "",
  }],
});

Deno.test("without a terminal the view prints one plain line per interesting event", () => {
  let out = "";
  const view = new LiveView(false, (t) => out += t);
  view.onEvent(event("task_plan_created", { phase: "execution", subtask_count: 2 }));
  view.onEvent(pool);
  view.onEvent(
    event("tool_call", { tool: "file_io", ok: false, error: "no such file", agent_id: "a" }),
  );
  view.onEvent(event("approval_request", {
    kind: "agent_create",
    approval_id: "ab12",
    request: { summary: "Create a new agent?" },
  }));
  view.close();
  assert.equal(
    out,
    [
      "Plan (execution): 2 subtask(s)",
      "  tool file_io failed: no such file (a)",
      "Approval waiting (agent_create): Create a new agent? [id ab12]",
      "",
    ].join("\n"),
  );
  assert.ok(!out.includes("\x1b["), "no escape codes");
  assert.equal(plainLine(event("usage_update", {})), null);
});

Deno.test("on a terminal the view redraws one block in place with the table, approvals and cost", async () => {
  let out = "";
  const view = new LiveView(true, (t) => out += t);
  view.onEvent(pool);
  view.onEvent(event("usage_update", { input_tokens: 100, output_tokens: 20, cost_usd: 0.5 }));
  view.onEvent(event("approval_request", {
    approval_id: "ab12",
    request: { summary: "Create a new agent?" },
  }));
  await new Promise((r) => setTimeout(r, 150));
  assert.match(out, /Phase:.*execution.*Tokens:.*120.*Cost:.*\$0\.5000/);
  assert.match(out, /execute-read.*in_progress.*reader-1a2b/);
  assert.match(out, /Approval waiting: Create a new agent\? \[ab12\]/);
  const firstFrame = out;
  view.onEvent(event("approval_resolved", { approval_id: "ab12" }));
  view.close();
  const lines = firstFrame.trimEnd().split("\n").length;
  assert.ok(
    out.slice(firstFrame.length).startsWith(`\x1b[${lines}A\x1b[J`),
    "the block is redrawn",
  );
  assert.ok(!out.slice(firstFrame.length).includes("Approval waiting"));
});

Deno.test("without a terminal, pausing for an approval prompt writes no block and no escape codes", () => {
  let out = "";
  const view = new LiveView(false, (t) => out += t);
  view.onEvent(pool);
  view.pause();
  view.resume();
  view.pause();
  view.close();
  assert.equal(out, "");
});

Deno.test("text from models and files cannot send control sequences to the terminal", () => {
  const hostile = "\x1b]0;owned\x07\x1b[2J";
  assert.equal(clip(`a${hostile}b`, 80), "a]0;owned[2Jb");
  let plain = "";
  const view = new LiveView(false, (t) => plain += t);
  view.onEvent(event("tool_call", { tool: "file_io", ok: false, error: hostile, agent_id: "a" }));
  view.onEvent(event("approval_resolved", { approved: false, operator: "web", note: hostile }));
  assert.ok(!plain.includes("\x1b") && !plain.includes("\x07"), JSON.stringify(plain));
  assert.equal(terminalSafe("line 1\r\nline\t2\x9b"), "line 1\nline\t2");
});

Deno.test("on a narrow terminal the redraw moves up over wrapped lines too", async () => {
  let out = "";
  const view = new LiveView(true, (t) => out += t, () => 30);
  view.onEvent(event("tool_call", {
    tool: "file_io",
    ok: true,
    args: { op: "read", path: "a/very/long/path/that/wraps/on/a/narrow/terminal.txt" },
    task_id: "execute-read",
  }));
  await new Promise((r) => setTimeout(r, 120));
  const firstFrame = out;
  // deno-lint-ignore no-control-regex -- measuring what the terminal shows
  const rows = firstFrame.trimEnd().split("\n").map((l) => l.replace(/\x1b\[[0-9;]*m/g, ""))
    .reduce((n, l) => n + Math.max(1, Math.ceil([...l].length / 30)), 0);
  assert.ok(rows > firstFrame.trimEnd().split("\n").length, "the frame has a wrapped line");
  view.close();
  assert.ok(out.slice(firstFrame.length).startsWith(`\x1b[${rows}A\x1b[J`));
});

Deno.test("a running subtask shows a spinner, its elapsed time and the agent from its attempt", () => {
  const model = emptyModel();
  const started = Date.parse("2026-01-01T10:00:00Z");
  applyEvent(model, {
    ts: new Date(started).toISOString(),
    event: "task_pool_update",
    payload: {
      phase: "execution",
      tasks: [{
        task_id: "execute-read",
        title: "Read notes",
        status: "in_progress",
        assigned_agent_id: null,
        error: "",
      }],
    },
  });
  assert.match(renderBlock(model, started), /execute-read\s+in_progress\s+-/);
  applyEvent(model, {
    ts: new Date(started).toISOString(),
    event: "subtask_attempt_started",
    payload: { task_id: "execute-read", attempt: 1, max_attempts: 2, agent_id: "reader-1a2b" },
  });
  const early = renderBlock(model, started + 7_400);
  const later = renderBlock(model, started + 125_000);
  assert.match(early, /execute-read\s+\S running 7s\s+reader-1a2b\s+Read notes/);
  assert.match(later, /running 2m05s/);
  assert.notEqual(
    renderBlock(model, started + 7_400).split("\n")[2].slice(0, 20),
    renderBlock(model, started + 7_500).split("\n")[2].slice(0, 20),
    "the spinner turns",
  );
});

Deno.test("a waiting approval counts down; a timeout is shown as a timeout, not a person's deny", () => {
  const model = emptyModel();
  const now = Date.parse("2026-01-01T10:00:00Z");
  applyEvent(
    model,
    event("approval_request", {
      approval_id: "ab12",
      kind: "agent_create",
      request: {
        summary: 'Create a new agent for "Build" (role builder) that can run programs (bash)?',
      },
      expires_at: new Date(now + 600_000).toISOString(),
    }),
  );
  assert.match(
    renderBlock(model, now),
    /Approval waiting: Create a new agent .* \[ab12\] \(10:00 left\)/,
  );
  assert.match(renderBlock(model, now + 2_500), /\(9:58 left\)/);
  assert.equal(
    plainLine(event("approval_resolved", {
      approval_id: "ab12",
      approved: false,
      operator: "web_timeout",
      note: "timed_out_default_deny",
    })),
    "Approval timed out: nobody answered in time (timed_out_default_deny)",
  );
  assert.equal(
    plainLine(event("approval_resolved", {
      approved: true,
      operator: "always_rule",
      note: "always_rule:rule_0123456789abcdef",
    })),
    "Approval granted by the standing rule rule_0123456789abcdef",
  );
});

Deno.test("a failure is explained in one line with its fix, naming the phase that failed", () => {
  const model = emptyModel();
  applyEvent(
    model,
    event("task_pool_update", {
      phase: "execution",
      tasks: [{
        task_id: "execute-build",
        title: "Build",
        status: "failed",
        assigned_agent_id: "builder-1",
        error: "max_agents_per_run_exceeded (3)",
      }],
    }),
  );
  assert.match(
    renderBlock(model),
    /✗ execute-build: the run used all the agents it may \(max_agents_per_run_exceeded \(3\)\); fix: raise CLOSED_CLAW_MAX_AGENTS_PER_RUN/,
  );
  assert.match(
    plainLine(
      event("subtask_attempt_failed", {
        task_id: "t",
        attempt: 1,
        error: "agent_create_denied: x",
      }),
    )!,
    /the new agent was not approved .*; fix: answer 'yes' or 'always' when asked/,
  );
  assert.equal(failedStage("discovery_phase_failed", "execute"), "discovery");
  assert.equal(failedStage("budget_exceeded: $1", "execute"), "execute");
  assert.match(explainFailure("discovery_phase_failed"), /^a discovery subtask failed/);
});

Deno.test("pausing for a question keeps the last frame on screen and draws the next one below", async () => {
  let out = "";
  const view = new LiveView(true, (t) => out += t);
  view.onEvent(pool);
  await new Promise((r) => setTimeout(r, 120));
  view.pause();
  out += "QUESTION\n";
  view.resume();
  view.close();
  const afterQuestion = out.slice(out.indexOf("QUESTION"));
  assert.ok(
    !afterQuestion.slice("QUESTION\n".length).startsWith("\x1b["),
    "nothing above the question is cleared: the next frame starts below it",
  );
  assert.match(out.slice(0, out.indexOf("QUESTION")), /execute-read/);
  assert.match(afterQuestion, /execute-read/);
});

Deno.test("a failed run's last line names the failure, what it means and the fix", () => {
  assert.equal(
    failedLine("discovery_phase_failed", "run_1"),
    "Task failed: discovery_phase_failed (a discovery subtask failed). Fix: see that subtask's line, then `closed-claw resume run_1`",
  );
  assert.match(
    failedLine("budget_exceeded: spent $1.2 of $1.", "run_1"),
    /^Task failed: budget_exceeded: spent \$1\.2 of \$1 \(the run's budget ran out\)\. Fix: `closed-claw resume run_1 --max-cost-usd <usd>`/,
  );
});

Deno.test("a terminal that reports no width never makes a redraw move up past its block", async () => {
  let out = "";
  const view = new LiveView(true, (t) => out += t, () => 0);
  view.onEvent(pool);
  await new Promise((r) => setTimeout(r, 120));
  const lines = out.trimEnd().split("\n").length;
  view.close();
  assert.ok(out.slice(out.indexOf("\x1b[")).startsWith(`\x1b[${lines}A\x1b[J`));
});

Deno.test("a capsule on a worker machine is named: a plain line, and @worker beside its agent", () => {
  const started = event("capsule_started", {
    task_id: "execute-read",
    agent_id: "reader-1a2b",
    sandbox: "bwrap",
    worker: "build-1",
  });
  assert.equal(plainLine(started), "[execute-read] capsule on worker build-1 (bwrap)");
  assert.equal(plainLine(event("capsule_started", { task_id: "t", sandbox: "bwrap" })), null);
  assert.equal(
    plainLine(event("capsule_started", { task_id: "t", sandbox: "bwrap", warm: "kept" })),
    "[t] capsule already running (kept)",
  );
  const model = emptyModel();
  applyEvent(model, pool);
  applyEvent(model, event("subtask_attempt_started", { task_id: "execute-read", agent_id: "r" }));
  applyEvent(model, started);
  assert.match(renderBlock(model, Date.now()), /reader-1a2b @build-1/);
});
