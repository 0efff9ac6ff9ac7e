/**
 * How the MCP tools find a run (id, unique prefix, `last`), word run events as
 * progress, and keep a client's workspace inside the configured one.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { findRun, progressMessage } from "../../mcp_server/mod.ts";
import { scopedWorkspace } from "../../mcp_server/runs.ts";
import { openStore } from "../../store/mod.ts";
import { tempDir, testSettings } from "../helpers/temp.ts";

Deno.test("findRun: an exact id, a unique prefix, `last`; clear errors otherwise", async () => {
  await using dir = await tempDir();
  const settings = testSettings(dir.path);
  Deno.mkdirSync(settings.homeDir, { recursive: true });
  const store = openStore(settings.dbPath);
  try {
    assert.throws(() => findRun(store, "last"), /There are no runs yet/);
    store.runs.create({ run_id: "abcd1111", task: "one" });
    store.runs.create({ run_id: "abcd2222", task: "two" });
    store.runs.create({ run_id: "ab", task: "short id" });
    assert.equal(findRun(store, "abcd1111").task, "one");
    assert.equal(findRun(store, " abcd2 ").task, "two");
    assert.equal(findRun(store, "ab").task, "short id", "an exact id wins over prefixes");
    assert.equal(findRun(store, "last").run_id, store.runs.list({ limit: 1 })[0].run_id);
    assert.throws(() => findRun(store, "abcd"), /"abcd" matches 2 runs: abcd\d{4}, abcd\d{4}\./);
    assert.equal(findRun(store, "abcd1").task, "one");
    assert.throws(() => findRun(store, "zzzz"), /No run with id zzzz\./);
    assert.throws(() => findRun(store, "a/../b"), /is not a run id/);
  } finally {
    store.close();
  }
});

Deno.test("progressMessage: the event's name and its telling fields; approvals say how to decide", () => {
  const ts = new Date().toISOString();
  assert.equal(
    progressMessage({ ts, event: "tool_started", payload: { tool: "file_io", args: { x: 1 } } }),
    "tool_started tool=file_io",
  );
  assert.equal(progressMessage({ ts, event: "run_finished", payload: {} }), "run_finished");
  assert.equal(
    progressMessage({
      ts,
      event: "approval_request",
      payload: { approval_id: "ap1", kind: "agent_create", request: { summary: "Create it?" } },
    }),
    "approval_request ap1: Create it? (decide with the approve or deny tool)",
  );
});

Deno.test("scopedWorkspace: a client's folder stays inside the workspace, on real paths", async () => {
  await using dir = await tempDir();
  const root = Deno.realPathSync(dir.path);
  const workspace = join(root, "ws");
  const outside = join(root, "elsewhere");
  Deno.mkdirSync(join(workspace, "sub"), { recursive: true });
  Deno.mkdirSync(outside);
  Deno.symlinkSync(outside, join(workspace, "link"));
  const settings = testSettings(root, { CLOSED_CLAW_WORKSPACE: workspace });
  assert.equal(scopedWorkspace(settings, undefined), undefined);
  assert.equal(scopedWorkspace(settings, "  "), undefined);
  assert.equal(scopedWorkspace(settings, "sub"), join(workspace, "sub"));
  assert.equal(scopedWorkspace(settings, join(workspace, "sub")), join(workspace, "sub"));
  for (const hostile of ["../elsewhere", outside, "link", "sub/../../elsewhere", "/"]) {
    assert.throws(
      () => scopedWorkspace(settings, hostile),
      /is outside the configured workspace/,
      hostile,
    );
  }
  assert.throws(() => scopedWorkspace(settings, "missing"), /does not exist/);
});
