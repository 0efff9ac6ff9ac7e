/**
 * The live workers, for the dashboard (`GET /api/workers`, the system page):
 * with CLOSED_CLAW_NATS_URL set, every worker that answers a ping within a
 * moment; without it, a note that capsules run on this machine. One NATS
 * connection per URL is kept for the server's life.
 */
import type { Settings } from "../../core/settings.ts";
import type { NatsConnection } from "../../workers/nats_connection.ts";
import type { WorkerInfo } from "../../workers/wire.ts";

export interface WorkersView {
  /** Whether capsules are sent to workers (CLOSED_CLAW_NATS_URL is set). */
  configured: boolean;
  nats_url: string;
  workers: WorkerInfo[];
  /** Why the workers could not be asked (NATS unreachable, bad credentials). */
  error: string;
}

const connections = new Map<string, Promise<NatsConnection>>();

async function connectionFor(settings: Settings): Promise<NatsConnection> {
  const key = JSON.stringify([settings.natsUrl, settings.natsUser, settings.natsCredsFile]);
  let pending = connections.get(key);
  if (!pending) {
    const { connectNats } = await import("../../workers/nats_connection.ts");
    pending = connectNats(settings, "closed-claw dashboard", { firstTries: 1 });
    connections.set(key, pending);
    // A failed attempt is not kept: the next page load tries again.
    pending.catch(() => connections.delete(key));
  }
  const nc = await pending;
  if (nc.isClosed()) {
    connections.delete(key);
    return connectionFor(settings);
  }
  return nc;
}

export async function workersOf(settings: Settings, waitMs = 400): Promise<WorkersView> {
  const base = { configured: settings.natsUrl !== "", nats_url: settings.natsUrl };
  if (!base.configured) return { ...base, workers: [], error: "" };
  try {
    const { listWorkers } = await import("../../workers/worker.ts");
    return {
      ...base,
      workers: await listWorkers(await connectionFor(settings), waitMs),
      error: "",
    };
  } catch (error) {
    return { ...base, workers: [], error: (error as Error).message };
  }
}

/** Closes the connections kept for the page (the server's shutdown). */
export async function closeWorkerConnections(): Promise<void> {
  const pending = [...connections.values()];
  connections.clear();
  await Promise.allSettled(pending.map(async (p) => (await p).close()));
}
