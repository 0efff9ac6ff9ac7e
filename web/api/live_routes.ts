/**
 * Server-sent events. `/api/runlog/{id}/stream` sends each run-log line as it
 * is written (event id = line number, so a reconnecting EventSource resumes
 * with Last-Event-ID) and ends with a `stream_end` event once the run has
 * stopped. `/api/events/stream` sends a snapshot of active runs and pending
 * approvals whenever it changes. Both send a keep-alive comment when quiet.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";
import { assertRunId } from "../../core/ids.ts";
import type { WebDeps } from "../deps.ts";
import { validId } from "../http.ts";
import type { LiveHub } from "../live/hub.ts";
import type { NumberedEvent } from "../live/log_follower.ts";
import { liveSnapshot } from "../views/live_snapshot.ts";

export interface LiveOptions {
  keepAliveMs: number;
}

function lastEventId(c: Context): number {
  const raw = c.req.header("last-event-id") ?? c.req.query("last_event_id") ?? "0";
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

/**
 * Calls `end` when the client goes away or the hub closes (server shutdown:
 * without this an open browser tab would keep the server from stopping).
 * Returns a function that stops listening to the hub.
 */
function endOnAbortOrClose(stream: SSEStreamingApi, hub: LiveHub, end: () => void): () => void {
  stream.onAbort(end);
  const signal = hub.closedSignal;
  if (signal.aborted) end();
  signal.addEventListener("abort", end, { once: true });
  return () => signal.removeEventListener("abort", end);
}

export function liveRoutes(deps: WebDeps, hub: LiveHub, options: LiveOptions): Hono {
  const app = new Hono();

  app.get("/runlog/:id/stream", (c) => {
    const runId = validId(assertRunId, c.req.param("id"));
    const after = lastEventId(c);
    c.header("Cache-Control", "no-cache");
    c.header("X-Accel-Buffering", "no");
    return streamSSE(c, async (stream) => {
      let closed = false;
      let chain = Promise.resolve();
      // Writes are chained so events leave in order even when they arrive in bursts.
      const send = (item: NumberedEvent) => {
        chain = chain.then(() =>
          closed ? undefined : stream.writeSSE({
            id: String(item.id),
            event: "log",
            data: JSON.stringify(item.event),
          })
        ).catch(() => {
          closed = true;
        });
      };
      const finished = Promise.withResolvers<void>();
      const unsubscribe = await hub.subscribeRun(runId, after, send);
      const checkEnded = async () => {
        const run = deps.store.runs.get(runId);
        if (closed || (run && run.status === "running")) return;
        await hub.flush(runId);
        await chain;
        if (closed) return;
        closed = true;
        await stream.writeSSE({
          event: "stream_end",
          data: JSON.stringify({ event: "stream_end", status: run?.status ?? "unknown" }),
        }).catch(() => {});
        finished.resolve();
      };
      const stopListening = hub.onChange(() => void checkEnded());
      const keepAlive = setInterval(() => {
        chain = chain.then(() => closed ? undefined : stream.write(": keepalive\n\n")).then(
          () => {},
          () => {
            closed = true;
          },
        );
      }, options.keepAliveMs);
      const stopOnEnd = endOnAbortOrClose(stream, hub, () => {
        closed = true;
        finished.resolve();
      });
      await checkEnded();
      await finished.promise;
      clearInterval(keepAlive);
      stopListening();
      stopOnEnd();
      unsubscribe();
    });
  });

  app.get("/events/stream", (c) => {
    c.header("Cache-Control", "no-cache");
    c.header("X-Accel-Buffering", "no");
    return streamSSE(c, async (stream) => {
      let closed = false;
      let last = "";
      let seq = 0;
      const finished = Promise.withResolvers<void>();
      const push = async () => {
        if (closed) return;
        const body = JSON.stringify(liveSnapshot(deps));
        if (body === last) return;
        last = body;
        await stream.writeSSE({ id: String(++seq), event: "snapshot", data: body }).catch(() => {
          closed = true;
          finished.resolve();
        });
      };
      const stopListening = hub.onChange(() => void push());
      const keepAlive = setInterval(() => {
        if (!closed) stream.write(": keepalive\n\n").catch(() => finished.resolve());
      }, options.keepAliveMs);
      const stopOnEnd = endOnAbortOrClose(stream, hub, () => {
        closed = true;
        finished.resolve();
      });
      await push();
      await finished.promise;
      clearInterval(keepAlive);
      stopListening();
      stopOnEnd();
    });
  });

  return app;
}
