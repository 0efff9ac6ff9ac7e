/** @jsxImportSource hono/jsx */
/** The overview at `/`: health and 24-hour figures, two charts, active and recent runs. */
import { Hono } from "hono";
import type { WebDeps } from "../deps.ts";
import { hourlyBars, overviewView, type UsageSeries, usageSeries } from "../views/overview_view.ts";
import { BarChart } from "./charts.tsx";
import { money, ms } from "./format.ts";
import { renderPage } from "./layout.tsx";
import { RunsTable } from "./runs_table.tsx";
import { Card, Empty, HealthProblems, Status } from "./ui.tsx";

type Overview = ReturnType<typeof overviewView>;

function Figures(props: { view: Overview }) {
  const { finished, errors, p95, spend, status, live } = props.view;
  return (
    <section class="cards">
      <Card
        label="Health"
        value={<Status value={status.status} />}
        hint={status.problems.length
          ? status.problems.map((p) => p.problem).join(" ")
          : "coordinator, model, tools"}
      />
      <Card label="Active runs" value={String(live.active_runs.length)} id="active-count" />
      <Card
        label="Error rate (24 h)"
        value={finished ? `${Math.round((errors / finished) * 100)}%` : "–"}
        hint={`${errors} of ${finished} finished runs`}
      />
      <Card label="P95 duration (24 h)" value={ms(p95)} />
      <Card label="Spend today" value={money(spend.cost_usd)} hint={`${spend.calls} model calls`} />
    </section>
  );
}

function Charts(props: { day: Overview["day"] }) {
  const day = props.day;
  return (
    <div class="chart-row">
      <section>
        <h2>Runs per hour, last 24 h (UTC)</h2>
        {day.length
          ? (
            <BarChart
              bars={hourlyBars(day)}
              unit=" runs"
              label="Runs per hour over the last 24 hours, failures in red"
            />
          )
          : <Empty>No runs in the last 24 hours.</Empty>}
      </section>
      <section>
        <h2>Cost per run (latest 40)</h2>
        {day.some((r) => r.cost_usd > 0)
          ? (
            <BarChart
              bars={day.slice(0, 40).reverse().map((r) => ({
                label: r.run_id.slice(0, 8),
                value: r.cost_usd,
              }))}
              unit="$"
              label="Cost per run, oldest first"
              minSlots={20}
            />
          )
          : <Empty>No model spend in the last 24 hours.</Empty>}
      </section>
    </div>
  );
}

/** Tokens per hour over the last 24 h for each model or agent, its totals in the heading. */
function UsageCharts(props: { title: string; series: UsageSeries[]; id: string }) {
  return (
    <section id={props.id} class="usage-charts">
      <h2>{props.title}</h2>
      {props.series.length === 0 ? <Empty>No model calls in the last 24 hours.</Empty> : (
        props.series.map((s) => (
          <div class="usage-series" data-key={s.key}>
            <h3>
              <span class="mono">{s.key}</span>{" "}
              <span class="muted">{s.tokens} tokens, {money(s.cost_usd)}</span>
            </h3>
            <BarChart
              bars={s.bars}
              unit=" tokens"
              label={`Tokens per hour for ${s.key} over the last 24 hours (UTC)`}
            />
          </div>
        ))
      )}
    </section>
  );
}

/** The live list; app.js keeps it and its empty note up to date. */
function ActiveRuns(props: { live: Overview["live"]; base: string }) {
  const { live, base } = props;
  return (
    <section>
      <h2>Active runs</h2>
      <ul id="active-runs" class="list">
        {live.active_runs.map((r) => (
          <li>
            <a href={`${base}/runs/${r.run_id}`}>{r.task}</a> <Status value={r.status} />{" "}
            <span class="muted">{r.current_node ?? ""}</span>
          </li>
        ))}
      </ul>
      <p class="empty" id="active-runs-empty" hidden={live.active_runs.length > 0}>
        Nothing is running.
      </p>
    </section>
  );
}

export function overviewPage(deps: WebDeps, base: string): Hono {
  const app = new Hono();
  app.get("/", (c) => {
    const view = overviewView(deps);
    return c.html(renderPage(
      base,
      "Overview",
      "/",
      <>
        <Figures view={view} />
        <HealthProblems base={base} problems={view.status.problems} />
        <Charts day={view.day} />
        <div class="chart-row">
          <UsageCharts
            id="usage-by-model"
            title="Tokens and cost by model, last 24 h (UTC)"
            series={usageSeries(deps, "model")}
          />
          <UsageCharts
            id="usage-by-agent"
            title="Tokens and cost by agent, last 24 h (UTC)"
            series={usageSeries(deps, "agent")}
          />
        </div>
        <ActiveRuns live={view.live} base={base} />
        <section>
          <h2>Recent runs</h2>
          <RunsTable runs={view.day.slice(0, 10)} base={base} />
        </section>
      </>,
    ));
  });
  return app;
}
