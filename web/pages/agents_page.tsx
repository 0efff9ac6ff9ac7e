/** @jsxImportSource hono/jsx */
/** The agents list at `/agents`. */
import { Hono } from "hono";
import type { WebDeps } from "../deps.ts";
import { DataTable } from "./data_table.tsx";
import { when } from "./format.ts";
import { renderPage } from "./layout.tsx";
import { Status } from "./ui.tsx";
import { DEFAULT_UNUSED_DAYS, planPrune } from "../../capsule_runtime/agent_hygiene.ts";

/** The prune button: shown when some agents are unused or never succeeded. */
function PruneButton(props: { deps: WebDeps; base: string }) {
  const plan = planPrune(props.deps.store, { unusedDays: DEFAULT_UNUSED_DAYS });
  if (plan.remove.length === 0) return null;
  const ids = plan.remove.map((i) => i.agent_id);
  return (
    <p class="prune">
      <button
        type="button"
        class="button"
        data-action="POST"
        data-url={`${props.base}/api/agents/prune`}
        data-body={JSON.stringify({ unused_days: DEFAULT_UNUSED_DAYS })}
        data-confirm={`Delete ${ids.length} agent(s) unused for ${DEFAULT_UNUSED_DAYS} days or that never succeeded: ${
          ids.join(", ")
        }?`}
        data-redirect={`${props.base}/agents`}
      >
        Prune {ids.length} unused agent(s)
      </button>{" "}
      <span class="muted">
        unused for {DEFAULT_UNUSED_DAYS} days, or never succeeded in 2 or more uses
      </span>
    </p>
  );
}

export function agentsPage(deps: WebDeps, base: string): Hono {
  const app = new Hono();
  app.get("/agents", (c) => {
    const agents = deps.store.agents.list(1000);
    return c.html(renderPage(
      base,
      "Agents",
      "/agents",
      <>
        <PruneButton deps={deps} base={base} />
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
        />
      </>,
    ));
  });
  return app;
}
