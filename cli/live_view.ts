/**
 * The terminal view of a running run. On a terminal it redraws one block in
 * place (phase, subtask table with status, a spinner and the elapsed time of
 * each running subtask, its agent, recent tool calls, approvals waiting with
 * their countdown, failures in one line with their fix, tokens and cost);
 * anywhere else it prints one plain line per event, so logs and CI output
 * stay readable.
 */
import type { RunLogEvent } from "../coordinator/run_log.ts";
import { explainFailure } from "../coordinator/failure_hint.ts";
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

/** An approval waiting for an answer. */
interface Waiting {
  summary: string;
  /** When it times out (ms since the epoch), if known. */
  expires: number | null;
}

/** The attempt a subtask is on: its agent and when it started (ms since the epoch). */
interface Attempt {
  agent_id: string;
  started: number;
  /** The worker machine its capsule runs on (absent: this machine). */
  worker?: string;
}

/** What the view knows about the run, built from its events. */
export interface ViewModel {
  phase: string;
  pools: Record<string, PoolRow[]>;
  tools: string[];
  waiting: Map<string, Waiting>;
  /** Subtask id → its current attempt (from `subtask_attempt_started`). */
  attempts: Map<string, Attempt>;
  usage: { input_tokens: number; output_tokens: number; cost_usd: number };
}

/** A fresh, empty view model. */
export function emptyModel(): ViewModel {
  return {
    phase: "",
    pools: {},
    tools: [],
    waiting: new Map(),
    attempts: new Map(),
    usage: { input_tokens: 0, output_tokens: 0, cost_usd: 0 },
  };
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** "7s", "2m05s", "1h02m". */
export function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
}

/** "9:58 left" until a deadline, "0:00 left" after it. */
export function countdown(expires: number, now: number): string {
  const s = Math.max(0, Math.ceil((expires - now) / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")} left`;
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
    case "capsule_started":
      if (p.worker) return `[${p.task_id}] capsule on worker ${p.worker} (${p.sandbox})`;
      return p.warm ? `[${p.task_id}] capsule already running (${p.warm})` : null;
    case "tool_call":
      return `  tool ${p.tool} ${p.ok ? "ok" : `failed: ${clip(p.error, 120)}`} (${p.agent_id})`;
    case "subtask_attempt_succeeded":
      return `[${p.task_id}] completed: ${clip(p.result, 160)}`;
    case "subtask_attempt_failed":
      return `[${p.task_id}] attempt ${p.attempt} failed: ${
        clip(explainFailure(String(p.error ?? "")), 240)
      }`;
    case "approval_request": {
      const request = (p.request ?? {}) as Record<string, unknown>;
      const details = Array.isArray(request.details) ? request.details : [];
      return `Approval waiting (${p.kind}): ${clip(request.summary, 200)} [id ${p.approval_id}]${
        typeof p.expires_at === "string" ? ` (times out at ${clock(p.expires_at)})` : ""
      }${details.map((line) => `\n  ${clip(line, 200)}`).join("")}`;
    }
    case "approval_resolved":
      return resolvedLine(p);
    case "run_cancelled":
      return `Cancelling: ${p.reason}`;
    case "agent_degraded":
      return `Agent degraded: ${p.agent_id}`;
    default:
      return null;
  }
}

/** "21:40:12" of an ISO time (local time, as the user's clock shows). */
function clock(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toTimeString().slice(0, 8);
}

/** How an approval ended: a person's answer, a standing rule, or a timeout (not a person's deny). */
function resolvedLine(p: Record<string, unknown>): string {
  const note = String(p.note ?? "");
  if (note.startsWith("timed_out")) return `Approval timed out: nobody answered in time (${note})`;
  if (note.startsWith("always_rule:")) {
    return `Approval granted by the standing rule ${note.slice("always_rule:".length)}`;
  }
  return `Approval ${p.approved ? "granted" : "denied"} by ${p.operator} (${note})`;
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
    case "subtask_attempt_started": {
      const started = Date.parse(e.ts);
      model.attempts.set(String(p.task_id), {
        agent_id: String(p.agent_id ?? ""),
        started: Number.isNaN(started) ? Date.now() : started,
      });
      break;
    }
    case "capsule_started": {
      const attempt = model.attempts.get(String(p.task_id));
      if (attempt && p.worker) attempt.worker = String(p.worker);
      break;
    }
    case "approval_request": {
      const expires = typeof p.expires_at === "string" ? Date.parse(p.expires_at) : NaN;
      model.waiting.set(String(p.approval_id), {
        summary: clip((p.request as Record<string, unknown>)?.summary, 100),
        expires: Number.isNaN(expires) ? null : expires,
      });
      break;
    }
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

/** The STATUS cell: a spinner and the elapsed time for a running subtask. */
function statusCell(model: ViewModel, row: PoolRow, now: number): string {
  const attempt = model.attempts.get(row.task_id);
  if (row.status !== "in_progress" || !attempt) return row.status;
  const frame = SPINNER[Math.floor(now / 100) % SPINNER.length];
  return `${frame} running ${elapsed(now - attempt.started)}`;
}

/** The block a terminal shows at time `now` (ms since the epoch). */
export function renderBlock(model: ViewModel, now: number = Date.now()): string {
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
        { header: "STATUS", value: (r) => statusCell(model, r, now) },
        {
          header: "AGENT",
          value: (r) => {
            const attempt = model.attempts.get(r.task_id);
            const agent = r.assigned_agent_id ?? attempt?.agent_id ?? "-";
            return attempt?.worker ? `${agent} @${attempt.worker}` : agent;
          },
        },
        {
          header: "TITLE",
          value: (r) => r.error && r.status !== "failed" ? `${r.title} (${r.error})` : r.title,
          flexible: true,
        },
      ], rows).split("\n").map((line, i) => i === 0 ? line : paintStatus(line, rows[i - 1].status))
        .join("\n"),
    );
  }
  for (const row of rows) {
    if (row.status === "failed" && row.error) {
      lines.push(red(`✗ ${row.task_id}: ${explainFailure(row.error)}`));
    }
  }
  if (model.tools.length) {
    lines.push(
      bold("Recent tool calls:"),
      ...model.tools.map((t) => `  ${t}`),
    );
  }
  for (const [id, w] of model.waiting) {
    const left = w.expires === null ? "" : ` (${countdown(w.expires, now)})`;
    lines.push(yellow(`Approval waiting: ${w.summary} [${id}]${left}`));
  }
  return lines.join("\n");
}

/** Whether anything on screen changes with time alone (a spinner, a countdown). */
function ticking(model: ViewModel): boolean {
  if (model.waiting.size) return true;
  return Object.values(model.pools).some((rows) =>
    rows.some((r) => r.status === "in_progress" && model.attempts.has(r.task_id))
  );
}

function paintStatus(line: string, status: string): string {
  return (STATUS_PAINT[status] ?? ((t: string) => t))(line);
}

/**
 * Terminal rows `block` fills `columns` wide: a line longer than the width
 * wraps. A terminal that reports no width (0, as a pseudo-terminal without a
 * size does) is taken to wrap nothing, so a redraw never moves up past the block.
 */
export function screenRows(block: string, columns: number): number {
  if (columns <= 0) return block.split("\n").length;
  return block.split("\n").reduce((rows, line) => {
    // deno-lint-ignore no-control-regex -- colour codes take no columns
    const width = [...line.replace(/\x1b\[[0-9;]*m/g, "")].length;
    return rows + Math.max(1, Math.ceil(width / Math.max(1, columns)));
  }, 0);
}

/** Shows a run's events on a terminal (redrawn) or as plain lines. */
export class LiveView {
  private readonly model: ViewModel = emptyModel();
  private drawnLines = 0;
  private paused = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Redraws while a spinner or a countdown is on screen. */
  private ticker: ReturnType<typeof setInterval> | undefined;

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

  /**
   * Stops redrawing while a prompt is on screen: the last frame stays where
   * it is (the question is printed below it), and the next frame is drawn
   * below the answer.
   */
  pause(): void {
    this.paused = true;
    this.drawnLines = 0;
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
    this.stopTicker();
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
    if (ticking(this.model)) this.startTicker();
    else this.stopTicker();
  }

  private startTicker(): void {
    if (this.ticker !== undefined) return;
    this.ticker = setInterval(() => this.draw(), 250);
    // A spinner never keeps the process alive.
    Deno.unrefTimer(this.ticker);
  }

  private stopTicker(): void {
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.ticker = undefined;
  }
}
