/** @jsxImportSource hono/jsx */
// Pages are rendered once on the server, never diffed, so React's list keys mean nothing here.
// deno-lint-ignore-file jsx-key
/**
 * The live part of a run's page (`#run-live`): app.js re-fetches it as a
 * fragment while the run is going and swaps it in.
 */
import type { RunAnalysis } from "../analysis.ts";
import type { RunRow } from "../../store/mod.ts";
import {
  alwaysText,
  ApprovalButtons,
  ApprovalDetails,
  Countdown,
  decidedText,
} from "./approval_buttons.tsx";
import { failureHint } from "../../coordinator/failure_hint.ts";
import { BarChart, SubtaskGraph } from "./charts.tsx";
import { traceGroupId } from "./run_trace.tsx";
import { DataTable } from "./data_table.tsx";
import { money, ms } from "./format.ts";
import { Card, Empty, Status } from "./ui.tsx";

function Figures(props: { run: RunRow; a: RunAnalysis }) {
  const { run, a } = props;
  return (
    <section class="cards">
      <Card label="Status" value={<Status value={run.status} />} hint={a.current_stage ?? ""} />
      <Card label="Duration" value={ms(run.latency_ms)} />
      <Card label="Tokens" value={`${a.usage.input_tokens} in / ${a.usage.output_tokens} out`} />
      <Card label="Cost" value={money(a.usage.cost_usd)} />
      <Card
        label="Model calls"
        value={String(a.usage.calls)}
        hint={a.model_calls_before_first_tool === null
          ? ""
          : `${a.model_calls_before_first_tool} before the first tool call`}
      />
    </section>
  );
}

function Stages(props: { a: RunAnalysis }) {
  const a = props.a;
  return (
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
  );
}

/** How long a subtask ran, formatted, or "" while it has not started or finished. */
function subtaskDuration(started: string | null, finished: string | null): string {
  if (!started || !finished) return "";
  const d = Date.parse(finished) - Date.parse(started);
  return Number.isFinite(d) && d >= 0 ? ms(d) : "";
}

/** The model spend of each subtask, in plan order (calls outside any subtask left out). */
export function costPerSubtask(a: RunAnalysis): { label: string; value: number }[] {
  const cost = new Map<string, number>();
  for (const m of a.model_calls) {
    if (m.task_id) cost.set(m.task_id, (cost.get(m.task_id) ?? 0) + m.cost_usd);
  }
  return a.subtasks.map((s) => ({ label: s.task_id, value: cost.get(s.task_id) ?? 0 }));
}

function Subtasks(props: { a: RunAnalysis }) {
  const a = props.a;
  const costs = costPerSubtask(a);
  return (
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
              agent: s.assigned_agent_id,
              worker: a.workers[s.task_id]?.join(", "),
              duration: subtaskDuration(s.started_at, s.finished_at),
              href: `#${traceGroupId(s.task_id)}`,
            }))}
          />
        )
        : <Empty>No subtasks yet.</Empty>}
      {costs.length > 0 && (
        <div class="subtask-cost" id="subtask-cost">
          <h3>Cost per subtask</h3>
          {costs.some((c) => c.value > 0)
            ? (
              <BarChart
                bars={costs}
                unit="$"
                label="Model cost per subtask, in plan order"
                minSlots={8}
              />
            )
            : <Empty>No model spend recorded for the subtasks.</Empty>}
        </div>
      )}
    </section>
  );
}

function Approvals(props: { a: RunAnalysis; base: string }) {
  const { a, base } = props;
  return (
    <section>
      <h2>Approvals</h2>
      {a.approvals.length === 0 ? <Empty>No approvals.</Empty> : (
        <ul class="list">
          {a.approvals.map((ap) => (
            <li>
              <Status value={ap.status} /> {ap.kind}{" "}
              {ap.status === "pending" && <Countdown expiresAt={ap.expires_at} />}
              {ap.status === "pending" ? <ApprovalDetails request={ap.request_data} /> : (
                <code>
                  {ap.request_data.summary
                    ? String(ap.request_data.summary).slice(0, 600)
                    : JSON.stringify(ap.request_data).slice(0, 200)}
                </code>
              )}
              {ap.status === "pending" && (
                <ApprovalButtons
                  id={ap.approval_id}
                  base={base}
                  always={alwaysText(ap.request_data)}
                />
              )}
              {ap.status !== "pending" && <span class="muted">{decidedText(ap)}</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** A tool's result as text: strings as they are, anything else as JSON. */
export function resultText(result: unknown): string {
  if (result === null || result === undefined) return "";
  if (typeof result === "string") return result;
  try {
    return JSON.stringify(result) ?? "";
  } catch {
    return String(result);
  }
}

/** A short preview of a tool's result, the whole text in a `<details>` when it is longer. */
function ToolResult(props: { result: unknown }) {
  const text = resultText(props.result);
  if (!text) return <span class="muted">–</span>;
  const preview = text.length > 120 ? `${text.slice(0, 119)}…` : text;
  if (preview === text) return <code class="tool-result-preview">{text}</code>;
  return (
    <details class="tool-result">
      <summary>
        <code class="tool-result-preview">{preview}</code>
      </summary>
      <pre class="tool-result-full">{text.slice(0, 20000)}</pre>
    </details>
  );
}

function ToolCalls(props: { a: RunAnalysis }) {
  return (
    <section>
      <h2>Tool calls</h2>
      <DataTable
        rows={props.a.tool_calls}
        empty="No tool calls."
        columns={[
          { header: "Tool", cell: (t) => t.tool },
          { header: "Agent", cell: (t) => t.agent_id ?? "", class: "mono" },
          { header: "OK", cell: (t) => (t.ok ? "yes" : "no") },
          { header: "Time", cell: (t) => ms(t.latency_ms) },
          { header: "Args", cell: (t) => <code>{JSON.stringify(t.args).slice(0, 200)}</code> },
          { header: "Result", cell: (t) => <ToolResult result={t.result} /> },
          { header: "Error", cell: (t) => t.error },
        ]}
      />
    </section>
  );
}

/** Shown when the run made any model call (by the usage totals, as the cards count them). */
function ModelCalls(props: { a: RunAnalysis }) {
  const a = props.a;
  return (
    <section>
      <h2>Model calls</h2>
      {a.usage.calls === 0 ? <Empty>No model calls.</Empty> : (
        <DataTable
          rows={a.model_calls}
          columns={[
            { header: "Purpose", cell: (m) => m.purpose },
            { header: "Model", cell: (m) => <>{m.provider}/{m.model}</> },
            { header: "Tokens in", cell: (m) => m.input_tokens },
            { header: "Tokens out", cell: (m) => m.output_tokens },
            { header: "Cost", cell: (m) => money(m.cost_usd) },
            { header: "Time", cell: (m) => ms(m.latency_ms) },
            { header: "Outcome", cell: (m) => m.outcome },
          ]}
        />
      )}
    </section>
  );
}

export function RunLive(props: { run: RunRow; analysis: RunAnalysis; base: string }) {
  const { run, analysis: a, base } = props;
  return (
    <div id="run-live" data-run-id={run.run_id} data-status={run.status}>
      <Figures run={run} a={a} />
      {a.failure_reason && (
        <section class="alert-box">
          <b>Failed in {a.failed_stage ?? "an unknown stage"}:</b> {a.failure_reason}{" "}
          <span class="fix">Fix: {failureHint(a.failure_reason, run.run_id).fix}</span>
        </section>
      )}
      <Stages a={a} />
      <Subtasks a={a} />
      <Approvals a={a} base={base} />
      <ToolCalls a={a} />
      <ModelCalls a={a} />
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
}
