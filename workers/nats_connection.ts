/**
 * Connecting to NATS with the settings' credentials (user and password, a
 * token, an nkey seed or a .creds file; TLS when a CA is given), reporting
 * every loss of the connection and retrying with back-off. The NATS client
 * is loaded here only, on first use, so commands that never touch NATS do
 * not pay for it.
 */
import type { Settings } from "../core/settings.ts";
import type { NatsConnection } from "@nats-io/transport-node";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { JOB_ACK_WAIT_MS, JOB_CONSUMER, JOB_STREAM, JOB_SUBJECT } from "./wire.ts";

export type { NatsConnection };

/** The NATS settings, by name (a worker and a coordinator read the same ones). */
export type NatsSettings = Pick<
  Settings,
  | "natsUrl"
  | "natsUser"
  | "natsPassword"
  | "natsToken"
  | "natsCredsFile"
  | "natsNkeySeedFile"
  | "natsTlsCa"
>;

/** A NATS problem the user can fix, in one line. */
export class NatsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NatsError";
  }
}

let resetsGuarded = false;

/**
 * The NATS Node transport drops its socket's listeners between reading the
 * server's INFO and the next stage, so a server that resets the connection
 * right then (a refused TLS handshake or sign-in) raises ECONNRESET as an
 * uncaught error, which would end the process. A reset socket is the NATS
 * client's business (it reports the failure and reconnects), so such an
 * error is not fatal once NATS is in use; any other uncaught error still is.
 */
function guardSocketResets(): void {
  if (resetsGuarded) return;
  resetsGuarded = true;
  globalThis.addEventListener("error", (event) => {
    const error = event.error as { code?: unknown; syscall?: unknown } | null;
    const reset = error?.code === "ECONNRESET" || error?.code === "EPIPE";
    if (reset && error?.syscall === "read") event.preventDefault();
  });
}

/** Back-off between reconnect attempts: 0.5 s doubling to 10 s, with jitter. */
export function reconnectDelay(attempt: number): number {
  const base = Math.min(10_000, 500 * 2 ** Math.min(attempt, 5));
  return Math.round(base / 2 + Math.random() * base / 2);
}

async function authOptions(settings: NatsSettings) {
  const core = await import("@nats-io/transport-node");
  const read = (path: string, what: string) => {
    try {
      return Deno.readFileSync(path);
    } catch (error) {
      throw new NatsError(`could not read the NATS ${what} ${path}: ${(error as Error).message}`);
    }
  };
  if (settings.natsCredsFile) {
    return {
      authenticator: core.credsAuthenticator(read(settings.natsCredsFile, "credentials file")),
    };
  }
  if (settings.natsNkeySeedFile) {
    const seed = new TextDecoder().decode(read(settings.natsNkeySeedFile, "nkey seed file"));
    return { authenticator: core.nkeyAuthenticator(new TextEncoder().encode(seed.trim())) };
  }
  if (settings.natsToken) return { token: settings.natsToken };
  if (settings.natsUser) return { user: settings.natsUser, pass: settings.natsPassword };
  return {};
}

/** How `connectNats` connects. */
export interface ConnectNatsOptions {
  /** Hears each disconnect and reconnect once connected. */
  onStatus?: (line: string) => void;
  /** Tries of the first connection (default 4). */
  firstTries?: number;
  /** Where replies come in; a worker's own one lets NATS permissions keep others' replies from it. */
  inboxPrefix?: string;
}

/**
 * Connects, trying the first connection a few times with back-off; once
 * connected, the client reconnects for ever and `onStatus` hears each
 * disconnect and reconnect. `name` shows in the server's monitoring.
 */
export async function connectNats(
  settings: NatsSettings,
  name: string,
  how: ConnectNatsOptions = {},
): Promise<NatsConnection> {
  const { onStatus, firstTries = 4, inboxPrefix } = how;
  const servers = settings.natsUrl.split(",").map((s) => s.trim()).filter(Boolean);
  if (!servers.length) throw new NatsError("no NATS URL: set CLOSED_CLAW_NATS_URL or pass --nats");
  const { connect } = await import("@nats-io/transport-node");
  guardSocketResets();
  let reconnects = 0;
  const options = {
    servers,
    name,
    ...await authOptions(settings),
    ...(settings.natsTlsCa ? { tls: { caFile: settings.natsTlsCa } } : {}),
    maxReconnectAttempts: -1,
    reconnectDelayHandler: () => reconnectDelay(reconnects++),
    pingInterval: 5_000,
    maxPingOut: 2,
    ...(inboxPrefix ? { inboxPrefix } : {}),
  };
  let lastError = "";
  for (let attempt = 0; attempt < firstTries; attempt++) {
    try {
      const nc = await connect(options);
      watchStatus(nc, onStatus, () => reconnects = 0);
      return nc;
    } catch (error) {
      lastError = (error as Error).message;
      if (/authoriz|authentic|permission/i.test(lastError)) break;
      if (attempt + 1 < firstTries) {
        await new Promise((resolve) => setTimeout(resolve, reconnectDelay(attempt)));
      }
    }
  }
  throw new NatsError(
    `could not connect to NATS at ${servers.join(", ")}: ${lastError} ` +
      "(is nats-server running with JetStream, -js? are the credentials right?)",
  );
}

function watchStatus(
  nc: NatsConnection,
  onStatus: ((line: string) => void) | undefined,
  onReconnect: () => void,
): void {
  (async () => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") onStatus?.(`lost the NATS connection to ${status.server}`);
      else if (status.type === "reconnecting") onStatus?.("reconnecting to NATS…");
      else if (status.type === "reconnect") {
        onReconnect();
        onStatus?.(`reconnected to NATS at ${status.server}`);
      } else if (status.type === "error") onStatus?.(`NATS: ${status.error.message}`);
    }
  })().catch(() => {});
}

/** The JetStream client and manager of a connection. */
export async function jetStreamOf(
  nc: NatsConnection,
): Promise<{ js: JetStreamClient; jsm: JetStreamManager }> {
  const { jetstream, jetstreamManager } = await import("@nats-io/jetstream");
  try {
    return { js: jetstream(nc), jsm: await jetstreamManager(nc, { timeout: 5_000 }) };
  } catch (error) {
    throw new NatsError(
      `NATS answered but JetStream is not available (${(error as Error).message}); ` +
        "start nats-server with -js",
    );
  }
}

/**
 * Makes sure the job stream (a work queue: each job is taken by one worker)
 * and the workers' shared pull consumer exist. Safe to call from many
 * processes at once; an existing stream or consumer is left as it is.
 */
export async function ensureJobStream(jsm: JetStreamManager): Promise<void> {
  const { AckPolicy, RetentionPolicy, StorageType } = await import("@nats-io/jetstream");
  try {
    await jsm.streams.info(JOB_STREAM);
  } catch {
    try {
      await jsm.streams.add({
        name: JOB_STREAM,
        subjects: [JOB_SUBJECT],
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
        // A job nobody took within an hour is no longer awaited by anyone.
        max_age: 3_600 * 1e9,
      });
    } catch (error) {
      // Another process may have created it in between.
      await jsm.streams.info(JOB_STREAM).catch(() => {
        throw new NatsError(`could not create the job stream: ${(error as Error).message}`);
      });
    }
  }
  try {
    await jsm.consumers.info(JOB_STREAM, JOB_CONSUMER);
  } catch {
    try {
      await jsm.consumers.add(JOB_STREAM, {
        durable_name: JOB_CONSUMER,
        ack_policy: AckPolicy.Explicit,
        ack_wait: JOB_ACK_WAIT_MS * 1e6,
        max_deliver: 5,
      });
    } catch (error) {
      await jsm.consumers.info(JOB_STREAM, JOB_CONSUMER).catch(() => {
        throw new NatsError(`could not create the workers' consumer: ${(error as Error).message}`);
      });
    }
  }
}
