/**
 * Coordinator benchmarks (`deno task bench`): the orchestration overhead of
 * a whole run with model latency taken out — the demo replayed from its
 * cassette, and a scripted 8-subtask run with 4 in parallel (target: at most
 * 1 s more than the capsules' own time). Overhead is wall time minus the time
 * at least one subtask attempt was running; the figures are printed at the end.
 */
import type { z } from "zod";
import { loadSettings } from "../core/settings.ts";
import { startRun } from "../coordinator/mod.ts";
import type { RunLogEvent } from "../coordinator/run_log.ts";
import { openStore } from "../store/mod.ts";
import { createLlmService } from "../llm/service.ts";
import type { CompletionRequest, CompletionResponse, LlmService } from "../llm/types.ts";
import { testSettings } from "../tests/helpers/temp.ts";
import { CASSETTE, DEMO_ROOT, DEMO_TASK, prepareDemoRoot } from "../demo/_demo.ts";

const SUBTASKS = 8;

/**
 * An in-process model with no latency: a plan of `count` listing subtasks,
 * independent, or (`chain`) each depending on the one before.
 */
function scriptedLlm(count = SUBTASKS, chain = false, planDelayMs = 0): LlmService {
  const reply = (text: string): CompletionResponse => ({
    text,
    usage: { inputTokens: 0, outputTokens: 0 },
    model: "scripted",
  });
  const step = (request: CompletionRequest) => {
    const done = request.messages.some((m) => m.role === "assistant");
    return JSON.stringify({
      thought: "",
      action: done ? "final" : "tool",
      tool: done ? "" : "file_io",
      args_json: done ? "{}" : '{"op":"list","path":"."}',
      result: done ? "listed" : "",
      status: "ok",
    });
  };
  const plan = {
    subtasks: Array.from({ length: count }, (_, i) => ({
      task_id: `list-${i}`,
      title: `List ${i}`,
      description: `List the workspace (${i}).`,
      role_tag: "lister",
      depends_on: chain && i > 0 ? [`execute-list-${i - 1}`] : [],
      acceptance_criteria: [],
      requires_tool: true,
      tools: ["file_io"],
      writes_files: false,
    })),
  };
  const values: Record<string, unknown> = {
    task_plan: { complexity: "simple", ...plan },
    execution_plan: plan,
    agent_profile: {
      profile_id: "lister",
      name_prefix: "Lister",
      description: "List the workspace.",
      tools_allowlist: ["file_io"],
      tags: [],
      skill_md: "# Lister\n\n## Scope Constraints\n- Read only.",
      skill_ids: [],
      file_write: false,
    },
    agent_rerank: { rankings: [] },
  };
  return {
    provider: "openai",
    model: "scripted",
    complete: (request) => {
      if (request.schema?.name === "agent_step") return Promise.resolve(reply(step(request)));
      // A native turn: list the workspace once, then answer.
      const listed = request.messages.some((m) => m.role === "assistant");
      if (!request.tools || listed) return Promise.resolve(reply("Listed."));
      const toolCalls = [{ id: "call_1", name: "file_io", args: { op: "list", path: "." } }];
      return Promise.resolve({ ...reply(""), toolCalls });
    },
    structured: async <T>(schema: z.ZodType<T>, request: { schemaName: string }) => {
      if (request.schemaName === "task_plan" && planDelayMs) {
        await new Promise((resolve) => setTimeout(resolve, planDelayMs));
      }
      return {
        value: schema.parse(values[request.schemaName]),
        response: reply(JSON.stringify(values[request.schemaName])),
      };
    },
    runUsage: () => ({ inputTokens: 0, outputTokens: 0, costUsd: 0 }),
  };
}

/** Wall time minus the union of subtask-attempt intervals, in ms. */
function overhead(events: RunLogEvent[], wallMs: number): number {
  const starts = new Map<string, number>();
  const intervals: [number, number][] = [];
  for (const e of events) {
    const id = String(e.payload.task_id);
    if (e.event === "subtask_attempt_started") starts.set(id, Date.parse(e.ts));
    if (e.event === "subtask_attempt_succeeded" || e.event === "subtask_attempt_failed") {
      intervals.push([starts.get(id)!, Date.parse(e.ts)]);
    }
  }
  intervals.sort((a, b) => a[0] - b[0]);
  let busy = 0;
  let end = -Infinity;
  for (const [s, f] of intervals) {
    if (f <= end) continue;
    busy += f - Math.max(s, end);
    end = f;
  }
  return wallMs - busy;
}

const figures: Record<string, number[]> = { demo: [], parallel8: [] };
const walls: Record<string, number[]> = { demo: [], parallel8: [] };

/**
 * Per subtask attempt, ms from its start to its first tool call (its capsule
 * starts in between): the chain's first subtask, and the later ones, which
 * run in the capsule the first one leaves (a kept capsule, no spawn).
 */
const toFirstTool: Record<"first" | "later", number[]> = { first: [], later: [] };
const chainWall: number[] = [];

function attemptToFirstTool(events: (RunLogEvent & { at: number })[]): number[] {
  const started = new Map<string, number>();
  const out: number[] = [];
  for (const e of events) {
    const id = String(e.payload.task_id);
    if (e.event === "subtask_attempt_started") started.set(id, e.at);
    if (e.event === "tool_started" && started.has(id)) {
      out.push(e.at - started.get(id)!);
      started.delete(id);
    }
  }
  return out;
}

async function timedRun(
  name: string,
  run: (onEvent: (e: RunLogEvent) => void) => Promise<{ status: string; error: string }>,
) {
  const events: RunLogEvent[] = [];
  const started = performance.now();
  const outcome = await run((e) => events.push(e));
  const wall = performance.now() - started;
  if (outcome.status !== "ok") throw new Error(`${name} run failed: ${outcome.error}`);
  figures[name].push(overhead(events, wall));
  walls[name].push(wall);
}

Deno.bench({
  name: "demo run replayed from its cassette (3 capsules, 2 phases)",
  n: 5,
  warmup: 1,
  async fn() {
    await prepareDemoRoot();
    // A fresh data dir per run (outside DEMO_ROOT, which the next run deletes).
    const home = await Deno.makeTempDir({ prefix: "claw-bench-demo-" });
    const settings = loadSettings({
      cwd: DEMO_ROOT,
      envFile: false,
      env: { CLOSED_CLAW_HOME: home },
    });
    const store = openStore(settings.dbPath);
    try {
      const llm = createLlmService({ settings, store, replay: CASSETTE });
      await timedRun("demo", (onEvent) =>
        startRun({ settings, store, llm }, {
          task: DEMO_TASK,
          workspace: `${DEMO_ROOT}/workspace`,
          createApprovalMode: "approve",
          onEvent,
        }).done);
    } finally {
      store.close();
      await Deno.remove(home, { recursive: true });
    }
  },
});

Deno.bench({
  name: "scripted run: 8 subtasks, 4 in parallel, no model latency",
  n: 5,
  warmup: 1,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "claw-bench-coord-" });
    const settings = testSettings(root, {
      CLOSED_CLAW_MAX_PARALLEL_AGENTS: "4",
      CLOSED_CLAW_MAX_SUBTASKS_PER_PHASE: String(SUBTASKS),
      CLOSED_CLAW_CREATE_APPROVAL_MODE: "approve",
    });
    const store = openStore(settings.dbPath);
    try {
      await timedRun(
        "parallel8",
        (onEvent) =>
          startRun({ settings, store, llm: scriptedLlm() }, { task: "List 8 times", onEvent })
            .done,
      );
    } finally {
      store.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

const CHAIN = 4;

Deno.bench({
  name: `scripted run: ${CHAIN} subtasks of one agent, each after the last, no model latency`,
  n: 5,
  warmup: 1,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "claw-bench-chain-" });
    const settings = testSettings(root, {
      CLOSED_CLAW_MAX_SUBTASKS_PER_PHASE: String(CHAIN),
      CLOSED_CLAW_CREATE_APPROVAL_MODE: "approve",
    });
    const store = openStore(settings.dbPath);
    try {
      const events: (RunLogEvent & { at: number })[] = [];
      const began = performance.now();
      const outcome = await startRun({ settings, store, llm: scriptedLlm(CHAIN, true) }, {
        task: "List 4 times, one after another",
        onEvent: (e) => void events.push({ ...e, at: performance.now() }),
      }).done;
      if (outcome.status !== "ok") throw new Error(`chain run failed: ${outcome.error}`);
      chainWall.push(performance.now() - began);
      const [first, ...later] = attemptToFirstTool(events);
      toFirstTool.first.push(first);
      toFirstTool.later.push(...later);
    } finally {
      store.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

/** Run start → first tool call of a known agent's one subtask, with prestart/reuse on and off. */
const untilTool: Record<"on" | "off", number[]> = { on: [], off: [] };
const PLAN_DELAY_MS = 300;

Deno.bench({
  name: `scripted run: one subtask of a known agent, the plan takes ${PLAN_DELAY_MS} ms`,
  n: 5,
  warmup: 1,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "claw-bench-known-" });
    const env = {
      CLOSED_CLAW_MAX_SUBTASKS_PER_PHASE: "1",
      CLOSED_CLAW_CREATE_APPROVAL_MODE: "approve",
      // The hashing embedder's scale (see peer_bench.ts): the known agent is reused.
      CLOSED_CLAW_LOW_CONFIDENCE_THRESHOLD: "0.2",
    };
    const store = openStore(testSettings(root, env).dbPath);
    try {
      // The first run creates the agent; the next two reuse it, with and without prestart.
      for (const mode of ["first", "on", "off"] as const) {
        const settings = testSettings(root, {
          ...env,
          CLOSED_CLAW_CAPSULE_REUSE: String(mode !== "off"),
        });
        let firstTool = 0;
        const began = performance.now();
        const outcome = await startRun({
          settings,
          store,
          llm: scriptedLlm(1, false, PLAN_DELAY_MS),
        }, {
          task: "List the workspace.",
          onEvent: (e) => {
            if (e.event === "tool_started" && !firstTool) firstTool = performance.now();
          },
        }).done;
        if (outcome.status !== "ok") throw new Error(`run failed: ${outcome.error}`);
        if (mode !== "first") untilTool[mode].push(firstTool - began);
      }
    } finally {
      store.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

globalThis.addEventListener("unload", () => {
  if (untilTool.on.length) {
    console.log(
      `one subtask of a known agent, plan ${PLAN_DELAY_MS} ms: run start → first tool call, ` +
        `median ${median(untilTool.on).toFixed(1)} ms with prestart/reuse, ${
          median(untilTool.off).toFixed(1)
        } ms without (CLOSED_CLAW_CAPSULE_REUSE=false)`,
    );
  }
  if (chainWall.length) {
    console.log(
      `chain of ${CHAIN} subtasks of one agent: wall median ${median(chainWall).toFixed(0)} ms; ` +
        `subtask start → first tool call, median: first ${
          median(toFirstTool.first).toFixed(1)
        } ms, later ${median(toFirstTool.later).toFixed(1)} ms`,
    );
  }
  for (const [name, values] of Object.entries(figures)) {
    if (values.length === 0) continue;
    const sorted = [...values].sort((a, b) => a - b);
    console.log(
      `coordinator overhead (${name}): median ${
        sorted[Math.floor(sorted.length / 2)].toFixed(0)
      } ms, max ${sorted.at(-1)!.toFixed(0)} ms over ${values.length} runs; wall median ${
        median(walls[name]).toFixed(0)
      } ms`,
    );
  }
});
