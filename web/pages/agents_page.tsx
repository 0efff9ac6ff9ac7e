/** @jsxImportSource hono/jsx */
/** The agents list at `/agents`. */
import { Hono } from "hono";
import type { WebDeps } from "../deps.ts";
import { DataTable } from "./data_table.tsx";
import { when } from "./format.ts";
import { renderPage } from "./layout.tsx";
import { Status } from "./ui.tsx";

export function agentsPage(deps: WebDeps, base: string): Hono {
  const app = new Hono();
  app.get("/agents", (c) => {
    const agents = deps.store.agents.list(1000);
    return c.html(renderPage(
      base,
      "Agents",
      "/agents",
      <DataTable
        rows={agents}
        empty="No agents yet. Agents are created when a run needs them."
        columns={[
          {
            header: "Agent",
            cell: (a) => <a class="mono" href={`${base}/agents/${a.agent_id}`}>{a.agent_id}</a>,
          },
          { header: "Name", cell: (a) => a.name },
          { header: "Status", cell: (a) => <Status value={a.status} /> },
          { header: "Uses", cell: (a) => a.usage_count },
          { header: "Success", cell: (a) => <>{Math.round(a.success_rate * 100)}%</> },
          { header: "Tools", cell: (a) => a.tools_allowlist.join(", ") },
          { header: "Last used", cell: (a) => when(a.last_used_at), class: "nowrap" },
        ]}
      />,
    ));
  });
  return app;
}
