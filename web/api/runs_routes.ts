/** Run and run-log routes (list, status, analysis, usage, trace, start, cancel, resume) and the audit list. */
import { Hono } from "hono";
import type { Context } from "hono";
import { z } from "zod";
import { assertRunId, isRunId } from "../../core/ids.ts";
import { APPROVAL_MODES } from "../../core/settings.ts";
import { TOOL_NAMES } from "../../capsule_runtime/manifest.ts";
import { refreshInterruptedRuns } from "../../coordinator/cancel.ts";
import { scopedWorkspace as scopedWorkspaceOf } from "../../coordinator/run_options.ts";
import { ClosedClawError } from "../../core/errors.ts";
import { runLogPath } from "../../coordinator/run_log.ts";
import { loadRunTrace } from "../../coordinator/trace.ts";
import type { WebDeps } from "../deps.ts";
import { HttpError, intQuery, jsonBody, validId } from "../http.ts";
import { analyzeRun } from "../analysis.ts";
import type { LiveHub } from "../live/hub.ts";
import type { WebRuns } from "../web_runs.ts";
import { activeRunOf, listRunsFiltered, readRunEvents } from "../views/runs_view.ts";
import { coordinatorOf } from "./_coordinator.ts";

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

/** What the handlers that start and stop runs share. */
interface RunControl {
  deps: WebDeps;
  hub: LiveHub;
  webRuns: WebRuns;
}

/** A run's workspace, inside the configured ones (coordinator/run_options.ts); else a 400. */
function scopedWorkspace(deps: WebDeps, requested: string | undefined): string | undefined {
  try {
    return scopedWorkspaceOf(deps.settings, requested);
  } catch (error) {
    if (!(error instanceof ClosedClawError)) throw error;
    throw new HttpError(400, error.code, error.message);
  }
}

function runOrThrow(deps: WebDeps, id: string) {
  const run = deps.store.runs.get(validId(assertRunId, id));
  if (!run) throw new HttpError(404, "run_not_found", `No run ${id}.`);
  return run;
}

/** `POST /runs`: starts a run in the background and answers 202 with its id. */
async function startRun({ deps, hub, webRuns }: RunControl, c: Context) {
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
    onEvent: () => {
      if (started.runId) hub.wake(started.runId);
    },
  });
  started.runId = handle.runId;
  webRuns.track(handle);
  hub.wake(handle.runId);
  return c.json({ run_id: handle.runId, status: "running" }, 202);
}

/** `POST /runs/:id/cancel`: stops a run of this server at once, and asks any other owner to. */
function cancelRun({ deps, webRuns }: RunControl, c: Context, id: string) {
  const run = runOrThrow(deps, id);
  const coordinator = coordinatorOf(deps);
  webRuns.get(run.run_id)?.cancel("cancelled from the dashboard");
  const requested = coordinator.requestCancel(run.run_id);
  return c.json({ cancel_requested: requested, run_id: run.run_id });
}

/** `POST /runs/:id/resume`: continues a stopped run, optionally with a higher budget. */
async function resumeRun({ deps, hub, webRuns }: RunControl, c: Context, id: string) {
  const run = runOrThrow(deps, id);
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
}

/** The read-only routes: run lists, one run's status, analysis, usage and log, and the audit. */
function runReadRoutes(deps: WebDeps): Hono {
  const app = new Hono();

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

  app.get("/runs/:id/status", (c) => {
    const run = runOrThrow(deps, c.req.param("id"));
    return c.json({
      ...activeRunOf(run),
      result: run.result,
      pending_approvals: deps.store.approvals.listPending(run.run_id).length,
    });
  });

  app.get("/runs/:id/analysis", async (c) => {
    const run = runOrThrow(deps, c.req.param("id"));
    const tail = intQuery(c, "tail", 2000, 100_000);
    const events = await readRunEvents(deps, run.run_id, tail) ?? [];
    return c.json(analyzeRun(deps.store, run, events));
  });

  app.get("/runs/:id/usage", (c) => {
    const run = runOrThrow(deps, c.req.param("id"));
    return c.json({
      run_id: run.run_id,
      totals: deps.store.llmCalls.totals({ runId: run.run_id }),
      calls: deps.store.llmCalls.listForRun(run.run_id),
    });
  });

  app.get("/runs/:id/trace", async (c) => {
    const run = runOrThrow(deps, c.req.param("id"));
    const trace = await loadRunTrace(
      deps.store,
      runLogPath(deps.settings.runLogsDir, run.run_id),
      run.run_id,
    );
    return c.json(trace);
  });

  app.get("/runlog/:id", async (c) => {
    const id = validId(assertRunId, c.req.param("id"));
    const events = await readRunEvents(deps, id, intQuery(c, "tail", 1000, 100_000));
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

  return app;
}

export function runsRoutes(deps: WebDeps, hub: LiveHub, webRuns: WebRuns): Hono {
  const control: RunControl = { deps, hub, webRuns };
  const app = new Hono();
  app.route("/", runReadRoutes(deps));
  app.post("/runs", (c) => startRun(control, c));
  app.post("/runs/:id/cancel", (c) => cancelRun(control, c, c.req.param("id")));
  app.post("/runs/:id/resume", (c) => resumeRun(control, c, c.req.param("id")));
  return app;
}
