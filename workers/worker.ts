/**
 * `closed-claw worker`: takes capsule launch jobs from the JetStream work
 * queue, at most `maxCapsules` at a time, runs each with this machine's
 * launcher (worker_capsule.ts), and answers pings with what it is (name,
 * sandbox layers, capacity, load). It holds no keys and no store: the
 * coordinator that queued a job decides everything about its capsule.
 */
import { hostname } from "node:os";
import type { Settings } from "../core/settings.ts";
import { machineFacts } from "../capsule_runtime/machine.ts";
import { realOrSelf } from "../capsule_runtime/symlink_scan.ts";
import denoConfig from "../deno.json" with { type: "json" };
import { connectNats, ensureJobStream, jetStreamOf, reconnectDelay } from "./nats_connection.ts";
import type { NatsConnection } from "./nats_connection.ts";
import { runJob, type WorkerContext } from "./worker_capsule.ts";
import type { CapsuleProcess } from "../capsule_runtime/supervisor.ts";
import {
  decodeJson,
  encodeJson,
  JOB_CONSUMER,
  JOB_STREAM,
  PING_SUBJECT,
  WORKER_NAME,
  type WorkerInfo,
  WorkerInfoSchema,
} from "./wire.ts";

export interface WorkerOptions {
  settings: Settings;
  name: string;
  /** Folders capsules may work in (a job's workspace must be inside one). */
  workspaceRoots: string[];
  maxCapsules: number;
  /** Progress and problems, one line each. */
  log(line: string): void;
}

export class Worker {
  private running = 0;
  private stopped = false;
  private wake: (() => void) | null = null;
  private readonly jobs = new Set<Promise<void>>();
  private readonly live = new Set<CapsuleProcess>();
  private readonly startedAt = new Date().toISOString();
  private sandbox: WorkerInfo["sandbox"] = "deno-only";

  private constructor(
    private readonly nc: NatsConnection,
    private readonly options: WorkerOptions,
  ) {}

  /** Connects and checks the job stream; throws a one-line `NatsError` or `Error`. */
  static async start(options: WorkerOptions): Promise<Worker> {
    if (!WORKER_NAME.test(options.name)) {
      throw new Error(
        `worker name '${options.name}' may hold only letters, digits, - and _ (1-64 characters)`,
      );
    }
    const nc = await connectNats(options.settings, `closed-claw worker ${options.name}`, {
      onStatus: options.log,
      inboxPrefix: workerInbox(options.name),
    });
    try {
      const { jsm } = await jetStreamOf(nc);
      await ensureJobStream(jsm);
    } catch (error) {
      if (/permissions violation/i.test((error as Error).message)) {
        // A worker whose NATS user may only take jobs (docs/scale-out.md) waits for the stream.
        options.log("the job stream is not there yet; the first coordinator creates it");
      } else {
        await nc.close().catch(() => {});
        throw error;
      }
    }
    const worker = new Worker(nc, options);
    worker.sandbox = (await machineFacts()).bwrapPath ? "bwrap" : "deno-only";
    worker.answerPings();
    return worker;
  }

  /** What this worker tells anyone who asks. */
  info(): WorkerInfo {
    return {
      name: this.options.name,
      host: hostname(),
      sandbox: this.sandbox,
      max_capsules: this.options.maxCapsules,
      running: this.running,
      workspace_roots: this.options.workspaceRoots,
      version: denoConfig.version,
      started_at: this.startedAt,
    };
  }

  private answerPings(): void {
    const sub = this.nc.subscribe(PING_SUBJECT);
    (async () => {
      for await (const msg of sub) {
        if (msg.reply) this.nc.publish(msg.reply, encodeJson(this.info()));
      }
    })().catch(() => {});
  }

  /** Takes jobs until `stop`; returns when the last capsule has ended. */
  async serve(): Promise<void> {
    // The client only (no request): a NATS outage from here on is retried in the loop.
    const { jetstream } = await import("@nats-io/jetstream");
    const js = jetstream(this.nc);
    const ctx: WorkerContext = {
      nc: this.nc,
      settings: this.options.settings,
      name: this.options.name,
      roots: this.options.workspaceRoots.map(realOrSelf),
      live: this.live,
      log: this.options.log,
    };
    let failures = 0;
    // Looked up once (a request to the server), and again only after something failed.
    let consumer: Awaited<ReturnType<typeof js.consumers.get>> | null = null;
    while (!this.stopped) {
      if (this.running >= this.options.maxCapsules) {
        await new Promise<void>((resolve) => this.wake = resolve);
        continue;
      }
      try {
        consumer ??= await js.consumers.get(JOB_STREAM, JOB_CONSUMER);
        const msg = await consumer.next({ expires: 2_000 });
        failures = 0;
        if (!msg || this.stopped) {
          msg?.nak();
          continue;
        }
        this.running++;
        const job = runJob(ctx, msg).catch((error) => this.options.log(`job failed: ${error}`))
          .finally(() => {
            this.running--;
            this.jobs.delete(job);
            this.wake?.();
          });
        this.jobs.add(job);
      } catch (error) {
        if (this.stopped) break;
        consumer = null;
        const message = (error as Error).message;
        // No stream or consumer yet: a coordinator creates them on its first run.
        const missing = /not found/i.test(message);
        const wait = missing ? 1_000 : reconnectDelay(failures);
        if (!missing || failures === 0) {
          this.options.log(`could not take jobs (${message}); retrying in ${wait} ms`);
        }
        failures++;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
    await Promise.allSettled([...this.jobs]);
  }

  /** Stops taking jobs; running capsules go on to their end. */
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /**
   * Stops taking jobs and kills the running capsules: their coordinators hear
   * them exit and relaunch each from its journal, on another worker.
   */
  async close(reason = "the worker is stopping"): Promise<void> {
    this.stop();
    for (const proc of this.live) proc.kill(reason);
    await Promise.allSettled([...this.jobs]);
    await this.nc.drain().catch(() => this.nc.close());
  }
}

/** A worker's reply subjects (see docs/scale-out.md's permissions). */
export function workerInbox(name: string): string {
  return `_INBOX_${name}`;
}

/** Asks every live worker who it is; answers gathered for `waitMs`. */
export async function listWorkers(nc: NatsConnection, waitMs = 700): Promise<WorkerInfo[]> {
  const { createInbox } = await import("@nats-io/transport-node");
  const inbox = createInbox();
  const sub = nc.subscribe(inbox);
  const found: WorkerInfo[] = [];
  const timer = setTimeout(() => sub.unsubscribe(), waitMs);
  nc.publish(PING_SUBJECT, encodeJson({}), { reply: inbox });
  for await (const msg of sub) {
    const info = decodeJson(WorkerInfoSchema, msg.data);
    if (info) found.push(info);
  }
  clearTimeout(timer);
  return found.sort((a, b) => a.name.localeCompare(b.name));
}
