/**
 * What the dashboard needs from the rest of the product. The coordinator is
 * optional so the dashboard still serves everything read-only when a build
 * has none; run start, cancel, resume and approval routes then answer 503.
 */
import type { Settings } from "../core/settings.ts";
import type { Store } from "../store/mod.ts";
import type { RunLogEvent } from "../coordinator/run_log.ts";
import type { ToolName } from "../capsule_runtime/manifest.ts";
import type { ApprovalMode } from "../core/settings.ts";
import type { CapsuleShelf } from "../capsule_runtime/capsule_shelf.ts";

/** The New Run form's options, passed as-is to the coordinator. */
export interface WebRunOptions {
  task: string;
  sessionId?: string;
  context?: Record<string, unknown>;
  createApprovalMode?: ApprovalMode;
  apiApprovalMode?: ApprovalMode;
  llmModel?: string;
  maxCostUsd?: number;
  workspace?: string;
  toolsAllowed?: ToolName[];
  onEvent?(event: RunLogEvent): void;
}

/** The handle of a run started by this server. */
export interface WebRunHandle {
  runId: string;
  done: Promise<unknown>;
  cancel(reason?: string): void;
}

/** The coordinator operations the dashboard drives. */
export interface CoordinatorPort {
  startRun(options: WebRunOptions): WebRunHandle;
  resumeRun(
    runId: string,
    options: { maxCostUsd?: number; onEvent?(event: RunLogEvent): void },
  ): WebRunHandle;
  /** Cross-process: works for runs started by a CLI process too. */
  requestCancel(runId: string): boolean;
  /** With `always`, the rule the request offers is stored too ("always for this role/agent"). */
  decideApproval(
    approvalId: string,
    approved: boolean,
    note: string,
    operator: string,
    always?: boolean,
  ): boolean;
}

export interface WebDeps {
  /** Replaced in place when the settings editor saves and `reloadSettings` is given. */
  settings: Settings;
  /** Re-reads settings from the environment and .env into `settings`. */
  reloadSettings?: () => void;
  store: Store;
  coordinator: CoordinatorPort | null;
  /** Capsules kept between this process's runs (capsule_runtime/capsule_shelf.ts). */
  capsuleShelf?: CapsuleShelf;
}
