/** @jsxImportSource hono/jsx */
/**
 * One run at `/runs/:id`: its task, actions, live part, trace waterfall and raw log. With
 * `?fragment=1` it answers the live part alone, for app.js to swap in.
 */
import { Hono } from "hono";
import type { RunRow } from "../../store/mod.ts";
import type { WebDeps } from "../deps.ts";
import { runDetail } from "../views/runs_view.ts";
import { renderPage } from "./layout.tsx";
import { RunLive } from "./run_live.tsx";
import { TraceWaterfall } from "./run_trace.tsx";
import { loadRunTrace } from "../../coordinator/trace.ts";
import { runLogPath } from "../../coordinator/run_log.ts";
import { Empty } from "./ui.tsx";

/** Cancel while running, Resume once stopped short of success, Re-run always. */
function RunActions(props: { run: RunRow; base: string }) {
  const { run, base } = props;
  const stopped = run.status !== "running" && run.status !== "ok";
  return (
    <div class="actions">
      {run.status === "running" && (
        <button
          type="button"
          class="button danger"
          data-action="POST"
          data-url={`${base}/api/runs/${run.run_id}/cancel`}
        >
          Cancel
        </button>
      )}
      <a class="button" href={`${base}/runs/new?task=${encodeURIComponent(run.task)}`}>
        Re-run
      </a>
      {stopped && (
        <button
          type="button"
          class="button"
          data-action="POST"
          data-url={`${base}/api/runs/${run.run_id}/resume`}
        >
          Resume
        </button>
      )}
      <span class="mono muted">{run.run_id}</span>
    </div>
  );
}

/** The log list app.js fills from the run's event stream. */
function RawLog(props: { runId: string; base: string }) {
  const { runId, base } = props;
  return (
    <section>
      <h2>
        Raw log <span class="muted" id="raw-log-count"></span>{" "}
        <a class="small" href={`${base}/api/runlog/${runId}?tail=100000`} target="_blank">
          as JSON
        </a>
      </h2>
      <ol class="raw-log" id="raw-log" data-stream={`${base}/api/runlog/${runId}/stream`}>
      </ol>
    </section>
  );
}

export function runPage(deps: WebDeps, base: string): Hono {
  const app = new Hono();
  app.get("/runs/:id", async (c) => {
    const id = c.req.param("id");
    const detail = await runDetail(deps, id);
    if (!detail) {
      return c.html(
        renderPage(base, "Run not found", "/runs", <Empty>No run {id.slice(0, 80)}.</Empty>),
        404,
      );
    }
    const { run, analysis } = detail;
    const live = <RunLive run={run} analysis={analysis} base={base} />;
    if (c.req.query("fragment") === "1") return c.html(live.toString());
    const trace = await loadRunTrace(
      deps.store,
      runLogPath(deps.settings.runLogsDir, run.run_id),
      run.run_id,
    );
    return c.html(renderPage(
      base,
      "Run",
      "/runs",
      <>
        <p class="task-text">{run.task}</p>
        <RunActions run={run} base={base} />
        {live}
        <TraceWaterfall trace={trace} base={base} />
        <RawLog runId={run.run_id} base={base} />
      </>,
    ));
  });
  return app;
}
