/** The global live snapshot: active runs and pending approvals. */
import type { WebDeps } from "../deps.ts";
import { activeRunOf } from "./runs_view.ts";

/** The global snapshot: active runs and pending approvals. */
export function liveSnapshot(deps: WebDeps) {
  const active = deps.store.runs.list({ status: "running", limit: 100 }).map((r) => {
    const run = activeRunOf(r);
    return { ...run, task: run.task.slice(0, 120), error: run.error?.slice(0, 200) ?? null };
  });
  const pending = deps.store.approvals.listPending();
  return {
    active_runs: active,
    pending_approvals: pending.length,
    approvals: pending.slice(0, 20).map((a) => ({
      approval_id: a.approval_id,
      run_id: a.run_id,
      kind: a.kind,
      request_data: a.request_data,
      created_at: a.created_at,
    })),
  };
}
