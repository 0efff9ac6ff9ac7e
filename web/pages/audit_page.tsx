/** @jsxImportSource hono/jsx */
/** The audit trail at `/audit`, optionally of one run (`?run_id=`). */
import { Hono } from "hono";
import { assertRunId, isRunId } from "../../core/ids.ts";
import type { WebDeps } from "../deps.ts";
import { DataTable } from "./data_table.tsx";
import { when } from "./format.ts";
import { renderPage } from "./layout.tsx";

export function auditPage(deps: WebDeps, base: string): Hono {
  const app = new Hono();
  app.get("/audit", (c) => {
    const runId = c.req.query("run_id");
    const rows = deps.store.audit.list({
      limit: 300,
      runId: runId && isRunId(runId) ? assertRunId(runId) : undefined,
    });
    return c.html(renderPage(
      base,
      "Audit",
      "/audit",
      <DataTable
        rows={rows}
        empty="No audit events yet."
        columns={[
          { header: "#", cell: (e) => e.id },
          { header: "When", cell: (e) => when(e.created_at), class: "nowrap" },
          { header: "Event", cell: (e) => e.event_type },
          {
            header: "Run",
            cell: (e) =>
              e.run_id && (
                <a class="mono" href={`${base}/runs/${e.run_id}`}>{e.run_id.slice(0, 12)}</a>
              ),
          },
          { header: "Agent", cell: (e) => e.agent_id ?? "", class: "mono" },
          {
            header: "Payload",
            cell: (e) => <code>{JSON.stringify(e.payload).slice(0, 300)}</code>,
          },
        ]}
      />,
    ));
  });
  return app;
}
