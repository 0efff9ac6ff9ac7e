/** @jsxImportSource hono/jsx */
/** The runs table shared by the overview and the runs list. */
import type { ListedRun } from "../views/runs_view.ts";
import { DataTable } from "./data_table.tsx";
import { money, ms, when } from "./format.ts";
import { Status } from "./ui.tsx";

export function RunsTable(props: { runs: ListedRun[]; base: string }) {
  const base = props.base;
  return (
    <DataTable
      rows={props.runs}
      empty="No runs in this range."
      columns={[
        {
          header: "Run",
          cell: (r) => <a href={`${base}/runs/${r.run_id}`} class="mono">{r.run_id.slice(0, 12)}
          </a>,
        },
        { header: "Status", cell: (r) => <Status value={r.status} /> },
        { header: "Stage", cell: (r) => r.current_stage ?? "–" },
        { header: "Started", cell: (r) => when(r.created_at), class: "nowrap" },
        { header: "Time", cell: (r) => ms(r.latency_ms) },
        { header: "Cost", cell: (r) => (r.cost_usd ? money(r.cost_usd) : "–") },
        {
          header: "Task",
          cell: (r) => <span class="clamp">{r.task.slice(0, 300)}</span>,
          class: "task",
        },
      ]}
    />
  );
}
