/**
 * The coordinator: turns a task into subtasks, routes each to an agent
 * capsule, runs them in a parallel pool behind approvals, validates and
 * synthesizes the answer, checkpointing every step so runs can resume.
 *
 * @example
 * ```ts
 * import { startRun } from "./mod.ts";
 * import { ensureDataDirs, loadSettings } from "../core/mod.ts";
 * import { openStore } from "../store/mod.ts";
 *
 * const settings = loadSettings();
 * ensureDataDirs(settings);
 * const store = openStore(settings.dbPath);
 * try {
 *   const run = startRun({ settings, store }, {
 *     task: "Summarise README.md",
 *     createApprovalMode: "approve",
 *     onEvent: (e) => console.log(e.event),
 *   });
 *   const outcome = await run.done;
 *   console.log(outcome.status, outcome.result);
 * } finally {
 *   store.close();
 * }
 * ```
 * @module
 */
export { resumeRun, type StartDeps, startRun } from "./coordinator.ts";
export { refreshInterruptedRuns, requestCancel } from "./cancel.ts";
export {
  type ApprovalOutcome,
  type ApprovalRequest,
  ApprovalService,
  decideApproval,
} from "./approvals.ts";
export { type ModelCallCounts, modelCallCounts } from "./records.ts";
export { parseRunLog, type RunLogEvent, runLogPath, tailLines } from "./run_log.ts";
export {
  buildTrace,
  loadRunTrace,
  type RunTrace,
  type SpanKind,
  type SpanValue,
  type TraceInput,
  type TraceRun,
  type TraceSpan,
} from "./trace.ts";
export { encodeOtlp, type OtlpConfig, otlpConfig } from "./otlp.ts";
export { exportRunTrace } from "./trace_export.ts";
export type {
  AskApproval,
  CoordinatorDeps,
  ResumeOptions,
  RunHandle,
  RunOptions,
  RunOutcome,
  RunState,
  RunUsage,
  Subtask,
} from "./types.ts";
