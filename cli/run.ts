/**
 * `run "<task>"`, `resume <run_id>` and `cancel-run <run_id>`: start or
 * continue a run with a live view, answer interactive approvals on the
 * terminal, stop cleanly on Ctrl-C, SIGTERM and SIGHUP, and exit 0 (ok),
 * 1 (failed), 130 (cancelled), 143 (SIGTERM) or 129 (SIGHUP).
 */
import { changedSince, fingerprints } from "../core/trust.ts";
import { soulCandidates } from "../core/soul.ts";
import { isAbsolute, resolve } from "node:path";
import { ClosedClawError, UsageError } from "../core/errors.ts";
import { assertRunId } from "../core/ids.ts";
import { APPROVAL_MODES, type ApprovalMode, type Settings } from "../core/settings.ts";
import type { Store } from "../store/mod.ts";
import { resolveLlm } from "../llm/detect.ts";
import {
  type AskApproval,
  requestCancel,
  resumeRun,
  type RunHandle,
  type RunOutcome,
  type RunState,
  startRun,
} from "../coordinator/mod.ts";
import type { StartDeps } from "../coordinator/coordinator.ts";
import { runLogPath } from "../coordinator/run_log.ts";
import type { Command, CommandContext, OptionHelp } from "./command.ts";
import { LiveView } from "./live_view.ts";
import { LLM_OPTIONS, llmOverrides } from "./llm_options.ts";
import {
  bold,
  duration,
  green,
  printJson,
  printLine,
  printWarning,
  red,
  terminalSafe,
  yellow,
} from "./output.ts";
import { readStdinLine } from "./prompt.ts";
import { refreshInterruptedRuns } from "../coordinator/cancel.ts";
import { whileUnowned } from "../coordinator/run_owner.ts";

const encoder = new TextEncoder();
const writeOut = (text: string) => Deno.stdout.writeSync(encoder.encode(text));
// Questions go to stderr: they reach the user even when stdout is JSON or a pipe.
const writePrompt = (text: string) => Deno.stderr.writeSync(encoder.encode(text));

const MODE_HELP = `(${APPROVAL_MODES.join(", ")})`;

const VIEW_OPTIONS: Record<string, OptionHelp> = {
  json: { type: "boolean", description: "Print only the final JSON object (no live view)." },
};

function stringOption(ctx: CommandContext, name: string): string | undefined {
  const value = ctx.options[name];
  return typeof value === "string" ? value : undefined;
}

function modeOption(ctx: CommandContext, name: string): ApprovalMode | undefined {
  const value = stringOption(ctx, name);
  if (value === undefined) return undefined;
  if (!(APPROVAL_MODES as readonly string[]).includes(value)) {
    throw new UsageError(`--${name} must be one of ${APPROVAL_MODES.join(", ")}, not "${value}".`);
  }
  return value as ApprovalMode;
}

/** `--context-json`: inline JSON (`{...}`) or a file path; must be an object. */
export function parseContextJson(value: string | undefined, cwd: string): Record<string, unknown> {
  if (value === undefined) return {};
  let text = value.trim();
  if (!text.startsWith("{")) {
    const path = isAbsolute(text) ? text : resolve(cwd, text);
    try {
      text = Deno.readTextFileSync(path);
    } catch {
      throw new UsageError(
        `--context-json: "${value}" is neither a JSON object nor a readable file.`,
      );
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--context-json is not valid JSON: ${(error as Error).message}.`);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new UsageError("--context-json must decode to a JSON object.");
  }
  return parsed as Record<string, unknown>;
}

function costOption(ctx: CommandContext): number | undefined {
  const value = stringOption(ctx, "max-cost-usd");
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    throw new UsageError(`--max-cost-usd must be a number ≥ 0, not "${value}".`);
  }
  return n;
}

/** Asks approvals on the terminal, one at a time, without losing a line typed after a timeout. */
function terminalAsk(view: LiveView | null): AskApproval {
  let pendingLine: Promise<string | null> | null = null;
  let queue: Promise<unknown> = Promise.resolve();
  const askOnce: AskApproval = async (question) => {
    if (question.signal.aborted) return null;
    view?.pause();
    writePrompt(
      `\n${yellow("Approval needed")} (${question.kind}): ${question.text}\n` +
        `Type 'yes' to approve within ${question.timeoutSec} s. Anything else denies: `,
    );
    pendingLine ??= readStdinLine();
    const line = pendingLine;
    const aborted = new Promise<"aborted">((resolve) =>
      question.signal.addEventListener("abort", () => resolve("aborted"), { once: true })
    );
    const answer = await Promise.race([line, aborted]);
    if (answer !== "aborted") pendingLine = null;
    else writePrompt("\n(decided elsewhere or timed out)\n");
    view?.resume();
    if (answer === "aborted" || answer === null) return null;
    return answer.trim().toLowerCase() === "yes";
  };
  return (question) => {
    const next = queue.then(() => askOnce(question));
    queue = next.catch(() => {});
    return next;
  };
}

interface Presentation {
  json: boolean;
  view: LiveView | null;
}

function present(ctx: CommandContext): Presentation {
  const json = ctx.options.json === true;
  return { json, view: json ? null : new LiveView(Deno.stdout.isTerminal(), writeOut) };
}

/** Runs a handle to its end with Ctrl-C handling; returns the exit code. */
async function follow(
  store: Store,
  settings: Settings,
  handle: RunHandle,
  show: Presentation,
): Promise<number> {
  const runLogsDir = settings.runLogsDir;
  const configFiles = fingerprints([settings.envFile, ...soulCandidates(settings)]);
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts++;
    if (interrupts > 1) Deno.exit(130);
    if (!show.json) writeOut(`\n${yellow("Cancelling…")} (press Ctrl-C again to quit at once)\n`);
    handle.cancel("interrupted by user (Ctrl-C)");
  };
  // SIGTERM (kill, systemd, docker stop) and SIGHUP (the terminal closed) stop the run the same
  // way: capsules stopped, state saved; the run is left `interrupted`, ready for `resume`.
  let stoppedBy: StopSignal | null = null;
  const onStop = (signal: StopSignal) => () => {
    if (stoppedBy) Deno.exit(SIGNAL_EXIT[stoppedBy]);
    stoppedBy = signal;
    handle.cancel(`stopped by ${signal}`);
  };
  const listeners = STOP_SIGNALS.map((signal) => [signal, onStop(signal)] as const);
  Deno.addSignalListener("SIGINT", onInterrupt);
  for (const [signal, listener] of listeners) Deno.addSignalListener(signal, listener);
  let outcome: RunOutcome;
  try {
    outcome = await handle.done;
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
    show.view?.close();
  }
  if (stoppedBy) return stoppedBySignal(store, outcome, stoppedBy, show);
  const state = store.runs.loadState<RunState>(outcome.runId);
  const logPath = runLogPath(runLogsDir, outcome.runId);
  if (show.json) printJson(finalJson(outcome, state, logPath));
  else printSummary(outcome, state, store, logPath);
  for (const path of changedSince(configFiles)) {
    printWarning(
      `This run created or changed ${path}; it is ignored until you review it and run \`closed-claw trust ${path}\`.`,
    );
  }
  return outcome.status === "ok" ? 0 : outcome.status === "cancelled" ? 130 : 1;
}

const STOP_SIGNALS = ["SIGTERM", "SIGHUP"] as const;
type StopSignal = typeof STOP_SIGNALS[number];
/** 128 + the signal's number, as shells report a process ended by it. */
const SIGNAL_EXIT: Record<StopSignal, number> = { SIGTERM: 143, SIGHUP: 129 };

/**
 * Records a run stopped by SIGTERM or SIGHUP as `interrupted` (unless it ended
 * anyway, or another process already took it over), says so, and returns 143 or 129.
 */
function stoppedBySignal(
  store: Store,
  outcome: RunOutcome,
  signal: StopSignal,
  show: Presentation,
): number {
  let status: string = outcome.status;
  try {
    whileUnowned(store, outcome.runId, () => {
      if (store.runs.get(outcome.runId)?.status !== "cancelled") return;
      store.runs.update(outcome.runId, {
        status: "interrupted",
        error_message: `interrupted: stopped by ${signal}`,
      });
      status = "interrupted";
    });
    // The terminal may be gone (SIGHUP): nothing printed is worth a different exit code.
    if (show.json) printJson({ run_id: outcome.runId, status, error: `stopped by ${signal}` });
    else {
      writeOut(
        `\n${
          yellow(`Run stopped by ${signal}.`)
        } Continue it with: closed-claw resume ${outcome.runId}\n`,
      );
    }
  } catch {
    // Nothing more to do: the run's state is saved, and `runs` shows it.
  }
  return outcome.status === "ok" ? 0 : SIGNAL_EXIT[signal];
}

function finalJson(outcome: RunOutcome, state: RunState | null, runLog: string) {
  const s = state;
  return {
    run_id: outcome.runId,
    status: outcome.status,
    result: outcome.result,
    error: outcome.error || null,
    agent_id: s ? Object.keys(s.agent_stats)[0] ?? "unknown" : "unknown",
    created_agents: s?.created_agents ?? [],
    role_agent_map: s?.role_agent_map ?? {},
    subtask_pool: s ? [...s.discovery_subtask_pool, ...s.execution_subtask_pool] : [],
    discovery_subtask_pool: s?.discovery_subtask_pool ?? [],
    execution_subtask_pool: s?.execution_subtask_pool ?? [],
    discovery_results: s?.discovery_results ?? {},
    execution_results: s?.execution_results ?? {},
    artifacts: [],
    approvals: s?.approvals ?? [],
    tool_event_count: s?.tool_event_count ?? 0,
    usage: outcome.usage,
    run_log: runLog,
  };
}

function printSummary(
  outcome: RunOutcome,
  state: RunState | null,
  store: Store,
  runLog: string,
): void {
  printLine();
  printLine(bold(outcome.status === "ok" ? "Answer:" : "Result:"));
  // The answer is model text and may quote files: no control sequences reach the terminal.
  printLine(terminalSafe(outcome.result) || "(no result)");
  printLine();
  const row = store.runs.get(outcome.runId);
  if (state) {
    const subtasks = [...state.discovery_subtask_pool, ...state.execution_subtask_pool];
    const completed = subtasks.filter((t) => t.status === "completed").length;
    const agents = Object.keys(state.agent_stats);
    printLine(
      `Subtasks: ${completed}/${subtasks.length} completed · Agents: ${agents.length} used, ${state.created_agents.length} created · Approvals: ${state.approvals.length} · Tool calls: ${state.tool_event_count}`,
    );
  }
  printLine(
    `Tokens: ${outcome.usage.inputTokens} in / ${outcome.usage.outputTokens} out · Cost: $${
      outcome.usage.costUsd.toFixed(4)
    } · Time: ${duration(row?.latency_ms)}`,
  );
  printLine(`Run log: ${runLog}`);
  printLine(
    outcome.status === "ok"
      ? green("Task completed successfully.")
      : outcome.status === "cancelled"
      ? yellow(`Run stopped by user request. Continue it with: closed-claw resume ${outcome.runId}`)
      : red(
        `Task failed: ${
          terminalSafe(outcome.error).replace(/\.+$/, "")
        }. Retry what failed with: closed-claw resume ${outcome.runId}${
          outcome.error.startsWith("budget_exceeded") ? " --max-cost-usd <usd>" : ""
        }`,
      ),
  );
}

async function llmDeps(
  ctx: CommandContext,
  provider: string | undefined,
  model: string | undefined,
  replay: string | undefined,
): Promise<StartDeps> {
  const settings = ctx.settings();
  const store = ctx.store();
  if (replay) return { settings, store };
  const { config, notice } = await resolveLlm(settings, { provider, model });
  if (notice && ctx.options.json !== true) writeOut(`${yellow("note:")} ${notice}\n`);
  return { settings, store, llmConfig: config };
}

export const runCommand: Command = {
  name: "run",
  summary: "Run a task: plan it, route subtasks to agent capsules, and synthesize the answer.",
  args: '"<task>"',
  positionals: { min: 1, max: 1 },
  options: {
    "session-id": { type: "string", value: "id", description: "Session id (default: random)." },
    "context-json": {
      type: "string",
      value: "json|file",
      description: "Extra context: a JSON object, inline or in a file.",
    },
    "create-approval-mode": {
      type: "string",
      value: "mode",
      description: `How agent creation is approved ${MODE_HELP}.`,
    },
    "api-approval-mode": {
      type: "string",
      value: "mode",
      description: `How paid-API calls are approved ${MODE_HELP}.`,
    },
    ...LLM_OPTIONS,
    record: {
      type: "boolean",
      description: "Record the model replies to <data>/cassettes/<run_id>.json.",
    },
    replay: {
      type: "string",
      value: "cassette",
      description: "Answer model calls from a recorded cassette (no key needed).",
    },
    "max-cost-usd": {
      type: "string",
      value: "usd",
      description: "Stop the run when its model calls cost more than this.",
    },
    workspace: { type: "string", value: "dir", description: "Folder the agents work in." },
    ...VIEW_OPTIONS,
  },
  details: [
    "Examples:",
    '  closed-claw run "Summarise README.md in three bullet points"',
    '  closed-claw run "Count TODOs in src" --workspace ./myproject --create-approval-mode approve',
    "",
    "Ctrl-C cancels the run (its capsules are stopped at once); `closed-claw resume <run_id>` continues it.",
    "SIGTERM and SIGHUP stop it the same way and leave it interrupted, ready to resume.",
    "Exit code: 0 on success, 1 on failure, 130 when cancelled, 143 on SIGTERM, 129 on SIGHUP.",
  ].join("\n"),
  async run(ctx) {
    const settings = ctx.settings();
    const { provider, model } = llmOverrides(ctx);
    const replayOption = stringOption(ctx, "replay");
    const replay = replayOption ? resolve(settings.cwd, replayOption) : undefined;
    const workspaceOption = stringOption(ctx, "workspace");
    // Bad flags are reported before the model is resolved (a missing key, an Ollama probe).
    const options = {
      task: ctx.positionals[0],
      sessionId: stringOption(ctx, "session-id"),
      context: parseContextJson(stringOption(ctx, "context-json"), settings.cwd),
      createApprovalMode: modeOption(ctx, "create-approval-mode"),
      apiApprovalMode: modeOption(ctx, "api-approval-mode"),
      llmProvider: provider,
      llmModel: model,
      record: ctx.options.record === true,
      replay,
      maxCostUsd: costOption(ctx),
      workspace: workspaceOption ? resolve(settings.cwd, workspaceOption) : undefined,
    };
    const show = present(ctx);
    const deps = await llmDeps(ctx, provider, model, replay);
    refreshInterruptedRuns(deps.store);
    const handle = startRun(deps, {
      ...options,
      onEvent: (e) => show.view?.onEvent(e),
      ask: Deno.stdin.isTerminal() ? terminalAsk(show.view) : undefined,
    });
    if (!show.json) {
      writeOut(
        `Run started: ${handle.runId}\nCancel with Ctrl-C or \`closed-claw cancel-run ${handle.runId}\`.\n`,
      );
    }
    return follow(deps.store, settings, handle, show);
  },
};

export const resumeCommand: Command = {
  name: "resume",
  summary: "Continue an interrupted, cancelled or failed run without redoing completed subtasks.",
  args: "<run_id>",
  positionals: { min: 1, max: 1 },
  options: {
    "max-cost-usd": {
      type: "string",
      value: "usd",
      description:
        "New budget for the whole run, spend before the resume included (default: the run's own).",
    },
    ...LLM_OPTIONS,
    ...VIEW_OPTIONS,
  },
  details: [
    "Example, after a run stopped with budget_exceeded:",
    "  closed-claw resume <run_id> --max-cost-usd 2",
    "Without --llm-provider/--llm-model the run continues with the model it started with.",
  ].join("\n"),
  async run(ctx) {
    const runId = assertRunId(ctx.positionals[0]);
    const maxCostUsd = costOption(ctx);
    const flags = llmOverrides(ctx);
    const settings = ctx.settings();
    const store = ctx.store();
    refreshInterruptedRuns(store);
    const row = store.runs.get(runId);
    if (!row) {
      throw new ClosedClawError("run_not_found", `No run with id ${runId}.`, {
        hint: "List runs with `closed-claw runs`.",
      });
    }
    const stored = row.options as { llmProvider?: string; llmModel?: string; replay?: string };
    const show = present(ctx);
    // Another provider starts from its own default model unless one is given too.
    const provider = flags.provider ?? stored.llmProvider;
    const model = flags.model ?? (flags.provider ? undefined : stored.llmModel);
    const deps = await llmDeps(ctx, provider, model, flags.provider ? undefined : stored.replay);
    const handle = resumeRun(deps, runId, {
      maxCostUsd,
      onEvent: (e) => show.view?.onEvent(e),
      ask: Deno.stdin.isTerminal() ? terminalAsk(show.view) : undefined,
    });
    if (!show.json) writeOut(`Resuming run ${runId}\n`);
    return follow(store, settings, handle, show);
  },
};

export const cancelRunCommand: Command = {
  name: "cancel-run",
  summary: "Stop a running run (from any terminal); its capsules are stopped at once.",
  args: "<run_id>",
  positionals: { min: 1, max: 1 },
  run(ctx) {
    const runId = assertRunId(ctx.positionals[0]);
    const store = ctx.store();
    refreshInterruptedRuns(store);
    const requested = requestCancel({ store }, runId);
    const status = store.runs.get(runId)?.status;
    printJson({ cancel_requested: requested, run_id: runId, status });
    return Promise.resolve(requested ? 0 : 1);
  },
};
