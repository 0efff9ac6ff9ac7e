/**
 * Running a prepared run in the background: its run log, the ways it stops
 * (a local cancel, the caller's signal, a cancel flag set by another
 * process), the services its pipeline needs, and its end.
 */
import { realOrSelf } from "../capsule_runtime/symlink_scan.ts";
import { CapsulePool } from "../capsule_runtime/capsule_pool.ts";
import type { CapsuleShelf } from "../capsule_runtime/capsule_shelf.ts";
import { join } from "node:path";
import { ClosedClawError } from "../core/errors.ts";
import { Redactor, secretsOf } from "../core/redact.ts";
import type { Store } from "../store/mod.ts";
import { transaction } from "../store/db.ts";
import type { SubtaskRow } from "../store/subtasks_repo.ts";
import { sharedSearch } from "../store/search_cache.ts";
import { createLlmService } from "../llm/service.ts";
import type { ProviderConfig } from "../llm/provider_config.ts";
import type { LlmService } from "../llm/types.ts";
import { ApprovalService } from "./approvals.ts";
import { cancelRequest, registerLocalRun } from "./cancel.ts";
import type { RunContext, StopReason } from "./context.ts";
import { finish } from "./finish.ts";
import { drive } from "./pipeline.ts";
import { RunLog } from "./run_log.ts";
import { exportRunTrace } from "./trace_export.ts";
import type { RunOwnership } from "./run_owner.ts";
import { checkTools } from "./run_options.ts";
import type { NatsPlacement } from "../workers/placement.ts";
import type { CoordinatorDeps, RunHandle, RunOptions, RunOutcome, RunState } from "./types.ts";

/** How often a running coordinator checks its run's cancel flag (ms). */
const CANCEL_POLL_MS = 200;

/** Extra dependencies: a resolved provider configuration (the CLI's Ollama fallback). */
export interface StartDeps extends CoordinatorDeps {
  llmConfig?: ProviderConfig;
  /**
   * A long-lived process's capsules between runs (a claw, the dashboard): a
   * run that ends well leaves its idle capsules there, a later one takes them.
   */
  capsuleShelf?: CapsuleShelf;
}

/** The model service of one run, with its recording, replay and budget options. */
export function buildLlm(deps: StartDeps, options: RunOptions, runId: string): LlmService {
  return createLlmService({
    settings: deps.settings,
    store: deps.store,
    config: deps.llmConfig,
    overrides: { provider: options.llmProvider, model: options.llmModel },
    record: options.record ? join(deps.settings.cassettesDir, `${runId}.json`) : undefined,
    replay: options.replay,
    budget: options.maxCostUsd !== undefined ? { maxCostUsd: options.maxCostUsd } : undefined,
    run: runId,
  });
}

/** Starts driving a run whose row and state are written; returns at once. */
export function launch(
  deps: StartDeps,
  llm: LlmService,
  state: RunState,
  options: RunOptions,
  resumed: boolean,
  owner: RunOwnership,
): RunHandle {
  const { settings, store } = deps;
  const runId = state.run_id;
  const redactor = new Redactor(secretsOf(settings));
  const log = openRunLog(store, settings.runLogsDir, runId, redactor);
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

  const done = (async (): Promise<RunOutcome> => {
    let crash: unknown = null;
    let placement: NatsPlacement | undefined;
    let capsules: CapsulePool | undefined;
    // A stopped run kills its idle capsules at once, not at the end of the stage.
    const closeCapsules = () => capsules?.close("the run stopped");
    controller.signal.addEventListener("abort", closeCapsules, { once: true });
    try {
      // A log that cannot be written (full disk) ends the run here, recorded and resumable.
      if (resumed) log.emit("run_resumed", { stage: state.stage, session_id: state.session_id });
      else log.emit("task_ingested", { task: state.task, session_id: state.session_id });
      const { embedder, index, warning } = await sharedSearch(settings, store.db);
      if (warning) log.emit("embedder_warning", { embedder: embedder.name, warning });
      // Real paths from here on: every check and sandbox bind sees where files really are.
      const workspace = realOrSelf(options.workspace ?? settings.workspace);
      placement = settings.natsUrl ? await openPlacement(settings, log) : undefined;
      capsules = placement || !settings.capsuleReuse ? undefined : new CapsulePool({
        shelf: deps.capsuleShelf,
        onEvent: (event) => {
          if (event.type === "prestarted") {
            log.emit("capsule_prestarted", { agent_id: event.agent_id, pid: event.pid });
          } else {
            log.emit("capsule_discarded", {
              agent_id: event.agent_id,
              pid: event.pid,
              reason: event.reason,
            });
          }
        },
      });
      if (controller.signal.aborted) closeCapsules();
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
        allowedRoots: [workspace, ...settings.extraAllowedPaths.map(realOrSelf)],
        toolsAllowed: checkTools(options.toolsAllowed),
        signal: controller.signal,
        stop: stopRun,
        stopped: () => stop,
        checkpoint: () => saveCheckpoint(store, state),
        roleLocks: new Map(),
        approvals: approvalService(store, options, redactor, log),
        placement,
        capsules,
      };
      await drive(ctx);
    } catch (error) {
      crash = error;
    } finally {
      // Only a run that ended on its own, and well, leaves its idle capsules to a later run.
      const shelve = !crash && !stop && state.response_status === "ok";
      capsules?.close("the run ended", { shelve });
      controller.signal.removeEventListener("abort", closeCapsules);
      await placement?.close();
      clearInterval(poll);
      options.signal?.removeEventListener("abort", onAbort);
      unregister();
    }
    let outcome: RunOutcome;
    try {
      outcome = finish(deps, llm, log, state, began, crash, stop);
    } finally {
      // Only now, with its end recorded (or not recordable), may another process take the run.
      owner.release();
    }
    // With OTEL_EXPORTER_OTLP_* set, the finished run's spans go to the collector (never throws).
    await exportRunTrace(store, settings.runLogsDir, runId);
    return outcome;
  })();
  return {
    runId,
    done,
    cancel: (reason = "cancelled by user") => stopRun({ kind: "cancel", reason }),
  };
}

/** Connects to NATS for a run whose capsules run on workers; a failure ends the run, saying why. */
async function openPlacement(settings: StartDeps["settings"], log: RunLog): Promise<NatsPlacement> {
  const { NatsPlacement } = await import("../workers/placement.ts");
  try {
    const placement = await NatsPlacement.open(
      settings,
      (line) => log.emit("nats_status", { message: line }),
    );
    log.emit("nats_connected", { servers: settings.natsUrl });
    return placement;
  } catch (error) {
    throw new ClosedClawError("nats_unreachable", (error as Error).message, {
      hint: "Start nats-server with -js, or unset CLOSED_CLAW_NATS_URL to run capsules here.",
    });
  }
}

/**
 * Opens the run's log. When it cannot be (a read-only folder, a full disk) the
 * run does not start: its row says why and stays resumable, and the error is thrown.
 */
function openRunLog(store: Store, dir: string, runId: string, redactor: Redactor): RunLog {
  try {
    return new RunLog(dir, runId, redactor);
  } catch (error) {
    try {
      store.runs.update(runId, {
        status: "error",
        error_message: error instanceof ClosedClawError ? error.toLine() : String(error),
        finished_at: new Date().toISOString(),
      });
    } catch {
      // The row is left running; it shows as interrupted once the ownership is let go.
    }
    throw error;
  }
}

/**
 * What each run state last wrote, as JSON: its own row and its subtask rows.
 * A checkpoint writes only what changed since (a run of 8 subtasks
 * checkpoints dozens of times, and one subtask changes at a time). Only the
 * run's owner writes them, so what it wrote last is what the tables hold.
 */
const savedStates = new WeakMap<RunState, string>();
const savedSubtasks = new WeakMap<RunState, Map<string, string>>();

/**
 * Writes the run's state, its stage and every changed subtask to SQLite in one
 * transaction (only what changed), so the run can resume from here.
 */
function saveCheckpoint(store: Store, state: RunState): void {
  const stateJson = JSON.stringify(state);
  const stateChanged = savedStates.get(state) !== stateJson;
  const saved = savedSubtasks.get(state) ?? new Map<string, string>();
  savedSubtasks.set(state, saved);
  const changed = subtaskRows(state).map((row) => ({ row, json: JSON.stringify(row) }))
    .filter(({ row, json }) => saved.get(row.task_id) !== json);
  const write = () => {
    if (stateChanged) store.runs.saveCheckpoint(state.run_id, stateJson, state.stage);
    if (changed.length) store.subtasks.saveAll(changed.map((c) => c.row));
  };
  // A transaction only when both are written: on its own, each write is one already.
  if (stateChanged && changed.length) transaction(store.db, write);
  else write();
  // Only once written: a failed write is tried again at the next checkpoint.
  savedStates.set(state, stateJson);
  for (const { row, json } of changed) saved.set(row.task_id, json);
}

/** The run's subtasks as table rows, in plan order. */
function subtaskRows(state: RunState): SubtaskRow[] {
  const runId = state.run_id;
  return [...state.discovery_subtask_pool, ...state.execution_subtask_pool].map((t, i) => ({
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
  }));
}

/** Approvals of one run, each request and decision written to its log. */
function approvalService(
  store: Store,
  options: RunOptions,
  redactor: Redactor,
  log: RunLog,
): ApprovalService {
  return new ApprovalService(store, {
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
  });
}
