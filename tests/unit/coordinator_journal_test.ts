import assert from "node:assert/strict";
import { openJournal, startMismatch } from "../../coordinator/journal.ts";
import type { RunContext } from "../../coordinator/context.ts";
import type { GatedContext } from "../../coordinator/data_flow_gate.ts";
import type { Subtask } from "../../coordinator/types.ts";
import { openStore } from "../../store/mod.ts";

const usage = { input_tokens: 3, output_tokens: 2 };
const SECRET = "db password is hunter2";

function start(deps: Record<string, string>) {
  return { v: 1, type: "start", task: "t", context: { subtask: { depends_on_results: deps } } };
}

function gated(deps: Record<string, string>, withheld: string[] = []): GatedContext {
  return { dependencyResults: deps, discoveryResults: {}, withheld };
}

function fakeCtx(store: ReturnType<typeof openStore>, events: unknown[][]): RunContext {
  return {
    state: { run_id: "run_1" },
    store,
    log: { emit: (...args: unknown[]) => events.push(args) },
  } as unknown as RunContext;
}

const subtask = { task_id: "t2" } as Subtask;

Deno.test("journal: a conversation is continued only by the agent it was started for", () => {
  const store = openStore(":memory:");
  try {
    const events: unknown[][] = [];
    const ctx = fakeCtx(store, events);
    const first = openJournal(ctx, subtask, "agent_reader", gated({ t1: SECRET }));
    assert.ok(!("inDoubt" in first));
    first.recordStart(start({ t1: SECRET }));
    first.recordModel(1, "h1", { text: "{}", usage });
    // The capsule crashed; the agent was deleted and the role went to another (networked) one.
    const next = openJournal(ctx, subtask, "agent_web", gated({ t1: SECRET }));
    assert.ok(!("inDoubt" in next));
    assert.equal(next.key.conversation, 2, "a new conversation, not agent_reader's replayed");
    assert.equal(next.start(), null);
    assert.match(JSON.stringify(events), /journal_diverged/);
    // The same agent continues its own conversation.
    next.recordStart(start({ t1: SECRET }));
    const again = openJournal(ctx, subtask, "agent_web", gated({ t1: SECRET }));
    assert.ok(!("inDoubt" in again));
    assert.equal(again.key.conversation, 2);
  } finally {
    store.close();
  }
});

Deno.test("journal: a saved start holding a result the data-flow gate now withholds is not replayed", () => {
  const store = openStore(":memory:");
  try {
    const ctx = fakeCtx(store, []);
    const first = openJournal(ctx, subtask, "agent_a", gated({ t1: SECRET }));
    assert.ok(!("inDoubt" in first));
    first.recordStart(start({ t1: SECRET }));
    // On resume the gate denied t1 for this agent (e.g. it can now reach the network).
    const line = "[withheld] The result of subtask t1 was withheld from this agent";
    const next = openJournal(ctx, subtask, "agent_a", gated({ t1: line }, [line]));
    assert.ok(!("inDoubt" in next));
    assert.equal(next.key.conversation, 2);
    assert.equal(next.start(), null, "the private text does not reach the agent again");
    // More results than before (another subtask finished meanwhile) still continue it.
    assert.equal(
      startMismatch(start({ t1: SECRET }), "a", "a", gated({ t1: SECRET, t3: "x" })),
      "",
    );
  } finally {
    store.close();
  }
});

Deno.test("journal: a conversation not continued with a side effect in flight stops the subtask as in doubt", () => {
  const store = openStore(":memory:");
  try {
    const ctx = fakeCtx(store, []);
    const first = openJournal(ctx, subtask, "agent_a", gated({}));
    assert.ok(!("inDoubt" in first));
    first.recordStart(start({}));
    first.recordToolRequest(1, "h", { tool: "terminal", args: { command: "pay" }, reason: "" });
    first.recordToolDecision(1, { allowed: true, args: { command: "pay" }, reason: "" }, true);
    const next = openJournal(ctx, subtask, "agent_b", gated({}));
    assert.ok("inDoubt" in next);
    assert.match(next.inDoubt, /^side_effect_in_doubt: The terminal call .*pay/);
    // The next attempt starts afresh.
    const after = openJournal(ctx, subtask, "agent_b", gated({}));
    assert.ok(!("inDoubt" in after));
    assert.equal(after.key.conversation, 2);
  } finally {
    store.close();
  }
});
