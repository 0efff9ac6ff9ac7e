/** End-to-end runs of the whole pipeline against the fake OpenAI server with real capsules. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore, type Store } from "../../store/mod.ts";
import { resumeRun, type RunLogEvent, type RunState, startRun } from "../../coordinator/mod.ts";
import type { Settings } from "../../core/settings.ts";
import { promptText } from "../fakes/mod.ts";
import { tempDir } from "../helpers/temp.ts";
import {
  type Brain,
  brainHandler,
  finalStep,
  isAgentStep,
  notesBrain,
  seedAgent,
  startBrain,
  toolStep,
} from "../helpers/coordinator_brain.ts";

const CONFIG = new URL("../../deno.json", import.meta.url).pathname;
const DECIDER = new URL("../helpers/coordinator_decider.ts", import.meta.url).pathname;

const readStep = (path: string) => (input: { step: number; last: string }) =>
  input.step === 0
    ? toolStep("file_io", { op: "read", path })
    : finalStep(`Read ${path}: ${input.last.slice(0, 200)}`);

async function withBrain(
  brain: Brain,
  fn: (t: {
    settings: Settings;
    store: Store;
    workspace: string;
    requests: () => string[];
    taskStarts: () => string[];
  }) => Promise<void>,
  env: Record<string, string> = {},
) {
  await using dir = await tempDir();
  const { fake, settings, workspace } = await startBrain(dir.path, brain, env);
  const store = openStore(settings.dbPath);
  try {
    const taskStarts = () =>
      fake.requests.filter(isAgentStep)
        .map((r) =>
          String(r.body.messages.find((m: { role: string }) => m.role === "user")?.content)
        );
    await fn({
      settings,
      store,
      workspace,
      requests: () => fake.requests.map(promptText),
      taskStarts,
    });
  } finally {
    store.close();
    await fake.close();
  }
}

Deno.test("a complex task plans discovery, then execution from the discovery results", () =>
  withBrain({
    complexity: "complex",
    plan: (phase, prompt) =>
      phase === "discovery"
        ? [{
          task_id: "list-files",
          title: "List the workspace",
          description: "List the files in the workspace.",
          role_tag: "file-scout",
        }]
        : prompt.includes("alpha.txt")
        ? [{
          task_id: "write-summary",
          title: "Write summary.txt",
          description: "Write summary.txt naming the files found.",
          role_tag: "file-writer",
          writes_files: true,
          acceptance_criteria: ["summary.txt names alpha.txt"],
        }]
        : [],
    agent: ({ prompt, step, last }) => {
      if (prompt.includes("List the files")) {
        return step === 0
          ? toolStep("file_io", { op: "list", path: "." })
          : finalStep(`Files: ${last.includes("alpha.txt") ? "alpha.txt" : "none"}`);
      }
      return step === 0
        ? toolStep("file_io", { op: "write", path: "summary.txt", content: "alpha.txt\n" })
        : finalStep("Wrote summary.txt naming alpha.txt");
    },
  }, async ({ settings, store, workspace }) => {
    await Deno.writeTextFile(join(workspace, "alpha.txt"), "a");
    const events: RunLogEvent[] = [];
    const run = startRun({ settings, store }, {
      task: "Summarise which files exist into summary.txt",
      onEvent: (e) => events.push(e),
    });
    const outcome = await run.done;
    assert.equal(outcome.status, "ok", outcome.error);
    assert.equal(await Deno.readTextFile(join(workspace, "summary.txt")), "alpha.txt\n");
    const plans = events.filter((e) => e.event === "task_plan_created").map((e) => e.payload.phase);
    assert.deepEqual(plans, ["discovery", "execution"]);
    const state = store.runs.loadState<RunState>(run.runId)!;
    assert.deepEqual(Object.keys(state.discovery_results), ["discover-list-files"]);
    assert.deepEqual(Object.keys(state.execution_results), ["execute-write-summary"]);
    assert.equal(state.created_agents.length, 2);
    // Both agents get metrics, not only the first.
    for (const agent of state.created_agents) {
      assert.equal(store.agents.get(agent.agent_id)!.usage_count, 1);
    }
    const writer = store.agents.get(state.role_agent_map["file-writer"])!;
    assert.equal(writer.permissions.file_write, true);
    const scout = store.agents.get(state.role_agent_map["file-scout"])!;
    assert.equal(scout.permissions.file_write, false, "read-only work gets read-only permissions");
  }));

Deno.test("the first plan (complexity and plan in one reply) is validated and repaired like any plan", async () => {
  await using dir = await tempDir();
  const brain = notesBrain();
  const { fake, settings, workspace } = await startBrain(dir.path, brain);
  await Deno.writeTextFile(join(workspace, "notes.txt"), "hello world\n");
  const answer = brainHandler(brain);
  // The first reply forgets the complexity; the repair call gets the brain's full answer.
  fake.handle((req, index) => index === 0 ? { json: { subtasks: [] } } : answer(req, index));
  const store = openStore(settings.dbPath);
  try {
    const outcome = await startRun({ settings, store }, {
      task: "What is the first line of notes.txt?",
    }).done;
    assert.equal(outcome.status, "ok", outcome.error);
    const purposes = store.llmCalls.listForRun(outcome.runId).map((c) => c.purpose);
    assert.deepEqual(purposes.slice(0, 2), ["plan", "plan_repair"]);
    assert.match(promptText(fake.requests[1]), /did not match the task_plan JSON schema/);
    assert.equal(store.runs.loadState<RunState>(outcome.runId)!.task_complexity, "simple");
  } finally {
    store.close();
    await fake.close();
  }
});

Deno.test("a failed verdict feeds the retry, which then succeeds", () => {
  let judged = 0;
  return withBrain({
    plan: () => [{
      task_id: "read",
      title: "Read data.txt",
      description: "Read data.txt and quote it.",
      role_tag: "reader",
      acceptance_criteria: ["The answer quotes data.txt"],
    }],
    agent: readStep("data.txt"),
    judge: () => ++judged > 1,
  }, async ({ settings, store, workspace, requests }) => {
    await Deno.writeTextFile(join(workspace, "data.txt"), "42");
    const events: RunLogEvent[] = [];
    const run = startRun({ settings, store }, {
      task: "Quote data.txt",
      onEvent: (e) => events.push(e),
    });
    const outcome = await run.done;
    assert.equal(outcome.status, "ok", outcome.error);
    const failedAttempt = events.find((e) => e.event === "subtask_attempt_failed")!;
    assert.match(String(failedAttempt.payload.error), /acceptance_criteria_not_met/);
    const [subtask] = store.subtasks.listForRun(run.runId);
    assert.equal(subtask.attempts, 2);
    // The second attempt's capsule saw why the first failed.
    const retryPrompt = requests().find((p) => p.includes("Subtask attempt 2/2"))!;
    assert.match(retryPrompt, /Earlier attempts failed: acceptance_criteria_not_met/);
  });
});

Deno.test("a failing subtask fails its dependants and the run, with the failure report", () =>
  withBrain({
    plan: () => [
      {
        task_id: "a",
        title: "Read missing.txt",
        description: "Read missing.txt.",
        role_tag: "reader",
      },
      {
        task_id: "b",
        title: "Use it",
        description: "Use what a found.",
        role_tag: "reader",
        depends_on: ["a"],
      },
    ],
    agent: readStep("missing.txt"),
  }, async ({ settings, store }) => {
    const run = startRun({ settings, store }, { task: "Use missing.txt" });
    const outcome = await run.done;
    assert.equal(outcome.status, "error");
    assert.equal(outcome.error, "execution_phase_failed");
    assert.match(outcome.result, /^Unable to complete task\. Reason: execution_phase_failed/);
    const subtasks = store.subtasks.listForRun(run.runId);
    assert.deepEqual(subtasks.map((s) => [s.status, s.attempts]), [["failed", 2], ["failed", 0]]);
    assert.equal(subtasks[1].error, "dependency_failed");
    assert.match(subtasks[0].error!, /required_tool_failed/);
    const row = store.runs.get(run.runId)!;
    assert.equal(row.status, "error");
    const agent = store.agents.get(subtasks[0].assigned_agent_id!)!;
    assert.deepEqual([agent.usage_count, agent.failure_count], [1, 1]);
  }));

Deno.test("the run stops when its cost budget is spent", () =>
  withBrain({
    plan: () => [{
      task_id: "loop",
      title: "Loop",
      description: "List again and again.",
      role_tag: "lister",
    }],
    agent: () => ({
      json: toolStep("file_io", { op: "list", path: "." }),
      usage: { input: 200_000, output: 10 },
    }),
  }, async ({ settings, store }) => {
    const started = performance.now();
    const run = startRun({ settings, store }, { task: "List forever", maxCostUsd: 0.05 });
    const outcome = await run.done;
    assert.ok(performance.now() - started < 15_000);
    assert.equal(outcome.status, "error");
    assert.match(outcome.error, /^budget_exceeded/);
    assert.ok(outcome.usage.costUsd >= 0.05);
    const [subtask] = store.subtasks.listForRun(run.runId);
    assert.equal(subtask.status, "failed");
    assert.equal(subtask.attempts, 1, "no retry once the budget is spent");
    assert.equal(store.runs.get(run.runId)!.status, "error");
  }));

Deno.test("cancel during a tool call kills the capsule at once", () =>
  withBrain({
    plan: () => [{
      task_id: "sleep",
      title: "Sleep",
      description: "Run a long command.",
      role_tag: "sleeper",
      tools: ["terminal"],
    }],
    agent: ({ step }) =>
      step === 0 ? toolStep("terminal", { cmd: "sleep 30" }) : finalStep("slept"),
  }, async ({ settings, store }) => {
    let run: ReturnType<typeof startRun> | null = null;
    let toolStartedAt = 0;
    run = startRun({ settings, store }, {
      task: "Sleep for a while",
      onEvent: (e) => {
        if (e.event === "tool_started") {
          toolStartedAt = performance.now();
          setTimeout(() => run!.cancel(), 200);
        }
      },
    });
    const outcome = await run.done;
    assert.ok(toolStartedAt > 0, "the tool started");
    assert.ok(performance.now() - toolStartedAt < 5000, "stopped long before the command ended");
    assert.equal(outcome.status, "cancelled");
    assert.equal(store.runs.get(run.runId)!.status, "cancelled");
    const [subtask] = store.subtasks.listForRun(run.runId);
    assert.equal(subtask.status, "cancelled");
  }, { CLOSED_CLAW_ALLOW_UNSANDBOXED_EXEC: "true" }));

const gateBrain = (score: number): Brain => ({
  plan: () => [{
    task_id: "read",
    title: "Read notes.txt",
    description: "Read notes.txt.",
    role_tag: "reader",
  }],
  agent: readStep("notes.txt"),
  rerank: (prompt) => {
    const id = /"agent_id":"([^"]+)"/.exec(prompt)![1];
    return [{ agent_id: id, score, reason: "scripted" }];
  },
});

/** The run's model calls by purpose, in order. */
const purposes = (store: Store, runId: string) =>
  store.llmCalls.listForRun(runId).map((c) => c.purpose);

/** The routing decision the run logged. */
const routingOf = (events: RunLogEvent[]) =>
  events.find((e) => e.event === "routing_decision")!.payload;

// "Reads notes" matches "Read notes.txt" in the reranker's band: above the threshold
// semantically, under it once weighted as a fresh agent, so the model is asked.
const IN_RERANK_BAND = "Reads notes";

Deno.test("a strong reranked match is reused, and the reranker is really asked", () =>
  withBrain(gateBrain(1), async ({ settings, store, workspace, requests }) => {
    await Deno.writeTextFile(join(workspace, "notes.txt"), "n");
    const existing = seedAgent(settings, store, IN_RERANK_BAND);
    const events: RunLogEvent[] = [];
    const reused = await startRun({ settings, store }, {
      task: "Read notes",
      onEvent: (e) => events.push(e),
    }).done;
    assert.equal(store.agents.get(existing)!.usage_count, 1);
    assert.equal(reused.status, "ok", reused.error);
    const state = store.runs.loadState<RunState>(reused.runId)!;
    assert.equal(state.role_agent_map.reader, existing);
    assert.equal(state.created_agents.length, 0);
    assert.ok(requests().some((p) => p.includes("You are selecting the best specialist agent")));
    assert.deepEqual(
      [routingOf(events).rerank_method, routingOf(events).decision],
      ["llm", "reuse"],
    );
    assert.equal(purposes(store, reused.runId).filter((p) => p === "rerank").length, 1);
  }));

Deno.test("a clear semantic winner is reused without a rerank call: one model call before the first tool", () =>
  withBrain(notesBrain(), async ({ settings, store, workspace }) => {
    await Deno.writeTextFile(join(workspace, "notes.txt"), "hello world\n");
    // Matches the subtask closely (≈ 0.94) and has a record of success: it wins by itself.
    const existing = seedAgent(settings, store, "Reads notes.txt and reports its first line");
    store.agents.recordUsage(existing, true, 100);
    store.agents.recordUsage(existing, true, 100);
    const events: RunLogEvent[] = [];
    const outcome = await startRun({ settings, store }, {
      task: "What is the first line of notes.txt?",
      onEvent: (e) => events.push(e),
    }).done;
    assert.equal(outcome.status, "ok", outcome.error);
    assert.deepEqual(
      [routingOf(events).rerank_method, routingOf(events).decision, routingOf(events).chosen],
      ["semantic_clear_winner", "reuse", existing],
    );
    const calls = purposes(store, outcome.runId);
    // The plan, the agent's own steps and the judge: no classify, rerank, profile or synthesis.
    assert.deepEqual(calls.filter((p) => p !== "agent_step"), ["plan", "judge"]);
    assert.equal(calls[1], "agent_step");
    const state = store.runs.loadState<RunState>(outcome.runId)!;
    assert.equal(state.model_calls_before_first_tool, 1, "only the plan came before the tool");
  }));

Deno.test("no candidate near the threshold: a new agent without a rerank call; a read-only one is asked about only with scope all", async () => {
  for (const scope of ["risky", "all"]) {
    await withBrain(gateBrain(1), async ({ settings, store, workspace }) => {
      await Deno.writeTextFile(join(workspace, "notes.txt"), "n");
      const existing = seedAgent(settings, store); // ≈ 0.3: no fit
      const events: RunLogEvent[] = [];
      const outcome = await startRun({ settings, store }, {
        task: "Read notes",
        onEvent: (e) => events.push(e),
      }).done;
      assert.equal(outcome.status, "ok", outcome.error);
      const routing = routingOf(events);
      assert.deepEqual([routing.rerank_method, routing.decision], ["semantic_no_fit", "create"]);
      assert.equal(routing.chosen, existing, "the best poor match is still named");
      assert.ok(!purposes(store, outcome.runId).includes("rerank"));
      const state = store.runs.loadState<RunState>(outcome.runId)!;
      assert.notEqual(state.role_agent_map.reader, existing);
      assert.deepEqual(
        state.approvals.map((a) => [a.kind, a.approved]),
        scope === "all" ? [["agent_create", true]] : [],
      );
    }, { CLOSED_CLAW_AGENT_APPROVAL_SCOPE: scope });
  }
});

for (
  const [mode, expectCreated] of [["approve", true], ["deny", false], ["web", true]] as const
) {
  Deno.test(`the create gate in ${mode} mode ${expectCreated ? "creates" : "reuses"}`, () =>
    withBrain(gateBrain(0.2), async ({ settings, store, workspace }) => {
      await Deno.writeTextFile(join(workspace, "notes.txt"), "n");
      const existing = seedAgent(settings, store, IN_RERANK_BAND);
      const decider = mode === "web"
        ? new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "--config", CONFIG, DECIDER, settings.dbPath, "approve"],
          stdout: "piped",
          stderr: "piped",
        }).spawn()
        : null;
      const events: RunLogEvent[] = [];
      const outcome = await startRun({ settings, store }, {
        task: "Read notes",
        createApprovalMode: mode,
        onEvent: (e) => events.push(e),
      }).done;
      if (decider) assert.equal((await decider.output()).code, 0);
      assert.equal(outcome.status, "ok", outcome.error);
      const state = store.runs.loadState<RunState>(outcome.runId)!;
      assert.equal(state.approvals.length, 1);
      assert.equal(state.approvals[0].approved, expectCreated);
      assert.equal(state.role_agent_map.reader !== existing, expectCreated);
      assert.ok(events.some((e) => e.event === "approval_request"));
      const audit = store.audit.list({ runId: outcome.runId, limit: 50 }).map((e) => e.event_type);
      assert.ok(audit.includes("approval_request") && audit.includes("approval_decision"));
      if (mode === "web") assert.equal(state.approvals[0].operator, "web_user");
      assert.equal(routingOf(events).rerank_method, "llm", "the reranker's 0.2 led to the gate");
    }, { CLOSED_CLAW_AGENT_APPROVAL_SCOPE: "all" }));
}

Deno.test("two concurrent runs on one data dir both finish with their own records", () =>
  withBrain({
    plan: (_phase, prompt) => [{
      task_id: "read",
      title: "Read a file",
      description: prompt.includes("one.txt") ? "Read one.txt." : "Read two.txt.",
      role_tag: prompt.includes("one.txt") ? "reader-one" : "reader-two",
    }],
    agent: ({ prompt, step, last }) =>
      step === 0
        ? toolStep("file_io", {
          op: "read",
          path: prompt.includes("Read one.txt") ? "one.txt" : "two.txt",
        })
        : finalStep(last.slice(0, 100)),
  }, async ({ settings, store, workspace }) => {
    await Deno.writeTextFile(join(workspace, "one.txt"), "1");
    await Deno.writeTextFile(join(workspace, "two.txt"), "2");
    const second = openStore(settings.dbPath);
    try {
      const [a, b] = await Promise.all([
        startRun({ settings, store }, { task: "Read one.txt" }).done,
        startRun({ settings, store: second }, { task: "Read two.txt" }).done,
      ]);
      assert.equal(a.status, "ok", a.error);
      assert.equal(b.status, "ok", b.error);
      assert.notEqual(a.runId, b.runId);
      assert.equal(store.runs.count("ok"), 2);
      assert.equal(store.agents.count(), 2);
      assert.equal(store.toolEvents.listForRun(a.runId).length, 1);
      assert.equal(store.toolEvents.listForRun(b.runId).length, 1);
    } finally {
      second.close();
    }
  }));

Deno.test("a call to a paid API host waits for the API approval gate (deny mode refuses it)", () =>
  withBrain({
    plan: () => [{
      task_id: "charge",
      title: "Call the billing API",
      description: "GET the billing status.",
      role_tag: "billing",
      tools: ["http_api"],
      requires_tool: false,
    }],
    agent: ({ step, last }) =>
      step === 0
        ? toolStep("http_api", { method: "GET", url: "http://93.184.216.34/v1/status" })
        : finalStep(`The call was refused: ${last.slice(0, 120)}`),
  }, async ({ settings, store }) => {
    const events: RunLogEvent[] = [];
    const outcome = await startRun({ settings, store }, {
      task: "Check billing",
      apiApprovalMode: "deny",
      onEvent: (e) => events.push(e),
    }).done;
    assert.equal(outcome.status, "ok", outcome.error);
    const state = store.runs.loadState<RunState>(outcome.runId)!;
    assert.deepEqual(
      state.approvals.filter((a) => a.kind === "api_call").map((a) => [a.approved, a.note]),
      [[false, "auto_denied_by_policy"]],
    );
    const decision = events.find((e) => e.event === "approval_decision")!;
    assert.equal(decision.payload.provider, "93.184.216.34");
    assert.equal(decision.payload.approved, false);
    const [tool] = store.toolEvents.listForRun(outcome.runId);
    assert.equal(tool.allowed, false);
    assert.match(tool.error, /not approved \(auto_denied_by_policy\)/);
  }, { CLOSED_CLAW_PAID_API_PROVIDERS: "93.184.216.34" }));

Deno.test("resuming a failed run retries only what failed and counts each use once", () =>
  withBrain({
    plan: () => [
      { task_id: "ok", title: "Read here.txt", description: "Read here.txt.", role_tag: "reader" },
      {
        task_id: "late",
        title: "Read late.txt",
        description: "Read late.txt.",
        role_tag: "reader",
      },
    ],
    agent: ({ prompt, step, last }) => {
      const file = prompt.includes("Read late.txt") ? "late.txt" : "here.txt";
      return step === 0
        ? toolStep("file_io", { op: "read", path: file })
        : finalStep(last.slice(0, 80));
    },
  }, async ({ settings, store, workspace, taskStarts }) => {
    await Deno.writeTextFile(join(workspace, "here.txt"), "h");
    const first = await startRun({ settings, store }, { task: "Read both" }).done;
    assert.equal(first.status, "error");
    await Deno.writeTextFile(join(workspace, "late.txt"), "l");
    // Capsule steps whose task (the first user message) is the here.txt subtask.
    const hereRuns = () => taskStarts().filter((task) => task.includes("Read here.txt.")).length;
    const before = hereRuns();
    const resumed = await resumeRun({ settings, store }, first.runId).done;
    assert.equal(resumed.status, "ok", resumed.error);
    assert.equal(hereRuns(), before, "the completed subtask was not run again");
    const subtasks = store.subtasks.listForRun(first.runId);
    assert.deepEqual(subtasks.map((s) => s.status), ["completed", "completed"]);
    const agent = store.agents.get(subtasks[0].assigned_agent_id!)!;
    // here (ok), late (failed), then late again (ok): three uses, two successes.
    assert.deepEqual([agent.usage_count, agent.success_count], [3, 2]);
    assert.equal(store.runs.get(first.runId)!.status, "ok");
  }));
