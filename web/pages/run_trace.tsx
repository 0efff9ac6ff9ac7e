/** @jsxImportSource hono/jsx */
/**
 * A run's trace as a waterfall: one row per span, grouped by subtask (the
 * run's own work first), each bar placed on the run's time line, each row
 * opening onto the span's details. Bars are SVG rects (the page's CSP allows
 * no inline styles); rows are `<details>`, so it needs no script.
 */
import type { RunTrace, TraceSpan } from "../../coordinator/trace.ts";
import { ms } from "./format.ts";
import { Empty } from "./ui.tsx";

/** The width of the time line in SVG units. */
const WIDTH = 1000;

interface Row {
  span: TraceSpan;
  depth: number;
}

interface Group {
  title: string;
  /** The element id of the group, `trace-group-<task id>` for a subtask's, so the graph can link to it. */
  id: string;
  rows: Row[];
}

/** The element id of a subtask's group in the waterfall (the subtask graph links to it). */
export function traceGroupId(taskId: string): string {
  return `trace-group-${taskId.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

/** The spans in groups: the run's own work (plan, synthesis, …), then one group per subtask. */
export function traceGroups(trace: RunTrace): Group[] {
  const children = new Map<string, TraceSpan[]>();
  for (const s of trace.spans) {
    if (!s.parent_span_id) continue;
    const list = children.get(s.parent_span_id) ?? [];
    list.push(s);
    children.set(s.parent_span_id, list);
  }
  const walk = (span: TraceSpan, depth: number, out: Row[]) => {
    out.push({ span, depth });
    const kids = (children.get(span.span_id) ?? []).toSorted((a, b) => a.start_ms - b.start_ms);
    for (const kid of kids) walk(kid, depth + 1, out);
  };
  const root = trace.spans.find((s) => !s.parent_span_id);
  if (!root) return [];
  const top = (children.get(root.span_id) ?? []).toSorted((a, b) => a.start_ms - b.start_ms);
  const own: Row[] = [{ span: root, depth: 0 }];
  for (const s of top.filter((s) => s.kind !== "subtask")) walk(s, 1, own);
  const groups: Group[] = [{ title: "Run", id: "trace-group-run", rows: own }];
  for (const s of top.filter((s) => s.kind === "subtask")) {
    const rows: Row[] = [];
    walk(s, 0, rows);
    const title = String(s.attributes["closed_claw.task_id"] ?? s.name);
    groups.push({ title, id: traceGroupId(title), rows });
  }
  return groups;
}

function Bar(props: { span: TraceSpan; start: number; total: number }) {
  const { span, start, total } = props;
  const x = ((span.start_ms - start) / total) * WIDTH;
  const width = Math.max(2, ((span.end_ms - span.start_ms) / total) * WIDTH);
  return (
    <svg class="span-bar" viewBox={`0 0 ${WIDTH} 10`} preserveAspectRatio="none" aria-hidden="true">
      <rect
        x={Math.min(x, WIDTH - width).toFixed(1)}
        y="1"
        width={width.toFixed(1)}
        height="8"
        class={`span-${span.kind} span-status-${span.status}`}
      />
    </svg>
  );
}

function Details(props: { span: TraceSpan; start: number }) {
  const { span, start } = props;
  return (
    <div class="span-details">
      <table class="kv">
        <tr>
          <th>Span</th>
          <td class="mono">{span.span_id}</td>
        </tr>
        <tr>
          <th>Parent</th>
          <td class="mono">{span.parent_span_id ?? "–"}</td>
        </tr>
        <tr>
          <th>Starts</th>
          <td>+{ms(span.start_ms - start)}</td>
        </tr>
        <tr>
          <th>Duration</th>
          <td>{ms(span.end_ms - span.start_ms)}</td>
        </tr>
        <tr>
          <th>Status</th>
          <td>{span.status}{span.status_message ? `: ${span.status_message}` : ""}</td>
        </tr>
        {Object.entries(span.attributes).map(([key, value]) => (
          <tr>
            <th class="mono">{key}</th>
            <td>
              <code>{Array.isArray(value) ? value.join(", ") : String(value)}</code>
            </td>
          </tr>
        ))}
      </table>
    </div>
  );
}

/** The waterfall section of a run's page. */
export function TraceWaterfall(props: { trace: RunTrace | null; base: string }) {
  const { trace, base } = props;
  const root = trace?.spans.find((s) => !s.parent_span_id);
  return (
    <section>
      <h2>
        Trace{" "}
        {trace && (
          <a class="small" href={`${base}/api/runs/${trace.run_id}/trace`} target="_blank">
            as JSON
          </a>
        )}
      </h2>
      {!trace || !root ? <Empty>No trace yet.</Empty> : (
        <div class="waterfall">
          {traceGroups(trace).map((group) => (
            <div class="span-group" id={group.id}>
              <h3 class="mono">{group.title}</h3>
              {group.rows.map(({ span, depth }) => (
                <details class="span-row" data-kind={span.kind}>
                  <summary>
                    <span class={`span-name depth-${Math.min(depth, 6)}`} title={span.name}>
                      {span.name}
                    </span>
                    <Bar
                      span={span}
                      start={root.start_ms}
                      total={Math.max(1, root.end_ms - root.start_ms)}
                    />
                    <span class="span-ms">{ms(span.end_ms - span.start_ms)}</span>
                  </summary>
                  <Details span={span} start={root.start_ms} />
                </details>
              ))}
            </div>
          ))}
        </div>
      )}
    </section>
  );
}
