/**
 * Side-by-side with a peer framework (`deno task bench`): the same workloads
 * through `@openai/agents` and through Closed Claw's library API, both
 * against ONE in-process fake OpenAI Chat Completions server, interleaved
 * (peer, ours, peer, ours…). Printed once at the end as ratios ours ÷ peer:
 * request bytes and tokens (GPT-4o's o200k_base encoding, js-tiktoken), model
 * calls, model calls up to the first tool call, and warm
 * wall time per run (the fake answers at once, so this is framework overhead;
 * ours includes planning and a `deno run` subprocess per agent). Ours runs
 * twice per round: as configured by default, and with no capsule started
 * before it is needed or kept for the next subtask (CLOSED_CLAW_CAPSULE_REUSE
 * =false), so one run of the bench shows what starting early saves, with the
 * time from the plan to the first tool call for both.
 *
 * `@openai/agents` and `js-tiktoken` are dev-only dependencies imported here
 * by their npm specifiers: not in deno.json's imports, and bench/ is not published.
 */
import { join } from "node:path";
import { z } from "zod";
// deno-lint-ignore no-import-prefix -- dev-only peer, kept out of deno.json's imports on purpose.
import { Agent, OpenAIProvider, Runner, setTracingDisabled, tool } from "npm:@openai/agents@0.20.0";
// deno-lint-ignore no-import-prefix -- dev-only token counter (LangChain already locks this version).
import { Tiktoken } from "npm:js-tiktoken@1.0.21/lite";
// deno-lint-ignore no-import-prefix -- its o200k_base ranks (GPT-4o's encoding).
import o200k from "npm:js-tiktoken@1.0.21/ranks/o200k_base";
import { type Claw, createClaw } from "../mod.ts";
import { startFakeServer } from "../tests/fakes/mod.ts";
import {
  breakdown,
  type CallGroup,
  type Figures,
  measure,
  peerScript,
  readTask,
  type Workload,
} from "./_peer_script.ts";

/** Tokens as GPT-4o counts them: what each side's requests cost at a provider. */
const encoding = new Tiktoken(o200k);
const countTokens = (text: string) => encoding.encode(text).length;

const WARMUP = 2;
// Medians of 11: on a 2-core machine single runs vary by ±20%.
const RUNS = 11;
const MODEL = "gpt-4o-mini";
const KEY = "sk-peer-bench-fake";

/** Files f_<group>_<i>.txt: one group per agent. */
function files(agents: number, each: number): string[][] {
  return Array.from(
    { length: agents },
    (_, g) => Array.from({ length: each }, (_, i) => `f_${g}_${i}.txt`),
  );
}

const WORKLOADS: Workload[] = [
  { name: "1 call", groups: files(1, 1) },
  { name: "10 calls", groups: files(1, 10) },
  { name: "8×3 fan-out", groups: files(8, 3) },
];

// One workspace both sides read; each file a few lines, like a small source file.
const workspace = await Deno.makeTempDir({ prefix: "claw-bench-peer-" });
for (const name of WORKLOADS.flatMap((w) => w.groups.flat())) {
  const lines = Array.from({ length: 8 }, (_, i) => `${name} line ${i}: some text to read.`);
  await Deno.writeTextFile(join(workspace, name), lines.join("\n") + "\n");
}

let current: Workload = WORKLOADS[0];
const script = peerScript(() => current);
const fake = await startFakeServer("openai", { handler: script.handler });

// The peer: one agent with a read_file tool; tracing off (it would export to api.openai.com).
setTracingDisabled(true);
const runner = new Runner({
  modelProvider: new OpenAIProvider({ apiKey: KEY, baseURL: fake.baseURL, useResponses: false }),
  tracingDisabled: true,
});
const reader = new Agent({
  name: "reader",
  instructions: "You read files with read_file and report what they say.",
  model: MODEL,
  tools: [tool({
    name: "read_file",
    description: "Read a text file of the workspace.",
    parameters: z.object({ path: z.string() }),
    execute: ({ path }) => Deno.readTextFile(join(workspace, path)),
  })],
});

/** The peer has no planner: one `run()` per group, all at once. Returns its wall ms. */
async function peerRun(workload: Workload): Promise<number> {
  const started = performance.now();
  const results = await Promise.all(
    workload.groups.map((group) => runner.run(reader, readTask(group), { maxTurns: 20 })),
  );
  const ms = performance.now() - started;
  for (const r of results) if (!r.finalOutput) throw new Error("peer run gave no answer");
  return ms;
}

/** Our last run's moments (performance.now()), from its run-log events. */
interface Moments {
  plan?: number;
  firstTool?: number;
  /** capsule_started events, and those whose capsule was already running (prestarted or kept). */
  capsules: number;
  warm: number;
}
let moments: Moments = { capsules: 0, warm: 0 };

/** Notes when the plan was made, the first tool started, and how each capsule started. */
function noteMoment(event: { event: string; payload: Record<string, unknown> }): void {
  const now = performance.now();
  if (event.event === "task_plan_created") moments.plan ??= now;
  if (event.event === "tool_started") moments.firstTool ??= now;
  if (event.event === "capsule_started") {
    moments.capsules++;
    if (event.payload.warm) moments.warm++;
  }
}

/**
 * Ours: one task through `createClaw().run()` with the OpenAI provider pointed
 * at the fake, in one long-lived claw per workload (like the peer's Runner):
 * the warm-up run creates the agent, the measured runs reuse it, as a library
 * user's second run does. The plan has one subtask per group. Returns the
 * run's wall ms (opening the claw is set-up, like building the peer's Runner).
 */
async function oursRun(workload: Workload, reuse = true): Promise<number> {
  const claw = await clawFor(workload, reuse);
  const task = workload.groups.length === 1
    ? readTask(workload.groups[0])
    : `Read ${workload.groups.length} groups of files, one agent per group.`;
  moments = { capsules: 0, warm: 0 };
  const started = performance.now();
  const outcome = await claw.run(task, { workspace, onEvent: noteMoment }).done;
  const ms = performance.now() - started;
  if (outcome.status !== "ok") throw new Error(`our run failed: ${outcome.error}`);
  return ms;
}

const claws = new Map<string, { claw: Claw; root: string }>();

/**
 * The workload's claw, opened on first use in a data folder of its own;
 * `reuse` false: capsules neither prestarted nor kept (CLOSED_CLAW_CAPSULE_REUSE).
 */
async function clawFor(workload: Workload, reuse: boolean): Promise<Claw> {
  const name = `${workload.name}${reuse ? "" : " (no reuse)"}`;
  const open = claws.get(name);
  if (open) return open.claw;
  const root = await Deno.makeTempDir({ prefix: "claw-bench-peer-home-" });
  const claw = createClaw({
    cwd: root,
    home: join(root, ".closed_claw"),
    envFile: false,
    env: {
      CLOSED_CLAW_CONFIG_DIR: join(root, ".config"),
      CLOSED_CLAW_LLM_PROVIDER: "openai",
      CLOSED_CLAW_LLM_MODEL: MODEL,
      OPENAI_API_KEY: KEY,
      OPENAI_BASE_URL: fake.baseURL,
      CLOSED_CLAW_CREATE_APPROVAL_MODE: "approve",
      CLOSED_CLAW_LLM_MAX_RETRIES: "0",
      CLOSED_CLAW_MAX_PARALLEL_AGENTS: "8",
      CLOSED_CLAW_MAX_SUBTASKS_PER_PHASE: "8",
      // Offline, routing embeds with the hashing embedder, which scores this agent
      // against its next task ~0.35 (a sentence-embedding model: ~0.8). The floor is
      // set to that scale so warm runs reuse the agent, as they would with a real model.
      CLOSED_CLAW_LOW_CONFIDENCE_THRESHOLD: "0.2",
      CLOSED_CLAW_CAPSULE_REUSE: String(reuse),
    },
  });
  claws.set(name, { claw, root });
  return claw;
}

/** `cold`: ours with no capsule started early or kept (CLOSED_CLAW_CAPSULE_REUSE=false). */
type Side = "peer" | "ours" | "cold";
const figures = new Map<string, Record<Side, Figures[]>>();
/** Per workload and side, our runs' plan → first tool call ms and capsule starts (warm ones apart). */
const oursMoments = new Map<
  string,
  Record<"ours" | "cold", { planToTool: number; capsules: number; warm: number }[]>
>();
/** The last run's requests of each workload and side, grouped by kind of call. */
const lastCalls = new Map<string, { peer?: CallGroup[]; ours?: CallGroup[] }>();

/** Runs one side once and records its figures (the report keeps the last RUNS). */
async function timed(workload: Workload, side: Side): Promise<void> {
  current = workload;
  const from = fake.requests.length;
  const ms = await (side === "peer" ? peerRun(workload) : oursRun(workload, side === "ours"));
  const result = measure(fake.requests, from, script.toolAt, ms, countTokens);
  if (side !== "peer" && moments.plan !== undefined && moments.firstTool !== undefined) {
    const both = oursMoments.get(workload.name) ?? { ours: [], cold: [] };
    oursMoments.set(workload.name, both);
    both[side].push({
      planToTool: moments.firstTool - moments.plan,
      capsules: moments.capsules,
      warm: moments.warm,
    });
  }
  const slot = figures.get(workload.name) ?? { peer: [], ours: [], cold: [] };
  figures.set(workload.name, slot);
  slot[side].push(result);
  if (side === "cold") return;
  const calls = lastCalls.get(workload.name) ?? {};
  lastCalls.set(workload.name, {
    ...calls,
    [side]: breakdown(fake.requests.slice(from), countTokens),
  });
}

for (const workload of WORKLOADS) {
  Deno.bench({
    name: `peer, ours, ours without prestart/reuse, ${workload.name}`,
    n: RUNS,
    warmup: WARMUP,
    async fn() {
      await timed(workload, "peer");
      await timed(workload, "ours");
      await timed(workload, "cold");
    },
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

/** One table row per workload and metric: peer, ours, ours ÷ peer (medians of the measured runs). */
function report(): string[] {
  const metrics: [string, keyof Figures, number][] = [
    ["request bytes", "bytes", 0],
    ["request bytes / call", "bytesPerCall", 0],
    ["request tokens (o200k)", "tokens", 0],
    ["model calls", "calls", 0],
    ["calls up to 1st tool call", "firstTool", 0],
    ["warm wall ms/run", "ms", 1],
  ];
  const rows = [["workload", "metric", "peer", "ours", "ours ÷ peer"]];
  for (const [name, slot] of figures) {
    // deno bench may call fn more often than warmup + n; the last RUNS calls are warm.
    const peer = slot.peer.slice(-RUNS);
    const ours = slot.ours.slice(-RUNS);
    if (peer.length === 0 || ours.length === 0) continue;
    for (const [label, key, digits] of metrics) {
      const p = median(peer.map((f) => f[key]));
      const o = median(ours.map((f) => f[key]));
      rows.push([name, label, p.toFixed(digits), o.toFixed(digits), (o / p).toFixed(2) + "×"]);
    }
    // The same, our capsules neither prestarted nor kept: what starting before we need saves.
    const cold = slot.cold.slice(-RUNS);
    if (cold.length) {
      const p = median(peer.map((f) => f.ms));
      const c = median(cold.map((f) => f.ms));
      rows.push([
        name,
        "  … no prestart/reuse",
        p.toFixed(1),
        c.toFixed(1),
        (c / p).toFixed(2) + "×",
      ]);
    }
  }
  rows.push(perExtraCall());
  return table(rows);
}

/**
 * What one more tool call costs each side: the 10-call run's wall time less
 * the 1-call run's, over the 9 calls between them (medians).
 */
function perExtraCall(): string[] {
  const ms = (workload: string, side: "peer" | "ours") =>
    median((figures.get(workload)?.[side] ?? []).slice(-RUNS).map((f) => f.ms));
  const extra = (side: "peer" | "ours") => (ms("10 calls", side) - ms("1 call", side)) / 9;
  const [p, o] = [extra("peer"), extra("ours")];
  return [
    "1 → 10 calls",
    "ms per extra tool call",
    p.toFixed(1),
    o.toFixed(1),
    `${(o / p).toFixed(2)}×`,
  ];
}

/** Rows as columns: the first two left-aligned, the rest right-aligned. */
function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) =>
    r.map((cell, c) => c < 2 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])).join("  ")
  );
}

/**
 * Our plan → first tool call per workload (medians of the measured runs),
 * with and without prestart/reuse, and how many capsules were already running.
 */
function momentsReport(): string[] {
  const rows = [["workload", "", "plan → 1st tool ms", "warm capsules"]];
  for (const [name, both] of oursMoments) {
    for (const side of ["ours", "cold"] as const) {
      const last = both[side].slice(-RUNS);
      if (!last.length) continue;
      const warm = last.reduce((n, m) => n + m.warm, 0);
      const all = last.reduce((n, m) => n + m.capsules, 0);
      rows.push([
        name,
        side === "ours" ? "prestart/reuse" : "none",
        median(last.map((m) => m.planToTool)).toFixed(1),
        `${warm}/${all}`,
      ]);
    }
  }
  return table(rows);
}

/**
 * Where each side's request bytes went in the last run of each workload: per
 * kind of call (plan, agent step, synthesis…), the calls and bytes, and per
 * call the tokens the model reads and the bytes of the declared tools, system
 * messages, other messages and output schema (JSON sizes; the rest of a body
 * is model and settings).
 */
function breakdownReport(): string[] {
  const rows = [[
    "workload",
    "side / call",
    "calls",
    "bytes",
    "/call",
    "tok/call",
    "tools",
    "system",
    "msgs",
    "schema",
  ]];
  for (const [name, sides] of lastCalls) {
    for (const side of ["peer", "ours"] as const) {
      for (const g of sides[side] ?? []) {
        const per = (n: number) => String(Math.round(n / g.calls));
        rows.push([
          name,
          `${side} ${g.kind}`,
          String(g.calls),
          String(g.bytes),
          per(g.bytes),
          per(g.tokens),
          per(g.tools),
          per(g.system),
          per(g.messages),
          per(g.schema),
        ]);
      }
    }
  }
  return table(rows);
}

globalThis.addEventListener("unload", () => {
  if (figures.size > 0) {
    console.log(`peer (@openai/agents 0.20.0) vs ours, medians of ${RUNS} warm runs each:`);
    for (const line of report()) console.log(line);
    console.log(
      "ours, from the plan to the first tool call (the capsule starts in between; medians), " +
        "and capsules that were already running (prestarted or kept) of those started:",
    );
    for (const line of momentsReport()) console.log(line);
    console.log(
      "request bytes and tokens by kind of call, last run of each workload (/call and each part per call):",
    );
    for (const line of breakdownReport()) console.log(line);
  }
  for (const { claw, root } of claws.values()) {
    void claw.close();
    Deno.removeSync(root, { recursive: true });
  }
  void fake.close();
  Deno.removeSync(workspace, { recursive: true });
});
