/** @jsxImportSource hono/jsx */
// Pages are rendered once on the server, never diffed, so React's list keys mean nothing here.
// deno-lint-ignore-file jsx-key
/** The runs list at `/runs`, filtered by range and status. */
import { Hono } from "hono";
import { refreshInterruptedRuns } from "../../coordinator/cancel.ts";
import { RUN_STATUSES } from "../../store/mod.ts";
import type { WebDeps } from "../deps.ts";
import { isRangeName, RANGES } from "../analysis.ts";
import { listRunsFiltered } from "../views/runs_view.ts";
import { renderPage } from "./layout.tsx";
import { RunsTable } from "./runs_table.tsx";

/** The filters from the query; unknown values fall back to 24 hours and any status. */
function filtersOf(query: (name: string) => string | undefined) {
  const requested = query("range");
  const range = isRangeName(requested) ? requested : "24h";
  const status = (RUN_STATUSES as readonly string[]).includes(query("status") ?? "")
    ? query("status")
    : undefined;
  return { range, status };
}

function Filters(props: { base: string; range: string; status: string | undefined }) {
  return (
    <form method="get" action={`${props.base}/runs`} class="filters">
      <label>
        Range{" "}
        <select name="range">
          {Object.keys(RANGES).map((r) => (
            <option value={r} selected={r === props.range}>{r}</option>
          ))}
        </select>
      </label>
      <label>
        Status{" "}
        <select name="status">
          <option value="">any</option>
          {RUN_STATUSES.map((s) => <option value={s} selected={s === props.status}>{s}</option>)}
        </select>
      </label>
      <button type="submit" class="button">Filter</button>
    </form>
  );
}

export function runsPage(deps: WebDeps, base: string): Hono {
  const app = new Hono();
  app.get("/runs", (c) => {
    refreshInterruptedRuns(deps.store);
    const { range, status } = filtersOf((name) => c.req.query(name));
    const runs = listRunsFiltered(deps, { limit: 500, range, status });
    return c.html(renderPage(
      base,
      "Runs",
      "/runs",
      <>
        <Filters base={base} range={range} status={status} />
        <RunsTable runs={runs} base={base} />
      </>,
    ));
  });
  return app;
}
