import assert from "node:assert/strict";
import { LiveView, plainLine } from "../../cli/live_view.ts";
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
