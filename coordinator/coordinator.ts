/**
 * Starting, resuming and finishing runs: the run row (written from the first
 * moment, so failed, cancelled and crashed runs are recorded), the run log,
 * the services a run needs, cancellation (local and cross-process), and the
 * final outcome.
 */
import { join } from "node:path";
import { ClosedClawError } from "../core/errors.ts";
import { assertRunId, newRunId, randomHex } from "../core/ids.ts";
import { Redactor, secretsOf } from "../core/redact.ts";
import { APPROVAL_MODES, type ApprovalMode, ensureDataDirs } from "../core/settings.ts";
import { TOOL_NAMES, type ToolName } from "../capsule_runtime/manifest.ts";
import { sharedSearch } from "../store/search_cache.ts";
import type { Store } from "../store/mod.ts";
import { createLlmService } from "../llm/service.ts";
import type { ProviderConfig } from "../llm/provider_config.ts";
import type { LlmService } from "../llm/types.ts";
import { ApprovalService } from "./approvals.ts";
import {
  cancelRequest,
  clearCancelRequest,
  isLocalRun,
  isProcessAlive,
  registerLocalRun,
} from "./cancel.ts";
import type { RunContext, StopReason } from "./context.ts";
import { drive } from "./pipeline.ts";
import { RunLog } from "./run_log.ts";
import type {
  CoordinatorDeps,
  ResumeOptions,
  RunHandle,
  RunOptions,
  RunOutcome,
  RunState,
} from "./types.ts";

/** How often a running coordinator checks its run's cancel flag (ms). */
const CANCEL_POLL_MS = 200;

/** Extra dependencies: a resolved provider configuration (the CLI's Ollama fallback). */
export interface StartDeps extends CoordinatorDeps {
  llmConfig?: ProviderConfig;
}

/** Options kept on the run row, so `resume` can rebuild the run. */
type StoredOptions = Omit<RunOptions, "task" | "context" | "signal" | "onEvent" | "ask">;

function checkMode(name: string, mode: string | undefined): ApprovalMode | undefined {
  if (mode === undefined) return undefined;
  if (!(APPROVAL_MODES as readonly string[]).includes(mode)) {
    throw new ClosedClawError(
      "invalid_option",
      `${name} must be one of ${APPROVAL_MODES.join(", ")}, not "${mode}".`,
      { exitCode: 2 },
    );
  }
  return mode as ApprovalMode;
}

function checkCost(maxCostUsd: number | undefined): void {
  if (maxCostUsd === undefined || (Number.isFinite(maxCostUsd) && maxCostUsd >= 0)) return;
  throw new ClosedClawError(
    "invalid_option",
    `--max-cost-usd must be a number ≥ 0, not ${maxCostUsd}.`,
    { exitCode: 2 },
  );
}

function checkTools(tools: readonly string[] | undefined): ToolName[] {
  if (!tools) return [...TOOL_NAMES];
  const unknown = tools.filter((t) => !(TOOL_NAMES as readonly string[]).includes(t));
  if (unknown.length) {
    throw new ClosedClawError("invalid_option", `Unknown tools: ${unknown.join(", ")}.`, {
      hint: `Tools are ${TOOL_NAMES.join(", ")}.`,
      exitCode: 2,
    });
  }
  return [...new Set(tools)] as ToolName[];
}

function initialState(runId: string, options: RunOptions, deps: CoordinatorDeps): RunState {
  return {
    run_id: runId,
    session_id: options.sessionId || randomHex(12),
    task: options.task.trim(),
    context: options.context ?? {},
    runtime_policies: {
      create_approval_mode: options.createApprovalMode ?? deps.settings.createApprovalMode,
      api_approval_mode: options.apiApprovalMode ?? deps.settings.apiApprovalMode,
    },
    stage: "ingested",
    task_complexity: null,
    discovery_subtask_pool: [],
    execution_subtask_pool: [],
    role_agent_map: {},
    created_agents: [],
    discovery_results: {},
    execution_results: {},
    approvals: [],
    tool_event_count: 0,
    agent_stats: {},
    audited_stats: {},
    response_status: null,
    response_result: "",
    response_error: "",
    elapsed_ms: 0,
  };
}

/**
 * Starts a run in the background and returns at once. Bad input (blank task,
 * unknown mode or tool, missing key) throws a `ClosedClawError` here.
 *
 * @example
 * ```ts
 * const run = startRun({ settings, store }, { task: "Count the .ts files", createApprovalMode: "approve" });
 * const outcome = await run.done; // { runId, status: "ok", result, error, usage }
 * ```
 */
export function startRun(deps: StartDeps, options: RunOptions): RunHandle {
  const task = options.task?.trim();
  if (!task) {
    throw new ClosedClawError("task_missing", "The task is empty.", {
      hint: 'Say what to do, e.g. `closed-claw run "list the files in src"`.',
      exitCode: 2,
    });
  }
  checkMode("--create-approval-mode", options.createApprovalMode);
  checkMode("--api-approval-mode", options.apiApprovalMode);
  checkTools(options.toolsAllowed);
  checkCost(options.maxCostUsd);
  if (options.workspace) statDir(options.workspace);
  ensureDataDirs(deps.settings);
  const runId = newRunId();
  const llm = deps.llm ?? buildLlm(deps, options, runId);
  const state = initialState(runId, options, deps);
  const stored: StoredOptions = {
    sessionId: state.session_id,
    createApprovalMode: state.runtime_policies.create_approval_mode,
    apiApprovalMode: state.runtime_policies.api_approval_mode,
    llmProvider: options.llmProvider,
    llmModel: options.llmModel,
    record: options.record,
    replay: options.replay,
    maxCostUsd: options.maxCostUsd,
    workspace: options.workspace,
    toolsAllowed: options.toolsAllowed,
  };
  deps.store.runs.create({
    run_id: runId,
    session_id: state.session_id,
    task: state.task,
    context: state.context,
    options: stored as Record<string, unknown>,
    owner_pid: Deno.pid,
  });
  deps.store.runs.saveState(runId, state);
  return launch(deps, llm, state, { ...options, ...stored }, false);
}

/**
 * Continues an interrupted (or failed) run without re-running its completed
 * subtasks. Throws when the run is unknown, finished ok, or still running, and
 * (`budget_exceeded`) when its budget is already spent: spend before the
 * resume counts, so raise it with `options.maxCostUsd`.
 */
export function resumeRun(
  deps: StartDeps,
  runId: string,
  options: ResumeOptions = {},
): RunHandle {
  assertRunId(runId);
  const row = deps.store.runs.get(runId);
  if (!row) {
    throw new ClosedClawError("run_not_found", `No run with id ${runId}.`, {
      hint: "List runs with `closed-claw runs`.",
    });
  }
  if (row.status === "ok") {
    throw new ClosedClawError("run_finished", `Run ${runId} already finished successfully.`, {
      hint: "Start a new run instead.",
    });
  }
  // A row of this process that is not running here is one whose end could not be recorded.
  const ownerActive = row.owner_pid !== null && isProcessAlive(row.owner_pid) &&
    (row.owner_pid !== Deno.pid || isLocalRun(runId));
  if (row.status === "running" && ownerActive) {
    throw new ClosedClawError(
      "run_active",
      `Run ${runId} is still running (pid ${row.owner_pid}).`,
      {
        hint: `Cancel it first with \`closed-claw cancel-run ${runId}\`.`,
      },
    );
  }
  checkCost(options.maxCostUsd);
  const stored = row.options as StoredOptions;
  const kept: StoredOptions = { ...stored, maxCostUsd: options.maxCostUsd ?? stored.maxCostUsd };
  const runOptions: RunOptions = {
    ...kept,
    task: row.task,
    context: row.context,
    signal: options.signal,
    onEvent: options.onEvent,
    ask: options.ask,
  };
  const saved = deps.store.runs.loadState<RunState>(runId);
  const state = saved ?? initialState(runId, runOptions, deps);
  if (saved) {
    // A failed or cancelled run retries what did not complete, keeping what did.
    if (state.stage !== "ingested" && state.response_status !== "ok") {
      reopenFailed(state);
    }
  }
  // Built before the row says "running": a missing key must leave the run resumable.
  const llm = deps.llm ?? buildLlm(deps, runOptions, runId);
  refuseSpentBudget(deps, llm, runId, runOptions.maxCostUsd);
  ensureDataDirs(deps.settings);
  if (options.maxCostUsd !== undefined) saveOptions(deps.store, runId, kept);
  clearCancelRequest(deps.store, runId);
  deps.store.runs.update(runId, {
    status: "running",
    owner_pid: Deno.pid,
    error_message: null,
    finished_at: null,
  });
  return launch(deps, llm, state, runOptions, true);
}

/**
 * A resumed run is the same run, so what it spent before counts against its
 * budget. When nothing is left, refuse at once (before any model call or
 * capsule) and say how to raise it; the run stays as it was.
 */
function refuseSpentBudget(
  deps: CoordinatorDeps,
  llm: LlmService,
  runId: string,
  maxCostUsd: number | undefined,
): void {
  const used = llm.runUsage(runId);
  const budget = maxCostUsd ?? deps.settings.maxCostUsdPerRun;
  if (budget > 0 && used.costUsd >= budget) {
    throw new ClosedClawError(
      "budget_exceeded",
      `Run ${runId} has already spent $${used.costUsd.toFixed(4)} of its $${budget} budget.`,
      {
        hint: `Pass a higher budget: \`closed-claw resume ${runId} --max-cost-usd <usd>\` ` +
          "(or raise CLOSED_CLAW_MAX_COST_USD_PER_RUN).",
      },
    );
  }
  const tokens = used.inputTokens + used.outputTokens;
  const maxTokens = deps.settings.maxTokensPerRun;
  if (maxTokens > 0 && tokens >= maxTokens) {
    throw new ClosedClawError(
      "budget_exceeded",
      `Run ${runId} has already used ${tokens} of its ${maxTokens} tokens.`,
      { hint: "Raise CLOSED_CLAW_MAX_TOKENS_PER_RUN, then resume it." },
    );
  }
}

/** Keeps a resume's new options (a raised budget) for later resumes of the run. */
function saveOptions(store: Store, runId: string, options: StoredOptions): void {
  store.runs.saveOptions(runId, options as Record<string, unknown>);
}

/** Puts failed and cancelled work back in the queue and rewinds to the first unfinished phase. */
function reopenFailed(state: RunState): void {
  const reopen = (pool: RunState["discovery_subtask_pool"]) => {
    for (const t of pool) {
      if (t.status === "failed" || t.status === "cancelled") {
        t.status = t.depends_on.length ? "waiting" : "pending";
        t.attempts = 0;
        t.error = "";
      }
    }
  };
  const discoveryOpen = state.discovery_subtask_pool.some((t) => t.status !== "completed");
  reopen(state.discovery_subtask_pool);
  reopen(state.execution_subtask_pool);
  state.response_status = null;
  state.response_error = "";
  const planned = state.discovery_subtask_pool.length + state.execution_subtask_pool.length > 0;
  if (!planned) state.stage = "classified";
  else if (discoveryOpen) state.stage = "planned";
  else if (state.execution_subtask_pool.length === 0) state.stage = "discovery_done";
  else if (["execution_done", "validated", "audited", "synthesized"].includes(state.stage)) {
    state.stage = "execution_planned";
  }
}

function statDir(path: string): void {
  try {
    if (Deno.statSync(path).isDirectory) return;
  } catch {
    // reported below
  }
  throw new ClosedClawError("workspace_missing", `The workspace ${path} is not a folder.`, {
    hint: "Pass an existing folder with --workspace.",
    exitCode: 2,
  });
}

function buildLlm(deps: StartDeps, options: RunOptions, runId: string): LlmService {
  return createLlmService({
    settings: deps.settings,
    store: deps.store,
    config: deps.llmConfig,
    overrides: { provider: options.llmProvider, model: options.llmModel },
    record: options.record ? join(deps.settings.cassettesDir, `${runId}.json`) : undefined,
    replay: options.replay,
    budget: options.maxCostUsd !== undefined ? { maxCostUsd: options.maxCostUsd } : undefined,
  });
}

function launch(
  deps: StartDeps,
  llm: LlmService,
  state: RunState,
  options: RunOptions,
  resumed: boolean,
): RunHandle {
  const { settings, store } = deps;
  const runId = state.run_id;
  const redactor = new Redactor(secretsOf(settings));
  const log = new RunLog(settings.runLogsDir, runId, redactor);
  if (options.onEvent) log.onEvent((event) => options.onEvent!(event));
  const controller = new AbortController();
  let stop: StopReason | null = null;
  const stopRun = (reason: StopReason) => {
    if (stop) return;
    stop = reason;
    controller.abort(reason.reason);
  };
  const unregister = registerLocalRun(runId, (reason) => stopRun({ kind: "cancel", reason }));
  const onAbort = () => stopRun({ kind: "cancel", reason: "cancelled by the caller" });
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  const poll = setInterval(() => {
    try {
      const reason = cancelRequest(store, runId);
      if (reason) stopRun({ kind: "cancel", reason });
    } catch {
      // A locked database must not crash the process from a timer; the next poll retries.
    }
  }, CANCEL_POLL_MS);
  const began = performance.now();

  if (resumed) log.emit("run_resumed", { stage: state.stage, session_id: state.session_id });
  else log.emit("task_ingested", { task: state.task, session_id: state.session_id });

  const done = (async (): Promise<RunOutcome> => {
    let crash: unknown = null;
    try {
      const { embedder, index, warning } = await sharedSearch(settings, store.db);
      if (warning) log.emit("embedder_warning", { embedder: embedder.name, warning });
      const workspace = options.workspace ?? settings.workspace;
      const ctx: RunContext = {
        settings,
        store,
        llm,
        log,
        state,
        embedder,
        index,
        redactor,
        workspace,
        allowedRoots: [workspace, ...settings.extraAllowedPaths],
        toolsAllowed: checkTools(options.toolsAllowed),
        signal: controller.signal,
        stop: stopRun,
        stopped: () => stop,
        checkpoint: () => {
          store.runs.saveState(runId, state);
          store.subtasks.saveAll(
            [...state.discovery_subtask_pool, ...state.execution_subtask_pool].map((t, i) => ({
              run_id: runId,
              task_id: t.task_id,
              phase: t.phase,
              title: t.title,
              description: t.description,
              role_tag: t.role_tag,
              depends_on: t.depends_on,
              acceptance_criteria: t.acceptance_criteria,
              requires_tool: t.requires_tool,
              status: t.status,
              assigned_agent_id: t.assigned_agent_id,
              result: t.result || null,
              error: t.error || null,
              attempts: t.attempts,
              position: i,
              started_at: t.started_at,
              finished_at: t.finished_at,
            })),
          );
        },
        roleLocks: new Map(),
        approvals: new ApprovalService(store, {
          ask: options.ask,
          redactor,
          onRequest: (row) =>
            log.emit("approval_request", {
              approval_id: row.approval_id,
              kind: row.kind,
              request: row.request_data,
              expires_at: row.expires_at,
            }),
          onDecision: (row, outcome) =>
            log.emit("approval_resolved", {
              approval_id: row.approval_id,
              kind: row.kind,
              approved: outcome.approved,
              operator: outcome.operator,
              note: outcome.note,
            }),
        }),
      };
      await drive(ctx);
    } catch (error) {
      crash = error;
    } finally {
      clearInterval(poll);
      options.signal?.removeEventListener("abort", onAbort);
      unregister();
    }
    return finish(deps, llm, log, state, began, crash, stop);
  })();
  return {
    runId,
    done,
    cancel: (reason = "cancelled by user") => stopRun({ kind: "cancel", reason }),
  };
}

/** Writes an event; a log that cannot be written (disk full) must not stop a run from ending. */
function note(log: RunLog, event: string, payload: Record<string, unknown>): void {
  try {
    log.emit(event, payload);
  } catch {
    // Nothing else to tell: the outcome still carries the error.
  }
}

function describe(error: unknown): string {
  return error instanceof ClosedClawError
    ? error.toLine()
    : (error as Error)?.message ?? String(error);
}

/**
 * Ends a run and never throws: the outcome is recorded in SQLite and the run
 * log. When the database cannot be written (locked by another process,
 * read-only, full), the run log still gets `run_finished` with the error, the
 * file is closed, and the outcome is an error saying so; the row, left
 * `running`, is shown as interrupted once this process exits.
 */
function finish(
  deps: CoordinatorDeps,
  llm: LlmService,
  log: RunLog,
  state: RunState,
  began: number,
  crash: unknown,
  stop: StopReason | null,
): RunOutcome {
  const { store } = deps;
  const runId = state.run_id;
  if (crash) {
    state.response_status = stop?.kind === "cancel" ? "cancelled" : "error";
    state.response_error = `coordinator_error: ${describe(crash)}`;
    state.response_result ||= `Unable to complete task. Reason: ${state.response_error}`;
    note(log, "error", { error: state.response_error });
  }
  state.elapsed_ms += performance.now() - began;
  let usage = { inputTokens: 0, outputTokens: 0, costUsd: 0 };
  let status: RunOutcome["status"] = state.response_status === "ok"
    ? "ok"
    : state.response_status === "cancelled"
    ? "cancelled"
    : "error";
  try {
    usage = llm.runUsage(runId);
    const agentsUsed = Object.keys(state.agent_stats);
    store.runs.saveState(runId, state);
    store.runs.update(runId, {
      status,
      agent_id: agentsUsed[0] ?? null,
      result: state.response_result,
      error_message: state.response_error || null,
      latency_ms: Math.round(state.elapsed_ms),
      input_tokens: usage.inputTokens,
      output_tokens: usage.outputTokens,
      cost_usd: usage.costUsd,
      finished_at: new Date().toISOString(),
    });
  } catch (error) {
    const earlier = state.response_error
      ? ` The run itself ended with: ${state.response_error}`
      : "";
    status = "error";
    state.response_status = "error";
    state.response_error =
      `run_not_recorded: the end of the run could not be saved to ${store.path} ` +
      `(${describe(error)}). Another process may hold the database locked, or it is read-only or ` +
      `full; \`closed-claw runs\` shows the run as interrupted once this process exits, and ` +
      `\`closed-claw resume ${runId}\` continues it.${earlier}`;
    state.response_result ||= `Unable to complete task. Reason: ${state.response_error}`;
    note(log, "error", { error: state.response_error });
  }
  note(log, "run_finished", {
    status,
    error: state.response_error,
    latency_ms: Math.round(state.elapsed_ms),
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
    cost_usd: usage.costUsd,
  });
  log.close();
  return { runId, status, result: state.response_result, error: state.response_error, usage };
}
