/**
 * Capsules that outlive the run that started them, in a long-lived process
 * (a claw of the library, the dashboard): when a run ends normally, its
 * pool (capsule_pool.ts) puts its idle capsules here instead of killing them,
 * and a later run's pool takes one whose key (the SHA-256 of the launch plan
 * and the whole manifest, `poolKey`) is the very one its subtask needs. So the
 * rule is the pool's, stretched over time: a process is handed only to the
 * same agent with the same manifest, flags, sandbox, workspace, environment
 * and working folder; only capsules that never ran a subtask, or whose last
 * subtask ended with a final answer and no failure, and never one that may
 * start programs, get here. A cancelled or failed run puts nothing here.
 *
 * Each capsule waits at most `idleMs`; at most `max` wait at once (the oldest
 * goes first); `close` (the claw closing) kills them all.
 */
import type { CapsuleProcess } from "./supervisor.ts";

/** How long a capsule may wait between runs before it is killed. */
export const SHELF_IDLE_MS = 15_000;

/** Most capsules waiting between runs. */
export const SHELF_MAX = 8;

interface Shelved {
  key: string;
  /** Whom it serves (capsuleOwner: manifest and workspace), asked before a prestart is planned. */
  owner: string;
  proc: CapsuleProcess;
  timer: ReturnType<typeof setTimeout>;
}

export interface CapsuleShelfOptions {
  idleMs?: number;
  max?: number;
}

/** The idle capsules of a process, between its runs. */
export class CapsuleShelf {
  private readonly waiting: Shelved[] = [];
  private closed = false;
  private readonly idleMs: number;
  private readonly max: number;

  constructor(options: CapsuleShelfOptions = {}) {
    this.idleMs = options.idleMs ?? SHELF_IDLE_MS;
    this.max = Math.max(1, options.max ?? SHELF_MAX);
  }

  /** Capsules waiting now (tests). */
  get size(): number {
    return this.waiting.length;
  }

  /** How many live capsules wait under this key. */
  count(key: string): number {
    return this.waiting.filter((s) => s.key === key && !s.proc.killed).length;
  }

  /** Whether a live capsule waits for this owner (capsuleOwner), under any plan. */
  holds(owner: string): boolean {
    return this.waiting.some((s) => s.owner === owner && !s.proc.killed);
  }

  /** Keeps a capsule for a later run; false (the caller kills it) once closed. */
  put(key: string, proc: CapsuleProcess, owner: string): boolean {
    if (this.closed || proc.killed) return false;
    const entry: Shelved = {
      key,
      owner,
      proc,
      timer: setTimeout(() => this.discard(entry, "idle too long between runs"), this.idleMs),
    };
    // Waiting is not work: neither the timer nor the process keeps a finished program alive.
    Deno.unrefTimer(entry.timer);
    proc.keepAlive(false);
    this.waiting.push(entry);
    while (this.waiting.length > this.max) this.discard(this.waiting[0], "too many idle capsules");
    proc.status.then(() => this.drop(entry), () => {});
    return true;
  }

  /** A live capsule under exactly this key, taken off the shelf; null when none. */
  take(key: string): CapsuleProcess | null {
    const at = this.waiting.findIndex((s) => s.key === key && !s.proc.killed);
    if (at < 0) return null;
    const [entry] = this.waiting.splice(at, 1);
    clearTimeout(entry.timer);
    entry.proc.keepAlive(true);
    return entry.proc;
  }

  /** Kills every waiting capsule; later puts are refused. */
  close(reason = "closing"): void {
    this.closed = true;
    for (const entry of [...this.waiting]) this.discard(entry, reason);
  }

  private drop(entry: Shelved): void {
    const at = this.waiting.indexOf(entry);
    if (at >= 0) this.waiting.splice(at, 1);
    clearTimeout(entry.timer);
  }

  private discard(entry: Shelved, reason: string): void {
    this.drop(entry);
    entry.proc.kill(reason);
  }
}
