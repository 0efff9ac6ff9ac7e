import assert from "node:assert/strict";
import { JOURNAL_CUT, JOURNAL_MAX_ENTRY_CHARS, openStore } from "../../store/mod.ts";

const usage = { input_tokens: 3, output_tokens: 2 };

Deno.test("journal: steps are read back in order with their request, decision and result", () => {
  using store = disposable();
  const j = store.journal.conversation("run_1", "t1");
  assert.equal(j.key.conversation, 1);
  assert.equal(j.start(), null);
  j.recordStart({ v: 1, type: "start", task: "pay" });
  j.recordModel(1, "h1", { text: "{}", usage });
  j.recordToolRequest(2, "h2", { tool: "terminal", args: { cmd: "echo" }, reason: "" });
  j.recordToolDecision(2, { allowed: true, args: { cmd: "echo" }, reason: "" }, true);
  const steps = j.steps();
  assert.deepEqual(steps.map((s) => [s.step, s.kind]), [[1, "llm"], [2, "tool"]]);
  assert.deepEqual(steps[0].result, { text: "{}", usage });
  assert.equal(steps[1].result, null, "in flight: no result yet");
  assert.equal(steps[1].side_effects, true);
  j.recordToolResult(2, { ok: true, result: { stdout: "" }, error: "", ms: 1 });
  assert.deepEqual(j.steps()[1].result, { ok: true, result: { stdout: "" }, error: "", ms: 1 });
  assert.deepEqual(j.start(), { v: 1, type: "start", task: "pay" });
  // Another process sees the same conversation while it is open.
  assert.equal(store.journal.conversation("run_1", "t1").steps().length, 2);
});

Deno.test("journal: a closed conversation is followed by a new one that lists its effects", () => {
  using store = disposable();
  const one = store.journal.conversation("run_1", "t1");
  one.recordToolRequest(1, "h", { tool: "terminal", args: { cmd: "pay" }, reason: "" });
  one.recordToolDecision(1, { allowed: true, args: { cmd: "pay" }, reason: "" }, true);
  one.recordToolResult(1, { ok: true, result: {}, error: "", ms: 1 });
  one.recordToolRequest(2, "h2", { tool: "file_io", args: { op: "read" }, reason: "" });
  one.recordToolDecision(2, { allowed: true, args: { op: "read" }, reason: "" }, false);
  one.recordToolResult(2, { ok: true, result: {}, error: "", ms: 1 });
  one.close("judge said no");
  one.close("twice is once");
  const two = store.journal.conversation("run_1", "t1");
  assert.equal(two.key.conversation, 2);
  assert.deepEqual(two.steps(), []);
  const effects = store.journal.completedEffects("run_1", "t1", 2);
  assert.deepEqual(effects.map((e) => e.request), [{
    tool: "terminal",
    args: { cmd: "pay" },
    reason: "",
  }]);
  assert.equal(store.journal.conversation("run_1", "t2").key.conversation, 1, "per subtask");
});

Deno.test("journal: diverging sets the rest aside, and new steps take their place", () => {
  using store = disposable();
  const j = store.journal.conversation("run_1", "t1");
  for (let step = 1; step <= 3; step++) j.recordModel(step, `h${step}`, { text: `${step}`, usage });
  j.diverge(2);
  j.recordModel(2, "new", { text: "again", usage });
  assert.deepEqual(j.steps().map((s) => s.request_hash), ["h1", "new"]);
  const all = store.journal.listForRun("run_1");
  assert.equal(all.length, 4, "set aside, not deleted");
  assert.equal(all.filter((r) => r.superseded).length, 2);
});

Deno.test("journal: stored text is capped; a cut field reads back as cut", () => {
  using store = disposable();
  const j = store.journal.conversation("run_1", "t1");
  j.recordModel(1, "h", { text: "x".repeat(JOURNAL_MAX_ENTRY_CHARS * 2), usage });
  const [step] = j.steps();
  assert.equal(step.truncated, true);
  assert.equal(step.result, JOURNAL_CUT);
  const row = store.db.prepare("SELECT length(result_json) AS n FROM step_journal").get() as {
    n: number;
  };
  assert.equal(row.n, JOURNAL_MAX_ENTRY_CHARS);
});

function disposable() {
  const store = openStore(":memory:");
  return Object.assign(store, { [Symbol.dispose]: () => store.close() });
}
