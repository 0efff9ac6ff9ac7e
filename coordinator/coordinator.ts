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
import { createEmbedder, type Embedder } from "../store/embedder.ts";
import { VectorIndex } from "../store/vector_index.ts";
import type { Store } from "../store/mod.ts";
import { createLlmService } from "../llm/service.ts";
import type { ProviderConfig } from "../llm/provider_config.ts";
import type { LlmService } from "../llm/types.ts";
import { ApprovalService } from "./approvals.ts";
import { cancelRequest, clearCancelRequest, isProcessAlive, registerLocalRun } from "./cancel.ts";
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
 * subtasks. Throws when the run is unknown, finished ok, or still running.
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
  if (row.status === "running" && row.owner_pid !== null && isProcessAlive(row.owner_pid)) {
    throw new ClosedClawError(
      "run_active",
      `Run ${runId} is still running (pid ${row.owner_pid}).`,
      {
        hint: `Cancel it first with \`closed-claw cancel-run ${runId}\`.`,
      },
    );
  }
  const stored = row.options as StoredOptions;
  const runOptions: RunOptions = { ...stored, task: row.task, context: row.context, ...options };
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
  ensureDataDirs(deps.settings);
  clearCancelRequest(deps.store, runId);
  deps.store.runs.update(runId, {
    status: "running",
    owner_pid: Deno.pid,
    error_message: null,
    finished_at: null,
  });
  return launch(deps, llm, state, runOptions, true);
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

/** One embedder and vector index per store, shared by the runs of a process. */
const shared = new WeakMap<Store, Promise<{ embedder: Embedder; index: VectorIndex }>>();

function searchFor(deps: CoordinatorDeps) {
  let found = shared.get(deps.store);
  if (!found) {
    found = createEmbedder(deps.settings, { onWarning: () => {} }).then((embedder) => ({
      embedder,
      index: new VectorIndex(deps.store.db, embedder.dim),
    }));
    shared.set(deps.store, found);
  }
  return found;
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
    const reason = cancelRequest(store, runId);
    if (reason) stopRun({ kind: "cancel", reason });
  }, CANCEL_POLL_MS);
  const began = performance.now();

  if (resumed) log.emit("run_resumed", { stage: state.stage, session_id: state.session_id });
  else log.emit("task_ingested", { task: state.task, session_id: state.session_id });

  const done = (async (): Promise<RunOutcome> => {
    let crash: unknown = null;
    try {
      const { embedder, index } = await searchFor(deps);
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
  if (crash) {
    state.response_status = stop?.kind === "cancel" ? "cancelled" : "error";
    state.response_error = `coordinator_error: ${
      crash instanceof ClosedClawError ? crash.toLine() : (crash as Error)?.message ?? crash
    }`;
    state.response_result ||= `Unable to complete task. Reason: ${state.response_error}`;
    log.emit("error", { error: state.response_error });
  }
  state.elapsed_ms += performance.now() - began;
  const usage = llm.runUsage(state.run_id);
  const status = state.response_status === "ok"
    ? "ok"
    : state.response_status === "cancelled"
    ? "cancelled"
    : "error";
  const agentsUsed = Object.keys(state.agent_stats);
  store.runs.saveState(state.run_id, state);
  store.runs.update(state.run_id, {
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
  log.emit("run_finished", {
    status,
    error: state.response_error,
    latency_ms: Math.round(state.elapsed_ms),
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
    cost_usd: usage.costUsd,
  });
  log.close();
  return {
    runId: state.run_id,
    status,
    result: state.response_result,
    error: state.response_error,
    usage,
  };
}
