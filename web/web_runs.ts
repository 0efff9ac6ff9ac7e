/** Runs this server started, so it can cancel them on request and at shutdown. */
import type { WebRunHandle } from "./deps.ts";

/** Runs this server started, while they run (finished ones are dropped: no unbounded growth). */
export class WebRuns {
  private readonly handles = new Map<string, WebRunHandle>();

  track(handle: WebRunHandle): void {
    this.handles.set(handle.runId, handle);
    const drop = () => this.handles.delete(handle.runId);
    handle.done.then(drop, drop);
  }

  get(runId: string): WebRunHandle | undefined {
    return this.handles.get(runId);
  }

  /** Cancels every run this server started (on shutdown). */
  cancelAll(reason: string): void {
    for (const handle of this.handles.values()) handle.cancel(reason);
  }
}
