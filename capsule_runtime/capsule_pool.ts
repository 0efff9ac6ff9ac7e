/**
 * The capsules of one run that are running but not working: started ahead
 * of their subtask (`prestart`), or kept after a subtask for the next one
 * of the same agent (`keep`). A session `take`s one only when its launch
 * plan is the very one the capsule was spawned from: the same command line
 * (Deno flags, sandbox binds, workspace, roots), environment, working folder
 * and manifest, compared as one hash. So a process is never handed to another
 * agent, another manifest or other permissions; anything that does not match
 * is killed instead.
 *
 * A capsule that may start programs (`--allow-run`) is never kept: a program
 * one subtask leaves running lives until the capsule's process group is
 * killed, and must not live on into the next subtask. A bubblewrap capsule
 * is handed over only while every path it binds, masks or hides is still
 * the file or folder it was started with (mount_stamp.ts), and a process is
 * retired after `MAX_SUBTASKS_PER_PROCESS` subtasks (its CPU limit counts
 * for the whole process).
 *
 * Idle capsules are killed after a short idle time, and all of them when the
 * run is cancelled or fails (`close`). When it ends normally in a long-lived
 * process that has a shelf (capsule_shelf.ts), they wait there for a later
 * run instead, under the same key, and this pool takes from it too. Local
 * capsules only: a worker's capsule (workers/) is never pooled.
 */
import { createHash } from "node:crypto";
import type { LaunchPlan } from "./launcher.ts";
import type { Manifest } from "./manifest.ts";
import { CapsuleProcess } from "./supervisor.ts";
import { mountStamp } from "./mount_stamp.ts";
import type { CapsuleShelf } from "./capsule_shelf.ts";

/** How long a capsule may wait unused before it is killed. */
export const POOL_IDLE_MS = 15_000;

/** Subtasks one capsule process serves before it is retired. */
export const MAX_SUBTASKS_PER_PROCESS = 32;

/**
 * How a capsule handed to a session came to be running already: started
 * ahead, kept from this run's last subtask, or carried over from an earlier run.
 */
export type WarmKind = "prestarted" | "kept" | "carried";

/** What the pool reports (the coordinator logs it). */
export type PoolEvent =
  | { type: "prestarted"; agent_id: string; pid: number }
  | { type: "discarded"; agent_id: string; pid: number; reason: string };

export interface CapsulePoolOptions {
  /** Default POOL_IDLE_MS. */
  idleMs?: number;
  onEvent?: (event: PoolEvent) => void;
  /** The process's capsules between runs: taken from, and given the idle ones of a run that ended well. */
  shelf?: CapsuleShelf;
}

interface Idle {
  key: string;
  /** capsuleOwner(): what a run asks of the shelf before it plans a prestart. */
  owner: string;
  agentId: string;
  proc: CapsuleProcess;
  kind: WarmKind;
  /** It may start programs: it must not outlive its run (a prestarted one never ran any). */
  programs: boolean;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * JSON with every object's keys sorted, so equal manifests hash equally
 * (undefined properties left out, as JSON does). An array of plain values
 * (a manifest's embedding vector) is written in one go.
 */
function canonical(value: unknown): string {
  if (Array.isArray(value)) {
    return value.every((v) => v === null || typeof v !== "object")
      ? JSON.stringify(value)
      : `[${value.map(canonical).join(",")}]`;
  }
  if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(record[k])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/**
 * The pool key of a launch: SHA-256 over the plan's command line, environment
 * and working folder, and the manifest (all of it but its embedding vector).
 * Two launches share a capsule only when every one of these is equal.
 */
export function poolKey(plan: LaunchPlan, manifest: Manifest): string {
  return createHash("sha256").update(canonical({
    command: plan.command,
    args: plan.args,
    env: plan.env,
    cwd: plan.cwd,
    manifest: keyedManifest(manifest),
  })).digest("hex");
}

/**
 * The manifest as keys see it: all of it but the embedding vector, which only
 * routing reads (no capsule sees it) and which costs most of the hashing.
 */
function keyedManifest(manifest: Manifest): Omit<Manifest, "embedding_vector"> {
  const { embedding_vector: _routingOnly, ...rest } = manifest;
  return rest;
}

/**
 * Whom a capsule serves, known before its launch plan is made: the agent's
 * manifest (but its embedding vector) and the workspace (SHA-256). A run asks
 * the shelf by this before it plans a prestart; the plan's own key still
 * decides the handover.
 */
export function capsuleOwner(manifest: Manifest, workspace: string): string {
  return createHash("sha256").update(canonical({ manifest: keyedManifest(manifest), workspace }))
    .digest("hex");
}

/** Whether a capsule from this plan may start programs (terminal, python_exec). */
function startsPrograms(plan: LaunchPlan): boolean {
  return plan.args.some((a) => a === "--allow-run" || a.startsWith("--allow-run="));
}

/** The idle capsules of one run. */
export class CapsulePool {
  private readonly idle: Idle[] = [];
  /** Prestarts still being planned, per agent: a take waits for them. */
  private readonly pending = new Map<string, Set<Promise<unknown>>>();
  private closed: string | null = null;
  private readonly idleMs: number;
  private readonly onEvent: (event: PoolEvent) => void;
  private readonly shelf: CapsuleShelf | undefined;

  constructor(options: CapsulePoolOptions = {}) {
    this.idleMs = options.idleMs ?? POOL_IDLE_MS;
    this.onEvent = options.onEvent ?? (() => {});
    this.shelf = options.shelf;
  }

  /** Idle capsules now (tests, the bench). */
  get size(): number {
    return this.idle.length;
  }

  /**
   * Whether a capsule of the agent waits (in this run, or on the shelf from
   * an earlier run for this very manifest and workspace), or is being
   * prestarted: then a prestart is not even planned (planning one costs a
   * launch plan's scan of the roots).
   */
  hasWaiting(manifest: Manifest, workspace: string): boolean {
    const agentId = manifest.agent_id;
    return !!this.pending.get(agentId)?.size ||
      this.idle.some((i) => i.agentId === agentId && !i.proc.killed) ||
      !!this.shelf?.holds(capsuleOwner(manifest, workspace));
  }

  /** The pids of the idle capsules (tests). */
  pids(): number[] {
    return this.idle.map((i) => i.proc.pid);
  }

  /**
   * Makes `count` capsules wait for `agentId` from the plan `plan()` makes
   * (null: none after all), counting those already waiting from that plan.
   * Until they are spawned, a `take` for that agent waits. Never throws: a
   * prestart that fails only means the subtask spawns its own.
   */
  prestart(
    agentId: string,
    plan: () => Promise<{ plan: LaunchPlan; manifest: Manifest; workspace: string } | null>,
    count = 1,
  ): Promise<void> {
    const work = (async () => {
      if (this.closed) return;
      const made = await plan().catch(() => null);
      if (!made) return;
      const key = poolKey(made.plan, made.manifest);
      const owner = capsuleOwner(made.manifest, made.workspace);
      const waiting = this.idle.filter((i) => i.key === key && !i.proc.killed).length +
        (this.shelf?.count(key) ?? 0);
      for (let i = waiting; i < count && !this.closed; i++) {
        const proc = CapsuleProcess.spawn(made.plan);
        this.onEvent({ type: "prestarted", agent_id: agentId, pid: proc.pid });
        this.park({ key, owner, agentId }, proc, "prestarted", startsPrograms(made.plan));
      }
    })().catch(() => {});
    const set = this.pending.get(agentId) ?? new Set();
    this.pending.set(agentId, set);
    set.add(work);
    return work.finally(() => {
      set.delete(work);
      if (!set.size) this.pending.delete(agentId);
    });
  }

  /**
   * An idle capsule spawned from exactly this plan and manifest, or null.
   * Idle capsules of the same agent from another plan can serve nothing
   * now: they are killed.
   */
  async take(plan: LaunchPlan, manifest: Manifest): Promise<
    { proc: CapsuleProcess; kind: WarmKind } | null
  > {
    const agentId = manifest.agent_id;
    const waiting = this.pending.get(agentId);
    if (waiting?.size) await Promise.all(waiting);
    if (this.closed) return null;
    const key = poolKey(plan, manifest);
    const at = this.idle.findIndex((i) => i.key === key && !i.proc.killed);
    const found = at >= 0 ? this.idle.splice(at, 1)[0] : null;
    for (const other of this.idle.filter((i) => i.agentId === agentId && i.key !== key)) {
      this.discard(other, "its launch plan is not the one the agent now runs with");
    }
    if (found) clearTimeout(found.timer);
    // Else one an earlier run left, from this very plan and manifest.
    const proc = found?.proc ?? this.shelf?.take(key);
    if (!proc) return null;
    if (proc.mountStamp !== undefined && proc.mountStamp !== mountStamp(plan.args)) {
      const reason = "a folder or file it binds, masks or hides changed since it started";
      proc.kill(reason);
      this.onEvent({ type: "discarded", agent_id: agentId, pid: proc.pid, reason });
      return null;
    }
    return { proc, kind: found?.kind ?? "carried" };
  }

  /**
   * Takes back a capsule whose subtask ended with a final answer and no
   * failure, for the agent's next subtask with the same plan; false (and the
   * caller ends it) when the run is over, or when the capsule may have started
   * programs that outlive its subtask.
   */
  keep(plan: LaunchPlan, manifest: Manifest, workspace: string, proc: CapsuleProcess): boolean {
    if (this.closed || proc.killed || startsPrograms(plan)) return false;
    if (++proc.served >= MAX_SUBTASKS_PER_PROCESS) return false;
    const owner = capsuleOwner(manifest, workspace);
    this.park(
      { key: poolKey(plan, manifest), owner, agentId: manifest.agent_id },
      proc,
      "kept",
      false,
    );
    return true;
  }

  /**
   * Ends the pool: later prestarts and keeps are refused. Its idle capsules
   * are killed, or with `shelve` (a run that ended normally) put on the shelf
   * for a later run, when there is one.
   */
  close(reason: string, options: { shelve?: boolean } = {}): void {
    this.closed ??= reason;
    for (const entry of [...this.idle]) {
      if (options.shelve && this.shelf && this.shelve(entry)) continue;
      this.discard(entry, reason);
    }
  }

  /** Moves an idle capsule to the shelf; false when it may start programs or the shelf refuses it. */
  private shelve(entry: Idle): boolean {
    if (entry.programs || !this.shelf!.put(entry.key, entry.proc, entry.owner)) return false;
    this.idle.splice(this.idle.indexOf(entry), 1);
    clearTimeout(entry.timer);
    return true;
  }

  private park(
    who: Pick<Idle, "key" | "owner" | "agentId">,
    proc: CapsuleProcess,
    kind: WarmKind,
    programs: boolean,
  ): void {
    const { agentId } = who;
    if (this.closed) {
      proc.kill(this.closed);
      this.onEvent({ type: "discarded", agent_id: agentId, pid: proc.pid, reason: this.closed });
      return;
    }
    proc.quiet();
    proc.readAhead();
    const entry: Idle = {
      ...who,
      proc,
      kind,
      programs,
      timer: setTimeout(() => this.discard(entry, "idle too long"), this.idleMs),
    };
    this.idle.push(entry);
    // One that dies while it waits is simply gone.
    proc.status.then(() => {
      const at = this.idle.indexOf(entry);
      if (at >= 0) (this.idle.splice(at, 1), clearTimeout(entry.timer));
    }, () => {});
  }

  private discard(entry: Idle, reason: string): void {
    const at = this.idle.indexOf(entry);
    if (at >= 0) this.idle.splice(at, 1);
    clearTimeout(entry.timer);
    entry.proc.kill(reason);
    this.onEvent({ type: "discarded", agent_id: entry.agentId, pid: entry.proc.pid, reason });
  }
}
