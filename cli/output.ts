/** Terminal output: readable tables, JSON, and colour only when it helps. */
import { hereCommand } from "./invocation.ts";

const encoder = new TextEncoder();

/** True when stdout is a terminal and NO_COLOR is not set. */
export function useColor(): boolean {
  return Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
}

function paint(code: number, text: string): string {
  return useColor() ? `\x1b[${code}m${text}\x1b[0m` : text;
}
export const bold = (t: string) => paint(1, t);
export const dim = (t: string) => paint(2, t);
export const red = (t: string) => paint(31, t);
export const green = (t: string) => paint(32, t);
export const yellow = (t: string) => paint(33, t);
export const cyan = (t: string) => paint(36, t);

export function printLine(text = ""): void {
  Deno.stdout.writeSync(encoder.encode(text + "\n"));
}

export function printJson(value: unknown): void {
  printLine(JSON.stringify(value, null, 2));
}

/** An error line; a command it names is the one that works here (`hereCommand`). */
export function printError(text: string): void {
  Deno.stderr.writeSync(encoder.encode(`${red("error:")} ${hereCommand(text)}\n`));
}

/** A warning line; a command it names is the one that works here (`hereCommand`). */
export function printWarning(text: string): void {
  Deno.stderr.writeSync(encoder.encode(`${yellow("warning:")} ${hereCommand(text)}\n`));
}

/** Columns of the terminal on stdout (120 when it is not a terminal). */
export function terminalWidth(): number {
  try {
    return Deno.stdout.isTerminal() ? Deno.consoleSize().columns : 120;
  } catch {
    return 120;
  }
}

/**
 * Text with control characters removed (newlines and tabs kept), so text from
 * a model, a file or a tool cannot move the cursor, retitle or drive the terminal.
 */
export function terminalSafe(text: string): string {
  // deno-lint-ignore no-control-regex -- matching control characters is the point
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, "");
}

/** One-line text: whitespace collapsed, control characters dropped, cut to `max` characters with an ellipsis. */
export function clip(value: unknown, max: number): string {
  const text = value === null || value === undefined
    ? ""
    : terminalSafe(String(value).replace(/\s+/g, " "));
  return text.length > max ? text.slice(0, Math.max(1, max - 1)) + "…" : text;
}

export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
  /** Columns that may shrink when the table is wider than the terminal. */
  flexible?: boolean;
}

/** Renders rows as an aligned table that fits the terminal width. */
export function renderTable<T>(columns: Column<T>[], rows: T[]): string {
  const cells = rows.map((row) => columns.map((c) => clip(c.value(row), 400)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i].length)));
  const gap = 2;
  let excess = widths.reduce((a, b) => a + b, 0) + gap * (columns.length - 1) - terminalWidth();
  // Shrink the widest flexible column first, down to 12 characters.
  while (excess > 0) {
    let widest = -1;
    columns.forEach((c, i) => {
      if (c.flexible && widths[i] > 12 && (widest < 0 || widths[i] > widths[widest])) widest = i;
    });
    if (widest < 0) break;
    const cut = Math.min(excess, widths[widest] - 12);
    widths[widest] -= cut;
    excess -= cut;
  }
  const line = (values: string[]) =>
    values.map((v, i) => clip(v, widths[i]).padEnd(widths[i])).join(" ".repeat(gap)).trimEnd();
  return [
    bold(line(columns.map((c) => c.header))),
    ...cells.map(line),
  ].join("\n");
}

/** "3m ago"-style age of an ISO time. */
export function age(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "-";
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)}h ago`;
  return `${Math.round(seconds / 86400)}d ago`;
}

/** Milliseconds as "850 ms" or "12.3 s". */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "-";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
