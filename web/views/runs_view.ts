/** Runs as the dashboard lists them, and a run's log events. */
import { isRunId } from "../../core/ids.ts";
import { parseRunLog, runLogPath, tailLines } from "../../coordinator/run_log.ts";
import { RUN_STATUSES, type RunRow, type RunStatus } from "../../store/mod.ts";
import type { WebDeps } from "../deps.ts";
import { HttpError } from "../http.ts";
import { analyzeRun, enrichRun, isRangeName, RANGES } from "../analysis.ts";

/** A run in the active-runs API shape (`current_node`, `started_at`, `error`, …). */
export function activeRunOf(run: RunRow) {
  return {
    run_id: run.run_id,
    task: run.task,
    status: run.status,
    current_node: run.current_stage,
    started_at: run.created_at,
    finished_at: run.finished_at,
    error: run.error_message,
  };
}

function statusQuery(raw: string | undefined): RunStatus[] | undefined {
  if (!raw) return undefined;
  const list = raw.split(",").map((s) => s.trim()).filter(Boolean);
  for (const s of list) {
    if (!(RUN_STATUSES as readonly string[]).includes(s)) {
      throw new HttpError(400, "bad_request", `status must be among ${RUN_STATUSES.join(", ")}.`);
    }
  }
  return list as RunStatus[];
}

/** The runs list with the dashboard's range and status filters. */
export function listRunsFiltered(
  deps: WebDeps,
  filter: { limit: number; range?: string; status?: string },
) {
  const range = filter.range ?? "24h";
  if (!isRangeName(range)) {
    throw new HttpError(
      400,
      "bad_request",
      `range must be one of ${Object.keys(RANGES).join(", ")}.`,
    );
  }
  const span = RANGES[range];
  const since = span === null ? undefined : new Date(Date.now() - span).toISOString();
  return deps.store.runs.list({ limit: filter.limit, since, status: statusQuery(filter.status) })
    .map(enrichRun);
}

/** One row of the filtered runs list. */
export type ListedRun = ReturnType<typeof listRunsFiltered>[number];

/** The last `tail` events of a run's log; null when the run has no log. */
export async function readRunEvents(deps: WebDeps, runId: string, tail: number) {
  const lines = await tailLines(runLogPath(deps.settings.runLogsDir, runId), tail);
  return lines === null ? null : parseRunLog(lines.join("\n"));
}

/** A run and its analysis (over its last 2000 log events); null for an unknown id. */
export async function runDetail(deps: WebDeps, id: string) {
  const run = isRunId(id) ? deps.store.runs.get(id) : null;
  if (!run) return null;
  const events = await readRunEvents(deps, run.run_id, 2000) ?? [];
  return { run, analysis: analyzeRun(deps.store, run, events) };
}
