/**
 * Meters how much the write roots grew during one capsule run: the host walks
 * them before the first program (the baseline) and while each program runs.
 * Each file, folder and link counts at least one 4 KiB block, so a flood of
 * empty files is metered as well as one big file. A walk stops as soon as the
 * budget is passed, so it never costs more than the budget allows to create.
 */
import { join } from "node:path";
import { isInside } from "../guest/policy/paths.ts";

const BLOCK = 4096;
/** A baseline walk stops here (a huge workspace is metered from this approximation). */
const MAX_BASELINE_ENTRIES = 200_000;

/** Bytes an entry takes: its size or allocation, in whole blocks, at least one. */
function entryBytes(info: Deno.FileInfo): number {
  const used = Math.max(info.size, (info.blocks ?? 0) * 512);
  return Math.max(BLOCK, Math.ceil(used / BLOCK) * BLOCK);
}

/** Growth of a set of folders over a run, against a budget. */
export class WriteMeter {
  #baseline: number | null = null;

  /**
   * @param roots the write roots (real paths)
   * @param skip folders inside them that programs cannot write (hidden or read-only)
   * @param budget bytes the roots may grow by
   */
  constructor(
    readonly roots: readonly string[],
    readonly skip: readonly string[],
    readonly budget: number,
  ) {}

  /** Total bytes under the roots, stopping once past `stopAt`. */
  async usage(stopAt = Infinity, maxEntries = Infinity): Promise<number> {
    let total = 0, entries = 0;
    const stack = this.roots.filter((r) => !this.roots.some((o) => o !== r && isInside(r, o)));
    while (stack.length) {
      const dir = stack.pop()!;
      try {
        for await (const entry of Deno.readDir(dir)) {
          const path = join(dir, entry.name);
          if (this.skip.some((s) => isInside(path, s))) continue;
          let info: Deno.FileInfo;
          try {
            info = await Deno.lstat(path);
          } catch {
            continue; // removed meanwhile
          }
          total += entryBytes(info);
          if (info.isDirectory) stack.push(path);
          if (total > stopAt || ++entries >= maxEntries) return total;
        }
      } catch {
        // unreadable or gone: nothing to count
      }
    }
    return total;
  }

  /** Takes the baseline once per run (before the first program). */
  async start(): Promise<void> {
    this.#baseline ??= await this.usage(Infinity, MAX_BASELINE_ENTRIES);
  }

  /** Whether the roots grew past the budget since the baseline. */
  async over(): Promise<boolean> {
    await this.start();
    const limit = this.#baseline! + this.budget;
    return await this.usage(limit) > limit;
  }
}

/** First walk of a watch, and the pause after each walk before the next. */
const WATCH_FIRST_MS = 200;
const WATCH_EVERY_MS = 750;

/**
 * Meters the roots while something writes to them (a program, the MCP
 * servers of a capsule): a walk soon after the start, then one after each
 * pause (never two at once); `onOver` is called once, when they are past the
 * budget. Returns the function that stops watching.
 */
export function watchWrites(meter: WriteMeter, onOver: () => void): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const walkAfter = (ms: number) => {
    timer = setTimeout(async () => {
      const over = await meter.over().catch(() => false);
      if (stopped) return;
      if (!over) return walkAfter(WATCH_EVERY_MS);
      stopped = true;
      onOver();
    }, ms);
  };
  walkAfter(WATCH_FIRST_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
