/** @jsxImportSource hono/jsx */
/** Small inline-SVG charts drawn on the server: no chart library, no CDN. */

export interface Bar {
  label: string;
  value: number;
  /** Optional second value drawn on top (e.g. failures). */
  alert?: number;
}

/** A bar chart; labels go into <title> so hovering shows them. */
export function BarChart(props: { bars: Bar[]; unit?: string; height?: number; label: string }) {
  const height = props.height ?? 120;
  const width = Math.max(props.bars.length * 14, 280);
  const max = Math.max(1e-9, ...props.bars.map((b) => b.value));
  // Bars stay narrow when there are few of them.
  const bw = Math.min(width / Math.max(1, props.bars.length), 28);
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${width} ${height + 16}`}
      role="img"
      aria-label={props.label}
      preserveAspectRatio="none"
    >
      <line x1="0" y1={height} x2={width} y2={height} class="axis" />
      {props.bars.map((b, i) => {
        const h = (b.value / max) * (height - 4);
        const a = ((b.alert ?? 0) / max) * (height - 4);
        return (
          <g>
            <title>{`${b.label}: ${formatValue(b.value, props.unit)}`}</title>
            <rect
              x={i * bw + 1}
              y={height - h}
              width={Math.max(1, bw - 2)}
              height={h}
              class="bar"
            />
            {a > 0 && (
              <rect
                x={i * bw + 1}
                y={height - a}
                width={Math.max(1, bw - 2)}
                height={a}
                class="bar alert"
              />
            )}
          </g>
        );
      })}
      <text x="0" y={height + 13} class="tick">{props.bars[0]?.label ?? ""}</text>
      <text x={width} y={height + 13} class="tick" text-anchor="end">
        {props.bars.at(-1)?.label ?? ""}
      </text>
    </svg>
  );
}

function formatValue(v: number, unit?: string): string {
  return unit === "$" ? `$${v.toFixed(4)}` : `${Math.round(v * 100) / 100}${unit ?? ""}`;
}

export interface GraphNode {
  id: string;
  label: string;
  status: string;
  depends_on: string[];
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
  const W = 170, H = 44, GX = 50, GY = 14;
  const pos = new Map<string, { x: number; y: number }>();
  columns.forEach((col, ci) =>
    col.forEach((n, ri) => pos.set(n.id, { x: ci * (W + GX) + 4, y: ri * (H + GY) + 4 }))
  );
  const width = Math.max(1, columns.length) * (W + GX);
  const height = Math.max(1, ...columns.map((c) => c.length)) * (H + GY) + 8;
  return (
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
        return (
          <g class={`node status-${n.status}`}>
            <title>{`${n.id}: ${n.label} (${n.status})`}</title>
            <rect x={p.x} y={p.y} width={W} height={H} rx="6" />
            <text x={p.x + 8} y={p.y + 18}>{n.id}</text>
            <text x={p.x + 8} y={p.y + 34} class="small">{n.label.slice(0, 24)}</text>
          </g>
        );
      })}
    </svg>
  );
}
