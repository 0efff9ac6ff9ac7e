/**
 * The dashboard's live feed. Run-log lines reach subscribers as they are
 * written: runs started by this server wake their channel straight from the
 * RunLog listener; runs started by another process (the CLI) are seen through
 * a Deno.watchFs watch on the runs folder, and only the appended bytes are read.
 * Changes to registry.db (another process deciding an approval, finishing a
 * run) are seen through a watch on its folder. Nothing polls.
 */
import { basename, dirname } from "node:path";
import { ClosedClawError, errorMessage } from "../../core/errors.ts";
import { isRunId } from "../../core/ids.ts";
import { runLogPath } from "../../coordinator/run_log.ts";
import { LogFollower, type NumberedEvent } from "./log_follower.ts";

type RunSubscriber = (event: NumberedEvent) => void;

class RunChannel {
  readonly events: NumberedEvent[] = [];
  readonly subscribers = new Set<RunSubscriber>();
  private readonly follower: LogFollower;

  constructor(path: string) {
    this.follower = new LogFollower(path);
  }

  /** Reads appended lines and hands each to every subscriber. */
  async pull(): Promise<void> {
    const fresh = await this.follower.readNew();
    for (const item of fresh) {
      this.events.push(item);
      for (const subscriber of this.subscribers) {
        try {
          subscriber(item);
        } catch {
          // A closed client must not stop the others.
        }
      }
    }
  }
}

export interface LiveHubOptions {
  runLogsDir: string;
  dbPath: string;
  /** Coalesces bursts of file-system events into one change notice. */
  debounceMs?: number;
}

export class LiveHub {
  private readonly channels = new Map<string, RunChannel>();
  private readonly changeListeners = new Set<() => void>();
  private readonly watchers: Deno.FsWatcher[] = [];
  private changeTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly closing = new AbortController();

  constructor(private readonly options: LiveHubOptions) {}

  /** Aborted by `close()`: open streams end on it, or a server shutdown would wait for them forever. */
  get closedSignal(): AbortSignal {
    return this.closing.signal;
  }

  /**
   * Starts watching the runs folder and the database folder (both must exist).
   * If a watch cannot be set up, nothing is left open and the error says why.
   */
  start(): void {
    try {
      this.startWatches();
    } catch (error) {
      this.close();
      throw new ClosedClawError(
        "live_watch_failed",
        `Cannot watch the data folder for live updates: ${errorMessage(error).replace(/\.$/, "")}.`,
        {
          hint: "On Linux, raise fs.inotify.max_user_instances and max_user_watches (sysctl), " +
            "or close other programs that watch files.",
          cause: error,
        },
      );
    }
  }

  private startWatches(): void {
    this.watch(this.options.runLogsDir, (paths) => {
      for (const path of paths) {
        if (!path.endsWith(".jsonl")) continue;
        const runId = basename(path, ".jsonl");
        const channel = this.channels.get(runId);
        if (channel) channel.pull().catch(() => {});
      }
      this.changed();
    });
    const dbName = basename(this.options.dbPath);
    this.watch(dirname(this.options.dbPath), (paths) => {
      if (paths.some((p) => basename(p).startsWith(dbName))) this.changed();
    });
  }

  private watch(dir: string, onPaths: (paths: string[]) => void): void {
    const watcher = Deno.watchFs(dir, { recursive: false });
    this.watchers.push(watcher);
    (async () => {
      try {
        for await (const event of watcher) {
          if (event.kind === "access") continue;
          onPaths(event.paths);
        }
      } catch {
        // Closed.
      }
    })();
  }

  /** Tells global listeners something changed, at most once per debounce window. */
  changed(): void {
    if (this.closing.signal.aborted || this.changeTimer !== undefined) return;
    this.changeTimer = setTimeout(() => {
      this.changeTimer = undefined;
      for (const listener of this.changeListeners) {
        try {
          listener();
        } catch {
          // Ignore a failing listener.
        }
      }
    }, this.options.debounceMs ?? 50);
  }

  /** Called from a RunLog listener of a run in this process: deliver its new lines now. */
  wake(runId: string): void {
    const channel = this.channels.get(runId);
    if (channel) channel.pull().catch(() => {});
    this.changed();
  }

  /**
   * Subscribes to a run's events. Resolves once every line after `afterId`
   * has been handed to `onEvent`; later lines follow as they are written.
   */
  async subscribeRun(
    runId: string,
    afterId: number,
    onEvent: RunSubscriber,
  ): Promise<() => void> {
    if (!isRunId(runId)) throw new Error("invalid run id");
    let channel: RunChannel;
    do {
      channel = this.channels.get(runId) ?? this.openChannel(runId);
      await channel.pull();
      // The last subscriber may have left during the read and dropped this channel: use a live one.
    } while (this.channels.get(runId) !== channel);
    // Nothing can arrive between the replay and the add: both are synchronous.
    for (const item of channel.events) if (item.id > afterId) onEvent(item);
    channel.subscribers.add(onEvent);
    const owned = channel;
    return () => {
      owned.subscribers.delete(onEvent);
      if (owned.subscribers.size === 0 && this.channels.get(runId) === owned) {
        this.channels.delete(runId);
      }
    };
  }

  private openChannel(runId: string): RunChannel {
    const channel = new RunChannel(runLogPath(this.options.runLogsDir, runId));
    this.channels.set(runId, channel);
    return channel;
  }

  /** Catches a run's channel up with its file (used before deciding a run has ended). */
  async flush(runId: string): Promise<void> {
    await this.channels.get(runId)?.pull();
  }

  /** Listens for any change (a run log grew, the database was written). */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  close(): void {
    this.closing.abort();
    clearTimeout(this.changeTimer);
    for (const watcher of this.watchers) {
      try {
        watcher.close();
      } catch {
        // Already closed.
      }
    }
    this.changeListeners.clear();
    for (const channel of this.channels.values()) channel.subscribers.clear();
    this.channels.clear();
  }
}
