/**
 * Follows one run-log file by reading only the bytes appended since the last
 * read. Each whole line gets its 1-based line number, which the SSE streams
 * use as the event id (so a client resumes with Last-Event-ID).
 */
import type { RunLogEvent } from "../../coordinator/run_log.ts";

export interface NumberedEvent {
  /** 1-based line number in the run's JSONL file. */
  id: number;
  event: RunLogEvent;
}

export class LogFollower {
  private offset = 0;
  private lineNo = 0;
  private partial = new Uint8Array(0);
  private reading: Promise<NumberedEvent[]> | null = null;

  constructor(readonly path: string) {}

  /** Lines read so far. */
  get lines(): number {
    return this.lineNo;
  }

  /**
   * Reads what was appended since the last call. Reads never overlap: a call
   * during a read waits for it, then reads again (the other caller got those events).
   */
  async readNew(): Promise<NumberedEvent[]> {
    while (this.reading) await this.reading.catch(() => []);
    this.reading = this.readOnce();
    try {
      return await this.reading;
    } finally {
      this.reading = null;
    }
  }

  private async readOnce(): Promise<NumberedEvent[]> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.path, { read: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw error;
    }
    const chunks: Uint8Array[] = [this.partial];
    try {
      const size = (await file.stat()).size;
      if (size < this.offset) {
        // Truncated or replaced: start over.
        this.offset = 0;
        this.lineNo = 0;
        chunks.length = 0;
      }
      await file.seek(this.offset, Deno.SeekMode.Start);
      const buffer = new Uint8Array(64 * 1024);
      while (true) {
        const n = await file.read(buffer);
        if (n === null) break;
        chunks.push(buffer.slice(0, n));
        this.offset += n;
      }
    } finally {
      file.close();
    }
    const all = concat(chunks);
    const lastNewline = all.lastIndexOf(10);
    this.partial = all.slice(lastNewline + 1);
    if (lastNewline < 0) return [];
    const text = new TextDecoder().decode(all.subarray(0, lastNewline));
    const out: NumberedEvent[] = [];
    for (const line of text.split("\n")) {
      this.lineNo++;
      const event = parseLine(line);
      if (event) out.push({ id: this.lineNo, event });
    }
    return out;
  }
}

function parseLine(line: string): RunLogEvent | null {
  if (!line.trim()) return null;
  try {
    const value = JSON.parse(line);
    return value && typeof value === "object" && typeof value.event === "string" ? value : null;
  } catch {
    return null;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), at += p.length);
  return out;
}
