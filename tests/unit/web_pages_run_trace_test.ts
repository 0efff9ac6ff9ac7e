/** The run page's waterfall: groups, order, bars on the run's time line, escaped details. */
import assert from "node:assert/strict";
import type { RunTrace, TraceSpan } from "../../coordinator/trace.ts";
import { traceGroups, TraceWaterfall } from "../../web/pages/run_trace.tsx";

function span(
  id: string,
  parent: string | null,
  kind: TraceSpan["kind"],
  start: number,
  end: number,
  attributes: TraceSpan["attributes"] = {},
): TraceSpan {
  return {
    trace_id: "t".repeat(32),
    span_id: id,
    parent_span_id: parent,
    name: `${kind} ${id}`,
    kind,
    start_ms: start,
    end_ms: end,
    status: "ok",
    status_message: "",
    attributes,
  };
}

const trace: RunTrace = {
  trace_id: "t".repeat(32),
  run_id: "r".repeat(32),
  spans: [
    span("root", null, "run", 0, 1000),
    span("plan", "root", "plan", 0, 100),
    span("s2", "root", "subtask", 500, 900, { "closed_claw.task_id": "second" }),
    span("s1", "root", "subtask", 100, 500, { "closed_claw.task_id": "first" }),
    span("a1", "s1", "attempt", 150, 500),
    span("c1", "a1", "chat", 150, 200),
    span("t1", "a1", "execute_tool", 250, 300, {
      "gen_ai.tool.call.arguments": "<script>x</script>",
    }),
    span("syn", "root", "synthesis", 900, 1000),
  ],
};

Deno.test("waterfall: the run's own spans first, then one group per subtask in start order, depth-first", () => {
  const groups = traceGroups(trace);
  assert.deepEqual(groups.map((g) => g.title), ["Run", "first", "second"]);
  assert.deepEqual(
    groups[0].rows.map((r) => [r.span.span_id, r.depth]),
    [["root", 0], ["plan", 1], ["syn", 1]],
  );
  assert.deepEqual(
    groups[1].rows.map((r) => [r.span.span_id, r.depth]),
    [["s1", 0], ["a1", 1], ["c1", 2], ["t1", 2]],
  );
});

Deno.test("waterfall: bars placed on the run's time line, a details panel per span, text escaped", () => {
  const html = TraceWaterfall({ trace, base: "/claw" })!.toString();
  assert.equal(html.match(/<details class="span-row"/g)?.length, trace.spans.length);
  // The tool call starts at 25% of the run and lasts 5%.
  assert.match(
    html,
    /<rect x="250\.0" y="1" width="50\.0" height="8" class="span-execute_tool span-status-ok"/,
  );
  assert.match(html, /href="\/claw\/api\/runs\/r{32}\/trace"/);
  assert.ok(!html.includes("<script>x</script>"));
  assert.match(html, /&lt;script&gt;x&lt;\/script&gt;/);
  assert.match(TraceWaterfall({ trace: null, base: "" })!.toString(), /No trace yet/);
});
