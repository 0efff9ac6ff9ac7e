/**
 * The run log: `<run logs dir>/<run_id>.jsonl`, one `{ts, event, payload}`
 * line per event, secrets redacted. One writer per run appends whole lines,
 * and listeners (terminal view, dashboard SSE) get each event as it happens.
 */
import { join } from "node:path";
import { ClosedClawError } from "../core/errors.ts";
import { assertRunId } from "../core/ids.ts";
import { Redactor } from "../core/redact.ts";

/** One line of a run log. */
export interface RunLogEvent {
  /** ISO time it happened. */
  ts: string;
  /** Its name, e.g. `task_ingested`, `routing_decision`, `run_finished`. */
  event: string;
  /** Its data (secrets redacted). */
  payload: Record<string, unknown>;
}

export type RunLogListener = (event: RunLogEvent, runId: string) => void;

export function runLogPath(runLogsDir: string, runId: string): string {
  return join(runLogsDir, `${assertRunId(runId)}.jsonl`);
}

export class RunLog {
  private readonly file: Deno.FsFile;
  private readonly encoder = new TextEncoder();
  private readonly listeners = new Set<RunLogListener>();
  /** True while the file does not end in a newline. */
  private torn: boolean;
  readonly path: string;

  constructor(
    runLogsDir: string,
    readonly runId: string,
    private readonly redactor = new Redactor(),
  ) {
    this.path = runLogPath(runLogsDir, runId);
    try {
      Deno.mkdirSync(runLogsDir, { recursive: true });
      this.file = Deno.openSync(this.path, { read: true, append: true, create: true });
    } catch (error) {
      throw writeFailed(this.path, runId, error);
    }
    this.torn = endsTorn(this.file);
  }

  /**
   * Appends one event as one whole line. A line left torn (a full disk, a
   * crash mid-write) is ended first, so the event starts on a line of its own
   * and readers skip only the torn one. Throws `run_log_write_failed` when the
   * line cannot be written.
   */
  emit(event: string, payload: Record<string, unknown> = {}): RunLogEvent {
    const entry: RunLogEvent = {
      ts: new Date().toISOString(),
      event,
      payload: this.redactor.value(payload),
    };
    const line = JSON.stringify(entry) + "\n";
    const bytes = this.encoder.encode(this.torn ? "\n" + line : line);
    try {
      // Marked torn until the whole line is down: a failure halfway leaves it open.
      this.torn = true;
      for (let done = 0; done < bytes.length;) done += this.file.writeSync(bytes.subarray(done));
      this.torn = false;
    } catch (error) {
      throw writeFailed(this.path, this.runId, error);
    }
    for (const listener of this.listeners) {
      try {
        listener(entry, this.runId);
      } catch {
        // A broken listener must not stop the run.
      }
    }
    return entry;
  }

  onEvent(listener: RunLogListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.file.close();
  }
}

/** True when the file is not empty and its last byte is not a newline. */
function endsTorn(file: Deno.FsFile): boolean {
  const size = file.statSync().size;
  if (size === 0) return false;
  const last = new Uint8Array(1);
  file.seekSync(size - 1, Deno.SeekMode.Start);
  const read = file.readSync(last);
  return read === 1 && last[0] !== 10;
}

function writeFailed(path: string, runId: string, error: unknown): ClosedClawError {
  return new ClosedClawError(
    "run_log_write_failed",
    `Cannot write the run log ${path}: ${(error as Error)?.message ?? String(error)}.`,
    {
      hint:
        `Free disk space or make the folder writable, then continue with \`closed-claw resume ${runId}\`.`,
      cause: error,
    },
  );
}

/** Parses JSONL text into events, skipping lines that are not whole JSON objects. */
export function parseRunLog(text: string): RunLogEvent[] {
  const events: RunLogEvent[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const value = JSON.parse(line);
      if (value && typeof value === "object" && typeof value.event === "string") events.push(value);
    } catch {
      // A line still being written, or a corrupt one: skip it.
    }
  }
  return events;
}

/**
 * The last `n` lines of a file, reading backwards in chunks so a large log
 * is never loaded whole. Null when the file does not exist.
 */
export async function tailLines(path: string, n: number): Promise<string[] | null> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  try {
    const size = (await file.stat()).size;
    const chunk = 64 * 1024;
    // Collect raw bytes and decode once, so a multi-byte character split
    // across two chunks is not garbled.
    const parts: Uint8Array[] = [];
    let position = size;
    let newlines = 0;
    while (position > 0 && newlines <= n) {
      const start = Math.max(0, position - chunk);
      const buffer = new Uint8Array(position - start);
      await file.seek(start, Deno.SeekMode.Start);
      let read = 0;
      while (read < buffer.length) {
        const got = await file.read(buffer.subarray(read));
        if (got === null) break;
        read += got;
      }
      parts.unshift(buffer.subarray(0, read));
      for (let i = 0; i < read; i++) if (buffer[i] === 10) newlines++;
      position = start;
    }
    const all = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
    let offset = 0;
    for (const p of parts) (all.set(p, offset), offset += p.length);
    const text = new TextDecoder().decode(all);
    const lines = text.split("\n").filter((l) => l.trim() !== "");
    return lines.slice(-n);
  } finally {
    file.close();
  }
}
