/** @jsxImportSource hono/jsx */
// Pages are rendered once on the server, never diffed, so React's list keys mean nothing here.
// deno-lint-ignore-file jsx-key
/**
 * The server-rendered pages. Every value goes through hono/jsx, which escapes
 * text and attributes; data for scripts travels in data-* attributes, never
 * in inline script (the CSP forbids inline script anyway).
 */
import { Hono } from "hono";
import type { Child } from "hono/jsx";
import { assertAgentId, assertRunId, isAgentId, isRunId } from "../../core/ids.ts";
import { APPROVAL_MODES } from "../../core/settings.ts";
import { parseRunLog, runLogPath, tailLines } from "../../coordinator/run_log.ts";
import { TOOL_NAMES } from "../../capsule_runtime/manifest.ts";
import { readSkill } from "../../capsule_runtime/skills.ts";
import { refreshInterruptedRuns } from "../../coordinator/cancel.ts";
import { RUN_STATUSES } from "../../store/mod.ts";
import type { WebDeps } from "../deps.ts";
import { analyzeRun, isRangeName, RANGES } from "../analysis.ts";
import { agentView, BULK_DELETE_CONFIRMATION, skillsView } from "../api/agents_routes.ts";
import { listRunsFiltered } from "../api/runs_routes.ts";
import { healthOf, settingsView, statsOf, systemStatusOf } from "../api/system_routes.ts";
import { toolsView } from "../api/tools_routes.ts";
import { PROVIDER_INFO, resolveProviderConfig } from "../../llm/mod.ts";
import { liveSnapshot } from "../api/live_routes.ts";
import { BarChart, SubtaskGraph } from "./charts.tsx";
import { Layout } from "./layout.tsx";

const money = (v: number) => `$${v.toFixed(4)}`;
const when = (iso: string | null) => (iso ? iso.replace("T", " ").slice(0, 19) : "–");
const ms = (v: number | null) =>
  v === null ? "–" : v < 1000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(1)} s`;

function Status(props: { value: string }) {
  return <span class={`status status-${props.value}`}>{props.value}</span>;
}

function Card(props: { label: string; value: Child; hint?: string; id?: string }) {
  return (
    <div class="card" id={props.id}>
      <div class="label">{props.label}</div>
      <div class="value">{props.value}</div>
      {props.hint && <div class="hint">{props.hint}</div>}
    </div>
  );
}

function Empty(props: { children: Child }) {
  return <p class="empty">{props.children}</p>;
}

function Json(props: { value: unknown }) {
  return <pre class="json">{JSON.stringify(props.value, null, 2)}</pre>;
}

function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Runs per hour over the last 24 hours, failures highlighted. */
function hourlyBars(runs: { created_at: string; status: string }[]) {
  const now = Date.now();
  const bars = Array.from({ length: 24 }, (_, i) => {
    const start = new Date(now - (23 - i) * 3_600_000);
    return { label: `${String(start.getUTCHours()).padStart(2, "0")}:00`, value: 0, alert: 0 };
  });
  for (const r of runs) {
    const age = Math.floor((now - Date.parse(r.created_at)) / 3_600_000);
    if (age < 0 || age > 23) continue;
    const bar = bars[23 - age];
    bar.value++;
    if (r.status === "error" || r.status === "interrupted") bar.alert++;
  }
  return bars;
}

function RunsTable(props: { runs: ReturnType<typeof listRunsFiltered>; base: string }) {
  const base = props.base;
  if (props.runs.length === 0) return <Empty>No runs in this range.</Empty>;
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th>Run</th>
            <th>Status</th>
            <th>Stage</th>
            <th>Started</th>
            <th>Time</th>
            <th>Cost</th>
            <th>Task</th>
          </tr>
        </thead>
        <tbody>
          {props.runs.map((r) => (
            <tr>
              <td>
                <a href={`${base}/runs/${r.run_id}`} class="mono">{r.run_id.slice(0, 12)}</a>
              </td>
              <td>
                <Status value={r.status} />
              </td>
              <td>{r.current_stage ?? "–"}</td>
              <td class="nowrap">{when(r.created_at)}</td>
              <td>{ms(r.latency_ms)}</td>
              <td>{r.cost_usd ? money(r.cost_usd) : "–"}</td>
              <td class="task">
                <span class="clamp">{r.task.slice(0, 300)}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * The pages, routed at `/`; every link, form and script URL they render
 * starts with `base`, the prefix the browser sees them under (`""` for `/`).
 */
export function pageRoutes(deps: WebDeps, base: string): Hono {
  const app = new Hono();
  const page = (title: string, path: string, body: Child) =>
    "<!doctype html>" +
    (<Layout title={title} path={path} base={base}>{body}</Layout>).toString();

  app.get("/", (c) => {
    refreshInterruptedRuns(deps.store);
    const day = listRunsFiltered(deps, { limit: 10_000, range: "24h" });
    const finished = day.filter((r) => r.status !== "running");
    const errors = finished.filter((r) => r.status === "error" || r.status === "interrupted");
    const p95 = percentile(
      finished.map((r) => r.latency_ms).filter((v): v is number => v !== null),
      95,
    );
    const since = new Date();
    since.setUTCHours(0, 0, 0, 0);
    const spend = deps.store.llmCalls.totals({ since: since.toISOString() });
    const status = systemStatusOf(deps);
    const live = liveSnapshot(deps);
    return c.html(page(
      "Overview",
      "/",
      <>
        <section class="cards">
          <Card
            label="Health"
            value={<Status value={status.status} />}
            hint="coordinator, model, tools"
          />
          <Card label="Active runs" value={String(live.active_runs.length)} id="active-count" />
          <Card
            label="Error rate (24 h)"
            value={finished.length
              ? `${Math.round((errors.length / finished.length) * 100)}%`
              : "–"}
            hint={`${errors.length} of ${finished.length} finished runs`}
          />
          <Card label="P95 duration (24 h)" value={ms(p95)} />
          <Card
            label="Spend today"
            value={money(spend.cost_usd)}
            hint={`${spend.calls} model calls`}
          />
        </section>
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
        <section>
          <h2>Recent runs</h2>
          <RunsTable runs={day.slice(0, 10)} base={base} />
        </section>
      </>,
    ));
  });

  app.get("/runs", (c) => {
    refreshInterruptedRuns(deps.store);
    const requested = c.req.query("range");
    const range = isRangeName(requested) ? requested : "24h";
    const status = (RUN_STATUSES as readonly string[]).includes(c.req.query("status") ?? "")
      ? c.req.query("status")
      : undefined;
    const runs = listRunsFiltered(deps, { limit: 500, range, status });
    return c.html(page(
      "Runs",
      "/runs",
      <>
        <form method="get" action={`${base}/runs`} class="filters">
          <label>
            Range{" "}
            <select name="range">
              {Object.keys(RANGES).map((r) => (
                <option value={r} selected={r === range}>{r}</option>
              ))}
            </select>
          </label>
          <label>
            Status{" "}
            <select name="status">
              <option value="">any</option>
              {RUN_STATUSES.map((s) => <option value={s} selected={s === status}>{s}</option>)}
            </select>
          </label>
          <button type="submit" class="button">Filter</button>
        </form>
        <RunsTable runs={runs} base={base} />
      </>,
    ));
  });

  app.get("/runs/new", (c) => {
    const task = c.req.query("task") ?? "";
    return c.html(page(
      "New run",
      "/runs/new",
      <form
        class="stack"
        data-json-form={`${base}/api/runs`}
        data-redirect={`${base}/runs/{run_id}`}
        id="new-run-form"
      >
        <label>
          Task
          <textarea name="task" rows={4} required>{task}</textarea>
        </label>
        <fieldset>
          <legend>Tools the run may use (none checked: all)</legend>
          {TOOL_NAMES.map((t) => (
            <label class="inline">
              <input type="checkbox" name="tools" value={t} /> {t}
            </label>
          ))}
        </fieldset>
        <label>
          Workspace (inside {deps.settings.workspace})
          <input name="workspace" placeholder="." />
        </label>
        <label>
          Model (empty: {deps.settings.llmModel || "the provider's default"})
          <input name="model" />
        </label>
        <label>
          Budget in USD (empty: {String(deps.settings.maxCostUsdPerRun)})
          <input name="max_cost_usd" type="number" step="0.01" min="0.01" data-type="number" />
        </label>
        <div class="row">
          {(["create_approval_mode", "api_approval_mode"] as const).map((name) => (
            <label>
              {name === "create_approval_mode" ? "Agent creation approval" : "Paid API approval"}
              <select name={name}>
                {APPROVAL_MODES.filter((m) => m !== "interactive").map((m) => (
                  <option value={m} selected={m === "web"}>{m}</option>
                ))}
              </select>
            </label>
          ))}
        </div>
        <button type="submit" class="button primary">Start run</button>
      </form>,
    ));
  });

  app.get("/runs/:id", async (c) => {
    const id = c.req.param("id");
    const run = isRunId(id) ? deps.store.runs.get(id) : null;
    if (!run) {
      return c.html(page("Run not found", "/runs", <Empty>No run {id.slice(0, 80)}.</Empty>), 404);
    }
    const lines = await tailLines(runLogPath(deps.settings.runLogsDir, run.run_id), 2000) ?? [];
    const a = analyzeRun(deps.store, run, parseRunLog(lines.join("\n")));
    const fragment = (
      <div id="run-live" data-run-id={run.run_id} data-status={run.status}>
        <section class="cards">
          <Card label="Status" value={<Status value={run.status} />} hint={a.current_stage ?? ""} />
          <Card label="Duration" value={ms(run.latency_ms)} />
          <Card
            label="Tokens"
            value={`${a.usage.input_tokens} in / ${a.usage.output_tokens} out`}
          />
          <Card
            label="Cost"
            value={money(a.usage.cost_usd)}
            hint={`${a.usage.calls} model calls`}
          />
        </section>
        {a.failure_reason && (
          <section class="alert-box">
            <b>Failed in {a.failed_stage ?? "an unknown stage"}:</b> {a.failure_reason}
          </section>
        )}
        <section>
          <h2>Stages</h2>
          <ol class="timeline" data-log-lines={String(a.events.length)}>
            {a.stages.map((s) => (
              <li
                class={s.events ? (s.errors ? "has-errors" : "done") : "idle"}
                data-stage={s.name}
                data-events={String(s.events)}
              >
                <b>{s.name}</b>{" "}
                <span class="muted">{s.events} events, {s.errors} errors, {ms(s.duration_ms)}</span>
              </li>
            ))}
          </ol>
        </section>
        <section>
          <h2>Subtasks</h2>
          {a.subtasks.length
            ? (
              <SubtaskGraph
                nodes={a.subtasks.map((s) => ({
                  id: s.task_id,
                  label: s.title,
                  status: s.status,
                  depends_on: s.depends_on,
                }))}
              />
            )
            : <Empty>No subtasks yet.</Empty>}
        </section>
        <section>
          <h2>Approvals</h2>
          {a.approvals.length === 0 ? <Empty>No approvals.</Empty> : (
            <ul class="list">
              {a.approvals.map((ap) => (
                <li>
                  <Status value={ap.status} /> {ap.kind}{" "}
                  <code>{JSON.stringify(ap.request_data).slice(0, 200)}</code>
                  {ap.status === "pending" && <ApprovalButtons id={ap.approval_id} base={base} />}
                </li>
              ))}
            </ul>
          )}
        </section>
        <section>
          <h2>Tool calls</h2>
          {a.tool_calls.length === 0 ? <Empty>No tool calls.</Empty> : (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Tool</th>
                    <th>Agent</th>
                    <th>OK</th>
                    <th>Time</th>
                    <th>Args</th>
                    <th>Error</th>
                  </tr>
                </thead>
                <tbody>
                  {a.tool_calls.map((t) => (
                    <tr>
                      <td>{t.tool}</td>
                      <td class="mono">{t.agent_id ?? ""}</td>
                      <td>{t.ok ? "yes" : "no"}</td>
                      <td>{ms(t.latency_ms)}</td>
                      <td>
                        <code>{JSON.stringify(t.args).slice(0, 200)}</code>
                      </td>
                      <td>{t.error}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
        <section>
          <h2>Model calls</h2>
          {a.usage.calls === 0 ? <Empty>No model calls.</Empty> : (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Purpose</th>
                    <th>Model</th>
                    <th>Tokens in</th>
                    <th>Tokens out</th>
                    <th>Cost</th>
                    <th>Time</th>
                    <th>Outcome</th>
                  </tr>
                </thead>
                <tbody>
                  {a.model_calls.map((m) => (
                    <tr>
                      <td>{m.purpose}</td>
                      <td>{m.provider}/{m.model}</td>
                      <td>{m.input_tokens}</td>
                      <td>{m.output_tokens}</td>
                      <td>{money(m.cost_usd)}</td>
                      <td>{ms(m.latency_ms)}</td>
                      <td>{m.outcome}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
        {a.artifacts.length > 0 && (
          <section>
            <h2>Artifacts</h2>
            <ul class="list">{a.artifacts.map((p) => <li class="mono">{p}</li>)}</ul>
          </section>
        )}
        {run.result && (
          <section>
            <h2>Result</h2>
            <pre class="result">{run.result}</pre>
          </section>
        )}
      </div>
    );
    if (c.req.query("fragment") === "1") return c.html(fragment.toString());
    const stopped = run.status !== "running" && run.status !== "ok";
    return c.html(page(
      "Run",
      "/runs",
      <>
        <p class="task-text">{run.task}</p>
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
        {fragment}
        <section>
          <h2>
            Raw log <span class="muted" id="raw-log-count"></span>{" "}
            <a class="small" href={`${base}/api/runlog/${run.run_id}?tail=100000`} target="_blank">
              as JSON
            </a>
          </h2>
          <ol class="raw-log" id="raw-log" data-stream={`${base}/api/runlog/${run.run_id}/stream`}>
          </ol>
        </section>
      </>,
    ));
  });

  app.get("/agents", (c) => {
    const agents = deps.store.agents.list(1000);
    return c.html(page(
      "Agents",
      "/agents",
      agents.length === 0
        ? <Empty>No agents yet. Agents are created when a run needs them.</Empty>
        : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>Agent</th>
                  <th>Name</th>
                  <th>Status</th>
                  <th>Uses</th>
                  <th>Success</th>
                  <th>Tools</th>
                  <th>Last used</th>
                </tr>
              </thead>
              <tbody>
                {agents.map((a) => (
                  <tr>
                    <td>
                      <a class="mono" href={`${base}/agents/${a.agent_id}`}>{a.agent_id}</a>
                    </td>
                    <td>{a.name}</td>
                    <td>
                      <Status value={a.status} />
                    </td>
                    <td>{a.usage_count}</td>
                    <td>{Math.round(a.success_rate * 100)}%</td>
                    <td>{a.tools_allowlist.join(", ")}</td>
                    <td class="nowrap">{when(a.last_used_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ),
    ));
  });

  app.get("/agents/:id", async (c) => {
    const id = c.req.param("id");
    const view = isAgentId(id) ? await agentView(deps, assertAgentId(id)) : null;
    if (!view) {
      return c.html(
        page("Agent not found", "/agents", <Empty>No agent {id.slice(0, 80)}.</Empty>),
        404,
      );
    }
    return c.html(page(
      view.name,
      "/agents",
      <>
        <p>{view.description}</p>
        <div class="actions">
          <button
            type="button"
            class="button danger"
            data-action="DELETE"
            data-url={`${base}/api/agents/${view.agent_id}`}
            data-confirm={`Delete agent ${view.agent_id}?`}
            data-redirect={`${base}/agents`}
          >
            Delete agent
          </button>
        </div>
        <section class="cards">
          <Card label="Status" value={<Status value={view.status} />} />
          <Card label="Uses" value={String(view.metrics.usage_count)} />
          <Card label="Success" value={`${Math.round(view.metrics.success_rate * 100)}%`} />
          <Card label="Avg latency" value={ms(view.metrics.avg_latency_ms)} />
          <Card
            label="Tool calls"
            value={`${view.metrics.tool_calls} (${view.metrics.tool_errors} failed)`}
          />
        </section>
        <section>
          <h2>Deno flags of its capsule ({view.sandbox})</h2>
          <pre class="flags">{view.deno_flags.join("\n")}</pre>
          {view.refused_tools.map((r) => <p class="alert-box">{r.tool}: {r.reason}</p>)}
        </section>
        <section>
          <h2>skill.md</h2>
          <pre class="result">{view.skill_md}</pre>
        </section>
        <section>
          <h2>Memories ({view.memory_entries})</h2>
          {view.memories.length === 0 ? <Empty>No memories yet.</Empty> : (
            <ul class="list">
              {view.memories.map((m) => (
                <li>
                  <span class="muted">{when(m.created_at)}</span> {m.content}
                </li>
              ))}
            </ul>
          )}
        </section>
        <section>
          <h2>Manifest</h2>
          <Json
            value={{
              ...view,
              skill_md: undefined,
              memories: undefined,
              recent_tool_calls: undefined,
            }}
          />
        </section>
      </>,
    ));
  });

  app.get("/approvals", (c) => {
    const all = deps.store.approvals.list({ limit: 200 });
    return c.html(page(
      "Approvals",
      "/approvals",
      all.length === 0
        ? <Empty>No approval requests yet.</Empty>
        : (
          <ul class="list" id="approval-list">
            {all.map((a) => (
              <li>
                <Status value={a.status} /> <b>{a.kind}</b>{" "}
                {a.run_id && (
                  <a href={`${base}/runs/${a.run_id}`} class="mono">{a.run_id.slice(0, 12)}</a>
                )} <span class="muted">{when(a.created_at)}</span>
                <Json value={a.request_data} />
                {a.status === "pending" && <ApprovalButtons id={a.approval_id} base={base} />}
                {a.status !== "pending" && (
                  <span class="muted">by {a.operator ?? "–"} {a.note}</span>
                )}
              </li>
            ))}
          </ul>
        ),
    ));
  });

  app.get("/audit", (c) => {
    const runId = c.req.query("run_id");
    const rows = deps.store.audit.list({
      limit: 300,
      runId: runId && isRunId(runId) ? assertRunId(runId) : undefined,
    });
    return c.html(page(
      "Audit",
      "/audit",
      rows.length === 0 ? <Empty>No audit events yet.</Empty> : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th>#</th>
                <th>When</th>
                <th>Event</th>
                <th>Run</th>
                <th>Agent</th>
                <th>Payload</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((e) => (
                <tr>
                  <td>{e.id}</td>
                  <td class="nowrap">{when(e.created_at)}</td>
                  <td>{e.event_type}</td>
                  <td>
                    {e.run_id && (
                      <a class="mono" href={`${base}/runs/${e.run_id}`}>{e.run_id.slice(0, 12)}</a>
                    )}
                  </td>
                  <td class="mono">{e.agent_id ?? ""}</td>
                  <td>
                    <code>{JSON.stringify(e.payload).slice(0, 300)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ),
    ));
  });

  app.get("/tools", (c) =>
    c.html(page(
      "Tools",
      "/tools",
      <>
        <p class="muted">
          "Test" runs the tool once inside a throw-away sandboxed capsule allowed only that tool,
          with the same policy checks an agent gets.
        </p>
        {toolsView().map((t) => (
          <section class="tool">
            <h2>
              {t.name} <span class={`status risk-${t.risk_level}`}>{t.risk_level} risk</span>
            </h2>
            <p>{t.description}</p>
            <details>
              <summary>Arguments schema</summary>
              <Json value={t.args_schema} />
            </details>
            <form
              class="stack"
              data-json-form={`${base}/api/tools/${t.name}/test`}
              data-wrap="args"
              data-output={`out-${t.name}`}
            >
              <label>
                Arguments (JSON)
                <textarea name="args" rows={3} data-type="json">{"{}"}</textarea>
              </label>
              <button type="submit" class="button">Test in sandbox</button>
              <pre class="json" id={`out-${t.name}`}></pre>
            </form>
          </section>
        ))}
      </>,
    )));

  app.get("/skills", (c) =>
    c.html(page(
      "Skills",
      "/skills",
      <ul class="list">
        {skillsView(deps).map((s) => (
          <li>
            <a href={`${base}/skills/${s.skill_id}`}>
              <b>{s.label}</b>
            </a>{" "}
            <span class="muted">({s.skill_id}, used by {s.agent_count})</span>
            <div>{s.description}</div>
          </li>
        ))}
      </ul>,
    )));

  app.get("/skills/:id", (c) => {
    const skill = readSkill(c.req.param("id"));
    if (!skill) {
      return c.html(page("Skill not found", "/skills", <Empty>No such skill.</Empty>), 404);
    }
    return c.html(page(skill.info.label, "/skills", <pre class="result">{skill.content}</pre>));
  });

  app.get("/settings", (c) => {
    const groups = new Map<string, ReturnType<typeof settingsView>>();
    for (const s of settingsView(deps)) groups.set(s.group, [...(groups.get(s.group) ?? []), s]);
    const llm = resolveProviderConfig(deps.settings);
    const keyEnv = PROVIDER_INFO[llm.provider].keyEnv;
    return c.html(page(
      "Settings",
      "/settings",
      <>
        {keyEnv && (
          <form
            class="stack key-form"
            data-json-form={`${base}/api/settings/apikey`}
            data-reset="1"
          >
            <fieldset>
              <legend>API key for {llm.provider}</legend>
              <p class="muted">
                The key is checked by listing the provider's models (no tokens are spent) and, if it
                works, saved as <span class="mono">{keyEnv}</span>. It is never shown again.
              </p>
              <label>
                New key
                <input
                  name="api_key"
                  type="password"
                  autocomplete="off"
                  spellcheck={false}
                  required
                  placeholder={llm.apiKey ? "(set)" : "(not set)"}
                />
              </label>
              <div class="actions">
                <button type="submit" class="button primary">Check and save key</button>
                <button
                  type="button"
                  class="button"
                  data-action="POST"
                  data-url={`${base}/api/health/verify`}
                >
                  Check the current key
                </button>
              </div>
            </fieldset>
          </form>
        )}
        <form
          class="stack"
          data-json-form={`${base}/api/settings`}
          data-wrap="changes"
          data-only-changed="1"
          id="settings-form"
        >
          <p class="muted">
            Saved to{" "}
            {deps.settings.envFile || "./.env"}. Values are validated; line breaks are refused.
            Secrets are never shown: type a new value to replace one.
          </p>
          {[...groups].map(([group, items]) => (
            <fieldset>
              <legend>{group}</legend>
              {items.map((s) => (
                <label title={s.description}>
                  {s.label} <span class="mono muted">{s.env}</span>
                  {s.type === "select"
                    ? (
                      <select name={s.env} data-initial={s.value}>
                        {(s.options ?? []).map((o) => (
                          <option value={o} selected={o === s.value}>{o}</option>
                        ))}
                      </select>
                    )
                    : (
                      <input
                        name={s.env}
                        value={s.value}
                        data-initial={s.value}
                        type={s.type === "secret" ? "password" : "text"}
                        placeholder={s.type === "secret"
                          ? ("is_set" in s && s.is_set ? "(set)" : "(not set)")
                          : s.default}
                      />
                    )}
                </label>
              ))}
            </fieldset>
          ))}
          <button type="submit" class="button primary">Save changes</button>
        </form>
      </>,
    ));
  });

  app.get("/system", (c) => {
    const health = healthOf(deps);
    const stats = statsOf(deps);
    return c.html(page(
      "System health",
      "/system",
      <>
        <section class="cards">
          <Card label="Status" value={<Status value={systemStatusOf(deps).status} />} />
          <Card label="Deno" value={Deno.version.deno} />
          <Card
            label="Model"
            value={`${health.llm_provider}/${health.llm_model}`}
            hint={health.llm_key_set ? "key set" : "no key"}
          />
          <Card label="Agents / runs" value={`${stats.agents} / ${stats.runs}`} />
        </section>
        <Json
          value={{
            health,
            stats,
            data_dir: deps.settings.homeDir,
            workspace: deps.settings.workspace,
          }}
        />
        <div class="actions">
          <button
            type="button"
            class="button"
            data-action="POST"
            data-url={`${base}/api/health/verify`}
          >
            Check the API key
          </button>
          <button
            type="button"
            class="button danger"
            data-action="POST"
            data-url={`${base}/api/agents/delete-bulk`}
            data-body={JSON.stringify({ exclude_ids: [], confirm: BULK_DELETE_CONFIRMATION })}
            data-confirm="Delete EVERY agent and capsule folder?"
          >
            Delete all agents
          </button>
        </div>
      </>,
    ));
  });

  return app;
}

function ApprovalButtons(props: { id: string; base: string }) {
  const base = props.base;
  return (
    <span class="approval-buttons">
      <button
        type="button"
        class="button primary"
        data-action="POST"
        data-url={`${base}/api/approvals/${props.id}/decide`}
        data-body='{"approved":true}'
      >
        Approve
      </button>
      <button
        type="button"
        class="button danger"
        data-action="POST"
        data-url={`${base}/api/approvals/${props.id}/decide`}
        data-body='{"approved":false}'
      >
        Deny
      </button>
    </span>
  );
}
