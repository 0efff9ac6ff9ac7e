/** Run, run-log, audit and approval routes, including start, cancel and resume. */
import { Hono } from "hono";
import { isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { assertApprovalId, assertRunId, isRunId } from "../../core/ids.ts";
import { APPROVAL_MODES } from "../../core/settings.ts";
import { parseRunLog, runLogPath, tailLines } from "../../coordinator/run_log.ts";
import { TOOL_NAMES } from "../../capsule_runtime/manifest.ts";
import { isWithin } from "../../capsule_runtime/launcher.ts";
import { refreshInterruptedRuns } from "../../coordinator/cancel.ts";
import { RUN_STATUSES, type RunRow, type RunStatus } from "../../store/mod.ts";
import type { CoordinatorPort, WebDeps, WebRunHandle } from "../deps.ts";
import { HttpError, intQuery, jsonBody, validId } from "../http.ts";
import { analyzeRun, enrichRun, isRangeName, RANGES } from "../analysis.ts";
import type { LiveHub } from "../live/hub.ts";

export const NewRunSchema = z.object({
  task: z.string().trim().min(1, "task is empty").max(20_000),
  context: z.record(z.string(), z.unknown()).optional(),
  session_id: z.string().refine(isRunId, "not a valid session id").optional(),
  tools: z.array(z.enum(TOOL_NAMES)).optional(),
  workspace: z.string().max(4096).optional(),
  model: z.string().trim().max(200).optional(),
  max_cost_usd: z.number().positive().max(1000).optional(),
  create_approval_mode: z.enum(APPROVAL_MODES).exclude(["interactive"]).optional(),
  api_approval_mode: z.enum(APPROVAL_MODES).exclude(["interactive"]).optional(),
}).strict();
export type NewRunBody = z.infer<typeof NewRunSchema>;

/** A resume may raise the run's budget (after a `budget_exceeded` stop). */
const ResumeSchema = z.object({
  max_cost_usd: NewRunSchema.shape.max_cost_usd,
}).strict();

const Decision = z.object({
  approved: z.boolean(),
  note: z.string().max(2000).default(""),
}).strict();

/** Runs this server started, while they run (finished ones are dropped: no unbounded growth). */
export class WebRuns {
  private readonly handles = new Map<string, WebRunHandle>();

  track(handle: WebRunHandle): void {
    this.handles.set(handle.runId, handle);
    const drop = () => this.handles.delete(handle.runId);
    handle.done.then(drop, drop);
  }

  get(runId: string): WebRunHandle | undefined {
    return this.handles.get(runId);
  }

  /** Cancels every run this server started (on shutdown). */
  cancelAll(reason: string): void {
    for (const handle of this.handles.values()) handle.cancel(reason);
  }
}

function coordinatorOf(deps: WebDeps): CoordinatorPort {
  if (!deps.coordinator) {
    throw new HttpError(
      503,
      "coordinator_unavailable",
      "the coordinator is not available in this build",
    );
  }
  return deps.coordinator;
}

/** The workspace a run asked for, which must stay inside the configured workspace. */
function scopedWorkspace(deps: WebDeps, requested: string | undefined): string | undefined {
  if (!requested?.trim()) return undefined;
  const base = deps.settings.workspace;
  const path = isAbsolute(requested) ? resolve(requested) : resolve(base, requested);
  const roots = [base, ...deps.settings.extraAllowedPaths];
  if (!roots.some((root) => isWithin(root, path))) {
    throw new HttpError(
      400,
      "workspace_outside",
      "The workspace must be inside the configured workspace or an extra allowed path.",
    );
  }
  return path;
}

/** The seed's active-run shape. */
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

async function readEvents(deps: WebDeps, runId: string, tail: number) {
  const lines = await tailLines(runLogPath(deps.settings.runLogsDir, runId), tail);
  return lines === null ? null : parseRunLog(lines.join("\n"));
}

export function runsRoutes(deps: WebDeps, hub: LiveHub, webRuns: WebRuns): Hono {
  const app = new Hono();
  const runOrThrow = (id: string) => {
    const run = deps.store.runs.get(validId(assertRunId, id));
    if (!run) throw new HttpError(404, "run_not_found", `No run ${id}.`);
    return run;
  };
  const wake = (runId: () => string | undefined) => () => {
    const id = runId();
    if (id) hub.wake(id);
  };

  app.get("/runs", (c) => {
    refreshInterruptedRuns(deps.store);
    return c.json(deps.store.runs.list({ limit: intQuery(c, "limit", 200, 10_000) }));
  });

  app.get("/runs/enriched", (c) => {
    refreshInterruptedRuns(deps.store);
    return c.json(listRunsFiltered(deps, {
      limit: intQuery(c, "limit", 200, 10_000),
      range: c.req.query("range"),
      status: c.req.query("status"),
    }));
  });

  app.get("/runs/active", (c) => {
    refreshInterruptedRuns(deps.store);
    return c.json(deps.store.runs.list({ status: "running", limit: 500 }).map(activeRunOf));
  });

  app.post("/runs", async (c) => {
    const body = await jsonBody(c, NewRunSchema);
    const coordinator = coordinatorOf(deps);
    const workspace = scopedWorkspace(deps, body.workspace);
    // Events can arrive before startRun returns the id; they wake the channel once it is known.
    const started: { runId?: string } = {};
    const handle = coordinator.startRun({
      task: body.task,
      context: body.context,
      sessionId: body.session_id,
      toolsAllowed: body.tools,
      workspace,
      llmModel: body.model || undefined,
      maxCostUsd: body.max_cost_usd,
      createApprovalMode: body.create_approval_mode ?? "web",
      apiApprovalMode: body.api_approval_mode ?? "web",
      onEvent: wake(() => started.runId),
    });
    started.runId = handle.runId;
    webRuns.track(handle);
    hub.wake(handle.runId);
    return c.json({ run_id: handle.runId, status: "running" }, 202);
  });

  app.get("/runs/:id/status", (c) => {
    const run = runOrThrow(c.req.param("id"));
    return c.json({
      ...activeRunOf(run),
      result: run.result,
      pending_approvals: deps.store.approvals.listPending(run.run_id).length,
    });
  });

  app.get("/runs/:id/analysis", async (c) => {
    const run = runOrThrow(c.req.param("id"));
    const events = await readEvents(deps, run.run_id, intQuery(c, "tail", 2000, 100_000)) ?? [];
    return c.json(analyzeRun(deps.store, run, events));
  });

  app.get("/runs/:id/usage", (c) => {
    const run = runOrThrow(c.req.param("id"));
    return c.json({
      run_id: run.run_id,
      totals: deps.store.llmCalls.totals({ runId: run.run_id }),
      calls: deps.store.llmCalls.listForRun(run.run_id),
    });
  });

  app.post("/runs/:id/cancel", (c) => {
    const run = runOrThrow(c.req.param("id"));
    const coordinator = coordinatorOf(deps);
    webRuns.get(run.run_id)?.cancel("cancelled from the dashboard");
    const requested = coordinator.requestCancel(run.run_id);
    return c.json({ cancel_requested: requested, run_id: run.run_id });
  });

  app.post("/runs/:id/resume", async (c) => {
    const run = runOrThrow(c.req.param("id"));
    const body = await jsonBody(c, ResumeSchema);
    if (run.status === "ok" || run.status === "running") {
      throw new HttpError(
        409,
        "not_resumable",
        `Run ${run.run_id} is ${run.status}; only stopped runs resume.`,
      );
    }
    const handle = coordinatorOf(deps).resumeRun(run.run_id, {
      maxCostUsd: body.max_cost_usd,
      onEvent: () => hub.wake(run.run_id),
    });
    webRuns.track(handle);
    return c.json({ run_id: handle.runId, status: "running" }, 202);
  });

  app.get("/runlog/:id", async (c) => {
    const id = validId(assertRunId, c.req.param("id"));
    const events = await readEvents(deps, id, intQuery(c, "tail", 1000, 100_000));
    if (events === null) throw new HttpError(404, "runlog_not_found", `No run log for ${id}.`);
    return c.json(events);
  });

  app.get("/audit", (c) => {
    const runId = c.req.query("run_id");
    return c.json(deps.store.audit.list({
      limit: intQuery(c, "limit", 200, 10_000),
      runId: runId ? validId(assertRunId, runId) : undefined,
    }));
  });

  app.get("/approvals/pending", (c) => {
    const runId = c.req.query("run_id");
    const rows = deps.store.approvals.listPending(runId ? validId(assertRunId, runId) : undefined);
    return c.json(rows.map((a) => ({
      approval_id: a.approval_id,
      run_id: a.run_id,
      kind: a.kind,
      request_data: a.request_data,
      created_at: a.created_at,
      expires_at: a.expires_at,
    })));
  });

  app.get(
    "/approvals",
    (c) => c.json(deps.store.approvals.list({ limit: intQuery(c, "limit", 200, 10_000) })),
  );

  app.post("/approvals/:id/decide", async (c) => {
    const id = validId(assertApprovalId, c.req.param("id"));
    const body = await jsonBody(c, Decision);
    const coordinator = coordinatorOf(deps);
    if (!deps.store.approvals.get(id)) {
      throw new HttpError(404, "approval_not_found", `No approval ${id}.`);
    }
    const resolved = coordinator.decideApproval(id, body.approved, body.note, "dashboard");
    if (!resolved) {
      throw new HttpError(
        409,
        "already_decided",
        "This approval was already decided or timed out.",
      );
    }
    hub.changed();
    return c.json({ approval_id: id, approved: body.approved, resolved: true });
  });

  return app;
}
