/**
 * The task pool of one phase: runs ready subtasks in parallel up to a limit,
 * resolves dependencies as results arrive, fails dependants of failed
 * subtasks, and fails dependency cycles up front instead of idling on them.
 * What a subtask does is the caller's `runItem`; the pool only schedules.
 */
import type { SubtaskStatus } from "../store/subtasks_repo.ts";

/** The fields the pool reads and writes. */
export interface PoolItem {
  task_id: string;
  depends_on: string[];
  status: SubtaskStatus;
  error: string;
}

export interface PoolOptions<T extends PoolItem> {
  maxParallel: number;
  /** Runs one item (already marked `in_progress`); must leave it completed, failed or cancelled. */
  runItem(item: T): Promise<void>;
  /** Called after every status change (checkpoint, run log). */
  onChange(): void;
  /** When aborted, nothing new starts and open items become cancelled. */
  signal: AbortSignal;
  /** Error given to open items when the signal stops the pool. */
  cancelError?: () => string;
}

export interface PhaseOutcome {
  status: "ok" | "error";
  /** "" when ok; `cancelled_by_user` or `<phase>_phase_failed` otherwise. */
  error: string;
}

const OPEN: ReadonlySet<SubtaskStatus> = new Set(["waiting", "pending", "in_progress"]);

/** Task ids that sit on a dependency cycle (including self-dependencies). */
export function findCycles(items: readonly PoolItem[]): Set<string> {
  const byId = new Map(items.map((i) => [i.task_id, i]));
  const state = new Map<string, "visiting" | "done">();
  const onCycle = new Set<string>();
  const stack: string[] = [];
  const visit = (id: string) => {
    state.set(id, "visiting");
    stack.push(id);
    for (const dep of byId.get(id)?.depends_on ?? []) {
      if (!byId.has(dep)) continue;
      if (state.get(dep) === "visiting") {
        for (const member of stack.slice(stack.indexOf(dep))) onCycle.add(member);
      } else if (!state.has(dep)) visit(dep);
    }
    stack.pop();
    state.set(id, "done");
  };
  for (const item of items) if (!state.has(item.task_id)) visit(item.task_id);
  return onCycle;
}

/** Re-derives waiting/pending from the dependencies; fails items whose dependency failed. */
function resolveDependencies(items: PoolItem[]): boolean {
  const byId = new Map(items.map((i) => [i.task_id, i]));
  let changed = false;
  for (const item of items) {
    if (item.status !== "waiting" && item.status !== "pending") continue;
    const deps = item.depends_on.map((d) => byId.get(d)).filter((d) => d !== undefined);
    let next: SubtaskStatus;
    if (deps.some((d) => d.status === "failed")) {
      next = "failed";
      item.error = "dependency_failed";
    } else if (deps.some((d) => d.status === "cancelled")) {
      next = "cancelled";
      item.error = "dependency_cancelled";
    } else next = deps.every((d) => d.status === "completed") ? "pending" : "waiting";
    if (next !== item.status) (item.status = next, changed = true);
  }
  return changed;
}

/** The phase status reported for a finished pool. */
export function phaseOutcome(items: readonly PoolItem[], phase: string): PhaseOutcome {
  if (items.some((i) => i.status === "cancelled" && i.error === "cancelled_by_user")) {
    return { status: "error", error: "cancelled_by_user" };
  }
  if (items.some((i) => i.status === "failed" || i.status === "cancelled")) {
    return { status: "error", error: `${phase}_phase_failed` };
  }
  return { status: "ok", error: "" };
}

/**
 * Runs the pool to the end. Resolves when no item is open; never throws for
 * a failing item (`runItem` errors fail that item only).
 */
export async function runPool<T extends PoolItem>(items: T[], options: PoolOptions<T>) {
  for (const id of findCycles(items)) {
    const item = items.find((i) => i.task_id === id)!;
    if (OPEN.has(item.status)) (item.status = "failed", item.error = "unresolved_dependencies");
  }
  const running = new Map<string, Promise<void>>();
  const cancelOpen = () => {
    for (const item of items) {
      if (item.status === "waiting" || item.status === "pending") {
        item.status = "cancelled";
        item.error = options.cancelError?.() ?? "cancelled_by_user";
      }
    }
  };
  // One listener for the whole pool, not one per wake-up.
  const aborted = abortPromise(options.signal);
  options.onChange();
  while (true) {
    if (options.signal.aborted) cancelOpen();
    if (resolveDependencies(items)) options.onChange();
    const ready = items.filter((i) => i.status === "pending");
    for (const item of ready) {
      if (running.size >= Math.max(1, options.maxParallel) || options.signal.aborted) break;
      item.status = "in_progress";
      const task = options.runItem(item).catch((error) => {
        item.status = "failed";
        item.error = `coordinator_error: ${error instanceof Error ? error.message : error}`;
      }).finally(() => {
        if (OPEN.has(item.status)) (item.status = "failed", item.error ||= "subtask_incomplete");
        running.delete(item.task_id);
        options.onChange();
      });
      running.set(item.task_id, task);
      options.onChange();
    }
    if (running.size === 0) {
      const open = items.filter((i) => OPEN.has(i.status));
      if (open.length === 0) return;
      // Nothing runs and nothing is ready: the rest wait on something that never finishes.
      for (const item of open) (item.status = "failed", item.error = "unresolved_dependencies");
      options.onChange();
      return;
    }
    // Once aborted, only a running item finishing is news.
    await Promise.race(options.signal.aborted ? running.values() : [...running.values(), aborted]);
  }
}

function abortPromise(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
}
