/**
 * The terminal view of a running run. On a terminal it redraws one block in
 * place (phase, subtask table with status and agent, recent tool calls,
 * approvals waiting, tokens and cost); anywhere else it prints one plain line
 * per event, so logs and CI output stay readable.
 */
import type { RunLogEvent } from "../coordinator/run_log.ts";
import {
  bold,
  clip,
  cyan,
  dim,
  green,
  red,
  renderTable,
  terminalSafe,
  terminalWidth,
  yellow,
} from "./output.ts";

interface PoolRow {
  task_id: string;
  title: string;
  status: string;
  assigned_agent_id: string | null;
  attempts?: number;
  error: string;
}

/** What the view knows about the run, built from its events. */
export interface ViewModel {
  phase: string;
  pools: Record<string, PoolRow[]>;
  tools: string[];
  waiting: Map<string, string>;
  usage: { input_tokens: number; output_tokens: number; cost_usd: number };
}

type Writer = (text: string) => void;

const STATUS_PAINT: Record<string, (t: string) => string> = {
  completed: green,
  failed: red,
  cancelled: yellow,
  in_progress: cyan,
};

/** One plain line for an event, or null for events not worth a line. */
export function plainLine(e: RunLogEvent): string | null {
  const p = e.payload as Record<string, unknown>;
  switch (e.event) {
    case "task_ingested":
      return `Task: ${clip(p.task, 200)}`;
    case "run_resumed":
      return `Resuming run from stage ${p.stage}`;
    case "task_complexity_classified":
      return `Complexity: ${p.complexity}`;
    case "task_plan_created":
      return `Plan (${p.phase}): ${p.subtask_count} subtask(s)`;
    case "agent_created_for_role":
      return `Agent created: ${p.agent_id} for ${p.role_tag} (tools: ${
        (p.tools_allowlist as string[]).join(", ") || "none"
      })`;
    case "agent_reused_for_role":
      return `Agent reused: ${p.agent_id} for ${p.role_tag}`;
    case "subtask_attempt_started":
      return `[${p.task_id}] attempt ${p.attempt}/${p.max_attempts} with ${p.agent_id}`;
    case "tool_call":
      return `  tool ${p.tool} ${p.ok ? "ok" : `failed: ${clip(p.error, 120)}`} (${p.agent_id})`;
    case "subtask_attempt_succeeded":
      return `[${p.task_id}] completed: ${clip(p.result, 160)}`;
    case "subtask_attempt_failed":
      return `[${p.task_id}] attempt ${p.attempt} failed: ${clip(p.error, 160)}`;
    case "approval_request":
      return `Approval waiting (${p.kind}): ${
        clip((p.request as Record<string, unknown>)?.summary, 200)
      } [id ${p.approval_id}]`;
    case "approval_resolved":
      return `Approval ${p.approved ? "granted" : "denied"} by ${p.operator} (${p.note})`;
    case "run_cancelled":
      return `Cancelling: ${p.reason}`;
    case "agent_degraded":
      return `Agent degraded: ${p.agent_id}`;
    default:
      return null;
  }
}

/** Folds an event into the view model. */
export function applyEvent(model: ViewModel, e: RunLogEvent): void {
  const p = e.payload as Record<string, unknown>;
  switch (e.event) {
    case "task_pool_update":
      model.phase = String(p.phase);
      model.pools[String(p.phase)] = p.tasks as PoolRow[];
      break;
    case "task_plan_created":
      model.phase = `planned ${p.phase}`;
      break;
    case "tool_call":
      model.tools.push(
        `${p.ok ? green("✓") : red("✗")} ${clip(p.tool, 40)} ${
          dim(clip(JSON.stringify(p.args), 70))
        } ${dim(String(p.task_id))}`,
      );
      model.tools.splice(0, Math.max(0, model.tools.length - 4));
      break;
    case "approval_request":
      model.waiting.set(
        String(p.approval_id),
        clip((p.request as Record<string, unknown>)?.summary, 100),
      );
      break;
    case "approval_resolved":
      model.waiting.delete(String(p.approval_id));
      break;
    case "usage_update":
      model.usage = p as ViewModel["usage"];
      break;
    case "synthesis_complete":
      model.phase = "done";
      break;
  }
}

/** The block a terminal shows. */
export function renderBlock(model: ViewModel): string {
  const rows = [...(model.pools.discovery ?? []), ...(model.pools.execution ?? [])];
  const lines = [
    `${bold("Phase:")} ${model.phase || "planning"}   ${bold("Tokens:")} ${
      model.usage.input_tokens + model.usage.output_tokens
    }   ${bold("Cost:")} $${model.usage.cost_usd.toFixed(4)}`,
  ];
  if (rows.length) {
    lines.push(
      renderTable([
        { header: "SUBTASK", value: (r) => r.task_id },
        {
          header: "STATUS",
          value: (r) => r.status,
        },
        { header: "AGENT", value: (r) => r.assigned_agent_id ?? "-" },
        {
          header: "TITLE",
          value: (r) => r.error ? `${r.title} (${r.error})` : r.title,
          flexible: true,
        },
      ], rows).split("\n").map((line, i) => i === 0 ? line : paintStatus(line, rows[i - 1].status))
        .join("\n"),
    );
  }
  if (model.tools.length) {
    lines.push(
      bold("Recent tool calls:"),
      ...model.tools.map((t) => `  ${t}`),
    );
  }
  for (const [id, summary] of model.waiting) {
    lines.push(yellow(`Approval waiting: ${summary} [${id}]`));
  }
  return lines.join("\n");
}

function paintStatus(line: string, status: string): string {
  return (STATUS_PAINT[status] ?? ((t: string) => t))(line);
}

/** Terminal rows `block` fills `columns` wide: a line longer than the width wraps. */
function screenRows(block: string, columns: number): number {
  return block.split("\n").reduce((rows, line) => {
    // deno-lint-ignore no-control-regex -- colour codes take no columns
    const width = [...line.replace(/\x1b\[[0-9;]*m/g, "")].length;
    return rows + Math.max(1, Math.ceil(width / Math.max(1, columns)));
  }, 0);
}

/** Shows a run's events on a terminal (redrawn) or as plain lines. */
export class LiveView {
  private readonly model: ViewModel = {
    phase: "",
    pools: {},
    tools: [],
    waiting: new Map(),
    usage: { input_tokens: 0, output_tokens: 0, cost_usd: 0 },
  };
  private drawnLines = 0;
  private paused = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly tty: boolean,
    private readonly write: Writer,
    private readonly columns: () => number = terminalWidth,
  ) {}

  onEvent(event: RunLogEvent): void {
    applyEvent(this.model, event);
    if (!this.tty) {
      const line = plainLine(event);
      if (line) this.write(terminalSafe(line) + "\n");
      return;
    }
    // Redraw at most every 80 ms: bursts of events cost one frame.
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, 80);
  }

  /** Stops redrawing (a prompt is on screen); the block is cleared first. */
  pause(): void {
    this.clear();
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    // Without a terminal the view prints lines only, never a block.
    if (this.tty) this.draw();
  }

  /** Draws the last frame and leaves it on screen. */
  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.tty) this.draw();
    this.drawnLines = 0;
  }

  private clear(): void {
    if (this.drawnLines > 0) this.write(`\x1b[${this.drawnLines}A\x1b[J`);
    this.drawnLines = 0;
  }

  private draw(): void {
    if (this.paused) return;
    const block = renderBlock(this.model);
    this.clear();
    this.write(block + "\n");
    this.drawnLines = screenRows(block, this.columns());
  }
}
