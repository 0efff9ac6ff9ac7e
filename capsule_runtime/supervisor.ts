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
import { mountStamp } from "./mount_stamp.ts";
import type { LaunchPlan } from "./launcher.ts";

export type StdoutItem = ParsedLine | { ok: false; error: string; preview: string; tooLong: true };

/** How a capsule ended, local or remote (a remote one that went silent ends with a signal). */
export type CapsuleExit = Deno.CommandStatus;

/**
 * What a capsule session talks to: a local process (`CapsuleProcess`) or a
 * capsule relayed from a worker machine (workers/remote_capsule.ts). Either
 * way the bytes it writes are split and validated here, the same way.
 */
export interface CapsuleChannel {
  readonly pid: number;
  /** Every byte the capsule has written to stdout so far (counted against its limits). */
  readonly bytesRead: number;
  readonly status: Promise<CapsuleExit>;
  readonly killed: string | null;
  stderrTail(): string;
  lines(maxLineBytes: number): AsyncGenerator<StdoutItem>;
  send(message: HostMessage): Promise<boolean>;
  kill(reason: string): void;
  finish(graceMs?: number): Promise<CapsuleExit>;
}

const STDERR_TAIL = 16 * 1024;

/** Keeps the last kilobytes of a capsule's stderr and passes on each whole line. */
export class StderrTail {
  private text = "";
  private pending = "";
  constructor(private readonly onLine?: (line: string) => void) {}

  add(chunk: string): void {
    this.text = (this.text + chunk).slice(-STDERR_TAIL);
    if (!this.onLine) return;
    this.pending += chunk;
    const lines = this.pending.split("\n");
    this.pending = lines.pop()!.slice(-STDERR_TAIL);
    for (const line of lines) if (line.trim()) this.onLine(line.slice(0, 2000));
  }

  get value(): string {
    return this.text;
  }
}

/**
 * Splits a capsule's stdout into parsed, validated protocol lines. A line
 * longer than `maxLineBytes` is dropped up to its newline and reported as an
 * error; `onBytes` counts every byte against the capsule's limits.
 */
export async function* protocolLines(
  chunks: AsyncIterable<Uint8Array>,
  maxLineBytes: number,
  onBytes: (n: number) => void,
): AsyncGenerator<StdoutItem> {
  const decoder = new TextDecoder();
  let parts: Uint8Array[] = [];
  let size = 0;
  let skipping = false;
  for await (const chunk of chunks) {
    onBytes(chunk.length);
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

export class CapsuleProcess implements CapsuleChannel {
  readonly pid: number;
  /** Every byte the capsule has written to stdout so far (counted against its limits). */
  bytesRead = 0;
  readonly status: Promise<Deno.CommandStatus>;
  private readonly child: Deno.ChildProcess;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly encoder = new TextEncoder();
  private stderr: StderrTail;
  private onStderrLine: ((line: string) => void) | undefined;
  private reader: AsyncGenerator<StdoutItem> | null = null;
  /** The next line, read while the capsule waited (`readAhead`); the next `lines` starts with it. */
  private ahead: Promise<IteratorResult<StdoutItem>> | null = null;
  private stdinOpen = true;
  killed: string | null = null;
  /** Subtasks this process has finished (a pool retires it after a number of them). */
  served = 0;
  /** What its bubblewrap mounts were made from (mount_stamp.ts); absent without bubblewrap. */
  readonly mountStamp: string | undefined;

  private constructor(
    child: Deno.ChildProcess,
    onStderrLine?: (line: string) => void,
    mountStamp?: string,
  ) {
    this.child = child;
    this.mountStamp = mountStamp;
    this.pid = child.pid;
    this.writer = child.stdin.getWriter();
    this.status = child.status;
    this.onStderrLine = onStderrLine;
    this.stderr = this.newStderrTail();
    this.drainStderr();
  }

  private newStderrTail(): StderrTail {
    return new StderrTail((line) => this.onStderrLine?.(line));
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
    // Taken while bwrap sets up its mounts (not before, so the capsule starts at once).
    const stamp = plan.sandbox === "bwrap" ? mountStamp(plan.args) : undefined;
    return new CapsuleProcess(child, onStderrLine, stamp);
  }

  /**
   * Whether the process (and its pipes) keeps this program running: a capsule
   * waiting between runs does not, so a script that ends without closing its
   * claw ends at once (the capsule sees its stdin close and exits).
   */
  keepAlive(on: boolean): void {
    if (on) this.child.ref();
    else this.child.unref();
  }

  private async drainStderr(): Promise<void> {
    try {
      for await (const chunk of this.child.stderr.pipeThrough(new TextDecoderStream())) {
        this.stderr.add(chunk);
      }
    } catch {
      // The process was killed mid-read.
    }
  }

  /** The last few kilobytes the capsule wrote to stderr. */
  stderrTail(): string {
    return this.stderr.value;
  }

  /** The capsule's raw stdout (a worker relays it; the host splits it with `lines`). */
  chunks(): AsyncIterable<Uint8Array> {
    return this.child.stdout;
  }

  /**
   * Yields each stdout line, parsed and validated (see `protocolLines`). A
   * later call goes on where the last one stopped (a capsule kept for the
   * next subtask is read by its next session); stopping early never closes
   * stdout.
   */
  async *lines(maxLineBytes: number): AsyncGenerator<StdoutItem> {
    this.reader ??= protocolLines(this.chunks(), maxLineBytes, (n) => this.bytesRead += n);
    for (;;) {
      const ahead = this.ahead;
      this.ahead = null;
      const next = await (ahead ?? this.reader.next());
      if (next.done) return;
      yield next.value;
    }
  }

  /**
   * Starts reading the next line while the capsule waits for its next
   * session (the guest says `ready` right after its final answer), so the
   * session that takes it finds that line read already. Only for a capsule a
   * session read from before (its line reader exists).
   */
  readAhead(): void {
    if (!this.reader || this.ahead) return;
    this.ahead = this.reader.next();
    this.ahead.catch(() => {}); // a read that fails is seen by the session that takes it
  }

  /** While it waits in a pool: its stderr goes to no session (the tail still keeps it). */
  quiet(): void {
    this.onStderrLine = undefined;
  }

  /**
   * Hands a waiting capsule to a session: its stderr lines go there, and
   * the stderr tail and stdout byte count start again for that session.
   */
  handOver(onStderrLine: (line: string) => void): void {
    this.onStderrLine = onStderrLine;
    this.stderr = this.newStderrTail();
    this.bytesRead = 0;
  }

  /** Sends one message; false when the capsule's stdin is already closed. */
  send(message: HostMessage): Promise<boolean> {
    return this.sendBytes(this.encoder.encode(encodeHostMessage(message)));
  }

  /** Writes bytes the host already encoded (a worker relaying a coordinator's messages). */
  async sendBytes(bytes: Uint8Array): Promise<boolean> {
    if (!this.stdinOpen) return false;
    try {
      await this.writer.write(bytes);
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
