/** `runs`, `audit` and `runlog <run_id>`. */
import { ClosedClawError } from "../core/errors.ts";
import { parseRunLog, runLogPath, tailLines } from "../coordinator/run_log.ts";
import { refreshInterruptedRuns } from "../coordinator/cancel.ts";
import { RUN_STATUSES, type RunStatus } from "../store/mod.ts";
import { UsageError } from "../core/errors.ts";
import { type Command, type CommandContext, intOption, JSON_OPTION } from "./command.ts";
import { age, clip, dim, duration, printJson, printLine, renderTable } from "./output.ts";
import { resolveRunId } from "./resolve_id.ts";
import { hereCommand } from "./invocation.ts";

function statusFilter(ctx: CommandContext): RunStatus | undefined {
  const status = ctx.options.status as string | undefined;
  if (status === undefined) return undefined;
  if (!(RUN_STATUSES as readonly string[]).includes(status)) {
    throw new UsageError(`--status must be one of ${RUN_STATUSES.join(", ")}, not "${status}".`);
  }
  return status as RunStatus;
}

export const runsCommand: Command = {
  name: "runs",
  summary: "List recent runs, newest first (interrupted runs are marked as such).",
  options: {
    limit: { type: "string", value: "n", description: "How many to show (default 20)." },
    status: {
      type: "string",
      value: "status",
      description: `Only runs with this status (${RUN_STATUSES.join(", ")}).`,
    },
    ...JSON_OPTION,
  },
  run(ctx) {
    const limit = intOption(ctx, "limit", 20);
    const status = statusFilter(ctx);
    const store = ctx.store();
    refreshInterruptedRuns(store);
    const rows = store.runs.list({ limit, status });
    if (ctx.options.json) {
      printJson(rows);
      return Promise.resolve(0);
    }
    if (rows.length === 0) {
      printLine('No runs yet. Start one with: deno task run "your task"');
      return Promise.resolve(0);
    }
    printLine(renderTable([
      { header: "RUN", value: (r) => r.run_id },
      { header: "STATUS", value: (r) => r.status },
      { header: "STARTED", value: (r) => age(r.created_at) },
      { header: "TIME", value: (r) => duration(r.latency_ms) },
      { header: "COST", value: (r) => (r.cost_usd ? `$${r.cost_usd.toFixed(4)}` : "-") },
      { header: "TASK", value: (r) => r.task, flexible: true },
    ], rows));
    return Promise.resolve(0);
  },
};

export const auditCommand: Command = {
  name: "audit",
  summary: "List audit events (tool calls, approvals, run summaries), newest first.",
  options: {
    limit: { type: "string", value: "n", description: "How many to show (default 20)." },
    "run-id": {
      type: "string",
      value: "run_id",
      description: "Only events of this run (a unique prefix, or `last`).",
    },
    ...JSON_OPTION,
  },
  run(ctx) {
    const limit = intOption(ctx, "limit", 20);
    const typed = ctx.options["run-id"] as string | undefined;
    const store = ctx.store();
    const runId = typed === undefined ? undefined : resolveRunId(store, typed);
    const rows = store.audit.list({ limit, runId });
    if (ctx.options.json) {
      printJson(rows);
      return Promise.resolve(0);
    }
    if (rows.length === 0) {
      printLine(runId ? `No audit events for run ${runId} yet.` : "No audit events yet.");
      return Promise.resolve(0);
    }
    printLine(renderTable([
      { header: "ID", value: (e) => e.id },
      { header: "WHEN", value: (e) => age(e.created_at) },
      { header: "EVENT", value: (e) => e.event_type },
      { header: "RUN", value: (e) => e.run_id ?? "-" },
      { header: "AGENT", value: (e) => e.agent_id ?? "-" },
      { header: "PAYLOAD", value: (e) => JSON.stringify(e.payload), flexible: true },
    ], rows));
    return Promise.resolve(0);
  },
};

export const runlogCommand: Command = {
  name: "runlog",
  summary: "Show the event log of a run.",
  args: "<run_id>",
  positionals: { min: 1, max: 1 },
  details: "<run_id> may be a unique prefix of the id, or `last` for the newest run.",
  options: {
    tail: { type: "string", value: "n", description: "Show the last n events (default 100)." },
    raw: { type: "boolean", description: "Print the raw JSONL lines." },
    ...JSON_OPTION,
  },
  async run(ctx) {
    const runId = resolveRunId(ctx.store(), ctx.positionals[0]);
    const tail = intOption(ctx, "tail", 100);
    const path = runLogPath(ctx.settings().runLogsDir, runId);
    const lines = await tailLines(path, tail);
    if (lines === null) {
      throw new ClosedClawError("runlog_not_found", `Run log not found: ${path}.`, {
        hint: hereCommand("List runs with `closed-claw runs`."),
      });
    }
    if (ctx.options.raw) {
      for (const line of lines) printLine(line);
      return 0;
    }
    const events = parseRunLog(lines.join("\n"));
    if (ctx.options.json) {
      printJson(events);
      return 0;
    }
    for (const e of events) {
      const time = e.ts.slice(11, 19);
      printLine(`${dim(time)}  ${e.event.padEnd(26)} ${clip(summarize(e.payload), 160)}`);
    }
    return 0;
  },
};

/** A short `key=value` summary of an event payload for the terminal. */
export function summarize(payload: Record<string, unknown>): string {
  return Object.entries(payload)
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .slice(0, 6)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v, tidyNumber)}`)
    .join(" ");
}

/**
 * A number without float noise: 0.00016409999999999998 → 0.000164,
 * 1.2000000000000002 → 1.2 (3 significant digits under 1, 6 above). Costs stay
 * readable; whole numbers and exact values are untouched.
 */
export function tidyNumber(_key: string, value: unknown): unknown {
  if (typeof value !== "number" || !Number.isFinite(value) || Number.isInteger(value)) {
    return value;
  }
  const digits = Math.abs(value) < 1 ? 3 : 6;
  return Number(value.toPrecision(digits));
}
