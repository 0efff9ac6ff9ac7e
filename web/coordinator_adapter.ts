/**
 * Connects the dashboard to the coordinator: the same `startRun` the CLI
 * uses, cross-process cancel, resume and approval decisions. Settings are
 * read at call time, so a save in the settings editor applies to the next run.
 */
import { decideApproval, requestCancel, resumeRun, startRun } from "../coordinator/mod.ts";
import type { CoordinatorPort, WebDeps } from "./deps.ts";

/** The coordinator operations for the dashboard. */
export function coordinatorForWeb(deps: WebDeps): CoordinatorPort {
  const core = () => ({
    settings: deps.settings,
    store: deps.store,
    capsuleShelf: deps.capsuleShelf,
  });
  return {
    startRun: (options) => startRun(core(), options),
    resumeRun: (runId, options) => resumeRun(core(), runId, options),
    requestCancel: (runId) => requestCancel(core(), runId, "cancelled from the dashboard"),
    decideApproval: (approvalId, approved, note, operator, always) =>
      decideApproval(core(), approvalId, approved, note || undefined, operator, always),
  };
}
