/** @jsxImportSource hono/jsx */
/** Small inline-SVG charts drawn on the server: no chart library, no CDN. */

export interface Bar {
  label: string;
  value: number;
  /** Optional second value drawn on top (e.g. failures). */
  alert?: number;
}

/**
 * A bar chart. The bars are an SVG stretched to the figure's width (rects
 * scale cleanly), while every text (the top value and the axis labels) is
 * HTML beside it, so labels never stretch with the drawing. Hovering a bar
 * shows its label and value. `minSlots` keeps a few bars from filling the width.
 */
export function BarChart(
  props: { bars: Bar[]; unit?: string; label: string; minSlots?: number },
) {
  const slots = Math.max(props.bars.length, props.minSlots ?? 1);
  const max = Math.max(1e-9, ...props.bars.map((b) => b.value));
  const scale = (v: number) => (v / max) * 100;
  const middle = props.bars.length > 2 ? props.bars[Math.floor(props.bars.length / 2)] : null;
  return (
    <figure class="chart">
      <div class="chart-plot">
        <span class="chart-max" title="Highest bar">{formatValue(max, props.unit)}</span>
        <svg
          class="chart-bars"
          viewBox={`0 0 ${slots * 10} 100`}
          preserveAspectRatio="none"
          role="img"
          aria-label={props.label}
        >
          {props.bars.map((b, i) => (
            <g>
              <title>{`${b.label}: ${formatValue(b.value, props.unit)}`}</title>
              <rect
                x={i * 10 + 1}
                y={100 - scale(b.value)}
                width="8"
                height={scale(b.value)}
                class="bar"
              />
              {(b.alert ?? 0) > 0 && (
                <rect
                  x={i * 10 + 1}
                  y={100 - scale(b.alert!)}
                  width="8"
                  height={scale(b.alert!)}
                  class="bar alert"
                />
              )}
            </g>
          ))}
        </svg>
      </div>
      {props.bars.length < slots
        ? (
          // The bars fill only the left part: name the range once, on the left.
          <figcaption class="chart-axis">
            <span>
              {props.bars[0]?.label ?? ""}
              {props.bars.length > 1 ? ` → ${props.bars.at(-1)!.label}` : ""}
            </span>
          </figcaption>
        )
        : (
          <figcaption class="chart-axis">
            <span>{props.bars[0]?.label ?? ""}</span>
            {middle && <span>{middle.label}</span>}
            {props.bars.length > 1 && <span>{props.bars.at(-1)!.label}</span>}
          </figcaption>
        )}
    </figure>
  );
}

function formatValue(v: number, unit?: string): string {
  return unit === "$" ? `$${v.toFixed(4)}` : `${Math.round(v * 100) / 100}${unit ?? ""}`;
}

/** Cuts text to `max` characters with an ellipsis, so it stays inside its box (the title has it whole). */
function fit(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export interface GraphNode {
  id: string;
  label: string;
  status: string;
  depends_on: string[];
  /** The agent that took the subtask, shown under the title. */
  agent?: string | null;
  /** The worker machine(s) its capsule ran on (scale-out); absent: this machine. */
  worker?: string;
  /** How long the subtask ran, already formatted ("1.2 s"). */
  duration?: string;
  /** Where a click on the node leads (the subtask's group in the trace waterfall). */
  href?: string;
}

/** A layered drawing of subtasks: each column is one dependency depth, arrows show dependencies. */
export function SubtaskGraph(props: { nodes: GraphNode[] }) {
  const byId = new Map(props.nodes.map((n) => [n.id, n]));
  const depth = new Map<string, number>();
  const depthOf = (id: string, seen: Set<string>): number => {
    if (depth.has(id)) return depth.get(id)!;
    if (seen.has(id)) return 0; // a cycle: draw it flat rather than loop
    seen.add(id);
    const node = byId.get(id);
    const d = node && node.depends_on.length
      ? 1 + Math.max(...node.depends_on.filter((x) => byId.has(x)).map((x) => depthOf(x, seen)), -1)
      : 0;
    depth.set(id, d);
    return d;
  };
  props.nodes.forEach((n) => depthOf(n.id, new Set()));
  const columns: GraphNode[][] = [];
  for (const n of props.nodes) (columns[depth.get(n.id)!] ??= []).push(n);
  // A node grows a line when some subtask ran on a worker machine.
  const onWorkers = props.nodes.some((n) => n.worker);
  const W = 170, H = onWorkers ? 92 : 76, GX = 50, GY = 14;
  const pos = new Map<string, { x: number; y: number }>();
  columns.forEach((col, ci) =>
    col.forEach((n, ri) => pos.set(n.id, { x: ci * (W + GX) + 4, y: ri * (H + GY) + 4 }))
  );
  const width = Math.max(1, columns.length) * (W + GX);
  const height = Math.max(1, ...columns.map((c) => c.length)) * (H + GY) + 8;
  return (
    <div class="graph-wrap">
      <svg
        class="graph"
        viewBox={`0 0 ${width} ${height}`}
        width={width}
        height={height}
        role="img"
        aria-label="Subtask graph"
      >
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="6"
            markerHeight="6"
            orient="auto"
          >
            <path d="M0,0 L10,5 L0,10 z" class="arrowhead" />
          </marker>
        </defs>
        {props.nodes.flatMap((n) =>
          n.depends_on.filter((d) => pos.has(d)).map((d) => {
            const a = pos.get(d)!, b = pos.get(n.id)!;
            return (
              <line
                x1={a.x + W}
                y1={a.y + H / 2}
                x2={b.x}
                y2={b.y + H / 2}
                class="edge"
                marker-end="url(#arrow)"
              />
            );
          })
        )}
        {props.nodes.map((n) => {
          const p = pos.get(n.id)!;
          const meta = [n.status, n.duration ?? ""].filter(Boolean).join(" · ");
          const node = (
            <g class={`node status-${n.status}`} data-task-id={n.id}>
              <title>
                {`${n.id}: ${n.label} (${n.status}${n.agent ? `, ${n.agent}` : ""}${
                  n.duration ? `, ${n.duration}` : ""
                }${n.worker ? `, on worker ${n.worker}` : ""})`}
              </title>
              <rect x={p.x} y={p.y} width={W} height={H} rx="6" />
              <text x={p.x + 8} y={p.y + 18}>{fit(n.id, 22)}</text>
              <text x={p.x + 8} y={p.y + 34} class="small">{fit(n.label, 27)}</text>
              <text x={p.x + 8} y={p.y + 50} class="small node-meta">{fit(meta, 27)}</text>
              <text x={p.x + 8} y={p.y + 66} class="small node-agent mono">
                {fit(n.agent ?? "no agent yet", 24)}
              </text>
              {n.worker && (
                <text x={p.x + 8} y={p.y + 82} class="small node-worker mono">
                  {fit(`@${n.worker}`, 24)}
                </text>
              )}
            </g>
          );
          return n.href ? <a key={n.id} href={n.href} class="node-link">{node}</a> : node;
        })}
      </svg>
    </div>
  );
}
