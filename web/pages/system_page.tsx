/** @jsxImportSource hono/jsx */
/**
 * System health at `/system`: status, versions, counts, the open circuit
 * breakers, and the key check and bulk delete.
 */
import { Hono } from "hono";
import type { WebDeps } from "../deps.ts";
import { BULK_DELETE_CONFIRMATION } from "../api/agents_routes.ts";
import { breakersOf, healthOf, statsOf, systemStatusOf } from "../views/health.ts";
import type { OpenBreaker } from "../../llm/breaker.ts";
import { DataTable } from "./data_table.tsx";
import { workersOf, type WorkersView } from "../views/workers_view.ts";
import { renderPage } from "./layout.tsx";
import { Card, HealthProblems, Json, Status } from "./ui.tsx";

function SystemActions(props: { base: string }) {
  const base = props.base;
  return (
    <div class="actions">
      <button
        type="button"
        class="button"
        id="init"
        data-action="POST"
        data-url={`${base}/api/init`}
      >
        Initialize the data folder
      </button>
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
  );
}

/** One row per open circuit breaker: which endpoint, why, and when it lets a call through. */
function BreakersTable(props: { rows: OpenBreaker[] }) {
  return (
    <section id="breakers">
      <h2>Circuit breakers</h2>
      <DataTable
        rows={props.rows}
        empty="No open circuit breaker: calls go to every endpoint."
        columns={[
          { header: "Endpoint", cell: (b) => b.label },
          { header: "State", cell: (b) => <Status value={b.state} /> },
          { header: "Failures", cell: (b) => String(b.failures) },
          { header: "Last error", cell: (b) => b.lastError },
          {
            header: "Resets",
            cell: (b) =>
              b.state === "open" ? `${b.resetsAt} (in ${b.resetsInSec} s)` : "next call is a trial",
          },
        ]}
      />
      <p>
        A successful key check (Settings' "Check the current key", or{" "}
        <code>closed-claw doctor</code>) clears the breakers of the endpoint it reaches.
      </p>
    </section>
  );
}

/** Where capsules run: this machine, or the live workers on NATS. */
function WorkersTable(props: { view: WorkersView }) {
  const { view } = props;
  return (
    <section id="workers">
      <h2>Workers</h2>
      {!view.configured
        ? (
          <p>
            Capsules run on this machine. Set <code>CLOSED_CLAW_NATS_URL</code> and start{" "}
            <code>closed-claw worker</code> on other machines to run them there.
          </p>
        )
        : view.error
        ? <p class="flash error">Could not ask the workers on {view.nats_url}: {view.error}</p>
        : (
          <DataTable
            rows={view.workers}
            empty={`No worker answered on ${view.nats_url}: capsules wait until one starts.`}
            columns={[
              { header: "Name", cell: (w) => w.name },
              { header: "Host", cell: (w) => w.host },
              {
                header: "Sandbox",
                cell: (w) => w.sandbox === "bwrap" ? "bubblewrap + Deno" : "Deno only",
              },
              { header: "Running", cell: (w) => `${w.running} / ${w.max_capsules}` },
              { header: "Workspace roots", cell: (w) => w.workspace_roots.join(", ") },
              { header: "Version", cell: (w) => w.version },
            ]}
          />
        )}
    </section>
  );
}

export function systemPage(deps: WebDeps, base: string): Hono {
  const app = new Hono();
  app.get("/system", async (c) => {
    const workers = await workersOf(deps.settings);
    const health = healthOf(deps);
    const stats = statsOf(deps);
    const status = systemStatusOf(deps);
    return c.html(renderPage(
      base,
      "System health",
      "/system",
      <>
        <section class="cards">
          <Card label="Status" value={<Status value={status.status} />} />
          <Card label="Deno" value={Deno.version.deno} />
          <Card
            label="Model"
            value={`${health.llm_provider}/${health.llm_model}`}
            hint={health.llm_key_set ? "key set" : "no key"}
          />
          <Card label="Agents / runs" value={`${stats.agents} / ${stats.runs}`} />
        </section>
        <HealthProblems base={base} problems={status.problems} />
        <BreakersTable rows={breakersOf(deps)} />
        <WorkersTable view={workers} />
        <Json
          value={{
            health,
            stats,
            data_dir: deps.settings.homeDir,
            workspace: deps.settings.workspace,
          }}
        />
        <SystemActions base={base} />
      </>,
    ));
  });
  return app;
}
