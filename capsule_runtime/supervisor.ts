/**
 * One running capsule process: stdout split into lines under a size cap,
 * stderr drained at the same time (so a chatty capsule can never block on a
 * full pipe), and a kill that takes the whole process group down at once.
 */
import {
  encodeHostMessage,
  type HostMessage,
  type ParsedLine,
  parseGuestLine,
} from "./protocol.ts";
import type { LaunchPlan } from "./launcher.ts";

export type StdoutItem = ParsedLine | { ok: false; error: string; preview: string; tooLong: true };

const STDERR_TAIL = 16 * 1024;

export class CapsuleProcess {
  readonly pid: number;
  /** Every byte the capsule has written to stdout so far (counted against its limits). */
  bytesRead = 0;
  readonly status: Promise<Deno.CommandStatus>;
  private readonly child: Deno.ChildProcess;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly encoder = new TextEncoder();
  private stderrText = "";
  private stdinOpen = true;
  killed: string | null = null;

  private constructor(child: Deno.ChildProcess, onStderrLine?: (line: string) => void) {
    this.child = child;
    this.pid = child.pid;
    this.writer = child.stdin.getWriter();
    this.status = child.status;
    this.drainStderr(onStderrLine);
  }

  static spawn(plan: LaunchPlan, onStderrLine?: (line: string) => void): CapsuleProcess {
    const child = new Deno.Command(plan.command, {
      args: plan.args,
      env: plan.env,
      clearEnv: true,
      cwd: plan.cwd,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      // Its own process group, so a kill reaches every process it started.
      detached: true,
    }).spawn();
    return new CapsuleProcess(child, onStderrLine);
  }

  private async drainStderr(onLine?: (line: string) => void): Promise<void> {
    let pending = "";
    try {
      for await (const chunk of this.child.stderr.pipeThrough(new TextDecoderStream())) {
        this.stderrText = (this.stderrText + chunk).slice(-STDERR_TAIL);
        if (!onLine) continue;
        pending += chunk;
        const lines = pending.split("\n");
        pending = lines.pop()!.slice(-STDERR_TAIL);
        for (const line of lines) if (line.trim()) onLine(line.slice(0, 2000));
      }
    } catch {
      // The process was killed mid-read.
    }
  }

  /** The last few kilobytes the capsule wrote to stderr. */
  stderrTail(): string {
    return this.stderrText;
  }

  /**
   * Yields each stdout line, parsed and validated. A line longer than
   * `maxLineBytes` is dropped up to its newline and reported as an error.
   */
  async *lines(maxLineBytes: number): AsyncGenerator<StdoutItem> {
    const decoder = new TextDecoder();
    let parts: Uint8Array[] = [];
    let size = 0;
    let skipping = false;
    for await (const chunk of this.child.stdout) {
      this.bytesRead += chunk.length;
      let start = 0;
      while (start < chunk.length) {
        const newline = chunk.indexOf(10, start);
        const end = newline < 0 ? chunk.length : newline;
        if (!skipping) {
          size += end - start;
          if (size > maxLineBytes) {
            skipping = true;
            parts = [];
            yield {
              ok: false,
              tooLong: true,
              error: `line longer than the ${maxLineBytes}-byte cap (CLOSED_CLAW_MAX_LINE_BYTES)`,
              preview: "",
            };
          } else {
            parts.push(chunk.subarray(start, end));
          }
        }
        if (newline < 0) break;
        if (!skipping) {
          const line = decoder.decode(concat(parts, size));
          if (line.trim()) yield parseGuestLine(line);
        }
        parts = [];
        size = 0;
        skipping = false;
        start = newline + 1;
      }
    }
    // A last line the capsule did not end with a newline still counts.
    if (!skipping && size > 0) {
      const line = decoder.decode(concat(parts, size));
      if (line.trim()) yield parseGuestLine(line);
    }
  }

  /** Sends one message; false when the capsule's stdin is already closed. */
  async send(message: HostMessage): Promise<boolean> {
    if (!this.stdinOpen) return false;
    try {
      await this.writer.write(this.encoder.encode(encodeHostMessage(message)));
      return true;
    } catch {
      this.stdinOpen = false;
      return false;
    }
  }

  /** Kills the process group at once (SIGKILL), remembering why. */
  kill(reason: string): void {
    if (this.killed) return;
    this.killed = reason;
    this.stdinOpen = false;
    this.writer.close().catch(() => {});
    for (const target of [-this.pid, this.pid]) {
      try {
        Deno.kill(target, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }

  /** Closes stdin and waits for the exit; kills it if it lingers. */
  async finish(graceMs = 2000): Promise<Deno.CommandStatus> {
    this.stdinOpen = false;
    await this.writer.close().catch(() => {});
    const timer = setTimeout(() => this.kill("did not exit after its final answer"), graceMs);
    try {
      return await this.status;
    } finally {
      clearTimeout(timer);
    }
  }
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) (out.set(p, offset), offset += p.length);
  return out;
}
