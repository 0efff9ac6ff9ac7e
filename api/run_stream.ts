/**
 * A run as an async iterable of its run-log events. Events are kept from the
 * first one (`task_ingested` is emitted before the caller can start
 * iterating), so every iteration sees the whole run, in order.
 */
import type { RunLogEvent } from "../coordinator/run_log.ts";
import type { RunHandle, RunOutcome } from "../coordinator/types.ts";

/** A running task whose events can be read with `for await`. */
export interface RunStream extends AsyncIterable<RunLogEvent> {
  /** The run's id (`run_…`), known at once. */
  readonly runId: string;
  /** Settles with the outcome when the run ends; never rejects for a failed run. */
  readonly done: Promise<RunOutcome>;
  /** Stops the run; capsules are killed and the outcome's status becomes `cancelled`. */
  cancel(reason?: string): void;
}

/**
 * Starts a run through `start`, handing it the listener that feeds the
 * stream. Iteration ends once the run is done and every event was read.
 */
export function streamRun(start: (onEvent: (event: RunLogEvent) => void) => RunHandle): RunStream {
  const events: RunLogEvent[] = [];
  let finished = false;
  let wake: (() => void)[] = [];
  const notify = () => {
    const waiting = wake;
    wake = [];
    for (const resolve of waiting) resolve();
  };
  const handle = start((event) => {
    events.push(event);
    notify();
  });
  const done = handle.done.finally(() => {
    finished = true;
    notify();
  });
  return {
    runId: handle.runId,
    done,
    cancel: (reason) => handle.cancel(reason),
    async *[Symbol.asyncIterator]() {
      let next = 0;
      while (true) {
        if (next < events.length) {
          yield events[next++];
        } else if (finished) {
          return;
        } else {
          await new Promise<void>((resolve) => wake.push(resolve));
        }
      }
    },
  };
}
