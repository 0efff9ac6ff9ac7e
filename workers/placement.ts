/**
 * The coordinator side of scale-out: with CLOSED_CLAW_NATS_URL set, each
 * capsule attempt becomes a launch job in the JetStream work queue; the
 * first worker to take it answers with the plan it made on its machine and
 * then relays the capsule. Everything else stays here: model calls (the keys
 * never leave this machine), tool checks, approvals, journal and records.
 */
import type {
  CapsulePlacement,
  RemoteLaunch,
  RemoteLaunchRequest,
} from "../capsule_runtime/capsule_types.ts";
import { PlacementError } from "../capsule_runtime/capsule_types.ts";
import type { LaunchPlan } from "../capsule_runtime/launcher.ts";
import { PROTOCOL_VERSION } from "../guest/protocol_types.ts";
import type { Settings } from "../core/settings.ts";
import type { JetStreamClient } from "@nats-io/jetstream";
import {
  connectNats,
  ensureJobStream,
  jetStreamOf,
  type NatsConnection,
} from "./nats_connection.ts";
import { RemoteCapsule } from "./remote_capsule.ts";
import {
  capsuleSubject,
  decodeJson,
  encodeJson,
  hostInbox,
  type Job,
  JOB_SUBJECT,
  parseHostSubject,
  WIRE_VERSION,
  type WorkerEvent,
  WorkerEventSchema,
} from "./wire.ts";

type Accepted = Extract<WorkerEvent, { t: "accepted" }>;

/**
 * The plan a remote session checks against: the worker's sandbox and flags;
 * a tool only where both machines grant it; every path either side denies.
 * Programs and their proxy are the worker's business, so their parts go.
 */
export function mergePlan(local: LaunchPlan, worker: string, accepted: Accepted): LaunchPlan {
  const workerTools = new Set(accepted.tools);
  const refused = new Map<string, LaunchPlan["refusedTools"][number]>(
    local.refusedTools.map((r) => [r.tool, r]),
  );
  for (const r of accepted.refused_tools) {
    if (refused.has(r.tool)) continue;
    const tool = r.tool as LaunchPlan["tools"][number];
    refused.set(r.tool, { tool, reason: `on worker ${worker}: ${r.reason}` });
  }
  return {
    ...local,
    sandbox: accepted.sandbox,
    denoFlags: accepted.deno_flags,
    tools: local.tools.filter((t) => workerTools.has(t)),
    refusedTools: [...refused.values()],
    deniedPaths: [...new Set([...local.deniedPaths, ...accepted.denied_paths])],
    warnings: [...local.warnings, ...accepted.warnings.map((w) => `on worker ${worker}: ${w}`)],
    programSandbox: undefined,
    egress: undefined,
  };
}

export class NatsPlacement implements CapsulePlacement {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly acceptTimeoutMs: number,
  ) {}

  /** Connects and makes sure the job stream exists; throws a `NatsError` saying what to fix. */
  static async open(
    settings: Settings,
    onStatus?: (line: string) => void,
  ): Promise<NatsPlacement> {
    const nc = await connectNats(settings, `closed-claw coordinator ${Deno.pid}`, { onStatus });
    try {
      const { js, jsm } = await jetStreamOf(nc);
      await ensureJobStream(jsm);
      return new NatsPlacement(nc, js, settings.natsAcceptTimeoutSec * 1000);
    } catch (error) {
      await nc.close().catch(() => {});
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.nc.drain().catch(() => this.nc.close());
  }

  async launch(request: RemoteLaunchRequest): Promise<RemoteLaunch> {
    const jobId = crypto.randomUUID();
    const sub = this.nc.subscribe(hostInbox(jobId));
    const job: Job = {
      wire: WIRE_VERSION,
      protocol: PROTOCOL_VERSION,
      job_id: jobId,
      ...(request.runId ? { run_id: request.runId } : {}),
      attempt: request.attempt,
      manifest: request.manifest as unknown as Record<string, unknown>,
      workspace: request.workspace,
      allowed_roots: request.allowedRoots,
      paid_api_providers: request.paidApiProviders,
      deadline: Date.now() + this.acceptTimeoutMs,
    };
    try {
      await this.js.publish(JOB_SUBJECT, encodeJson(job), { msgID: jobId });
    } catch (error) {
      sub.unsubscribe();
      throw new PlacementError(
        "capsule_not_ready",
        `could not queue the capsule on NATS: ${(error as Error).message}`,
      );
    }
    return await this.awaitWorker(request, jobId, sub);
  }

  /** Waits for the first worker to accept (or refuse) the job, then relays its capsule. */
  private awaitWorker(
    request: RemoteLaunchRequest,
    jobId: string,
    sub: ReturnType<NatsConnection["subscribe"]>,
  ): Promise<RemoteLaunch> {
    return new Promise((resolve, reject) => {
      let capsule: RemoteCapsule | null = null;
      const onAbort = () => fail("capsule_not_ready", "cancelled");
      const settled = () => {
        clearTimeout(timer);
        request.signal?.removeEventListener("abort", onAbort);
      };
      const fail = (code: PlacementError["code"], message: string) => {
        if (capsule) return;
        settled();
        sub.unsubscribe();
        reject(new PlacementError(code, message));
      };
      const seconds = Math.round(this.acceptTimeoutMs / 1000);
      const timer = setTimeout(
        () =>
          fail(
            "capsule_not_ready",
            `no worker took the capsule within ${seconds} s (is a \`closed-claw worker\` running? \`closed-claw workers\` lists the live ones)`,
          ),
        this.acceptTimeoutMs,
      );
      request.signal?.addEventListener("abort", onAbort, { once: true });
      (async () => {
        for await (const msg of sub) {
          const from = parseHostSubject(msg.subject);
          if (!from) continue;
          if (capsule) {
            if (from.worker !== capsule.worker) this.refuseSecond(from.worker, jobId, msg.data);
            else capsule.receive(from.kind, msg.data);
            continue;
          }
          if (from.kind !== "ev") continue;
          const event = decodeJson(WorkerEventSchema, msg.data);
          if (event?.t === "rejected") {
            fail(
              "capsule_spawn_failed",
              `worker ${from.worker} refused the capsule: ${event.reason}`,
            );
          } else if (event?.t === "accepted") {
            settled();
            capsule = new RemoteCapsule(
              this.nc,
              sub,
              from.worker,
              jobId,
              event.pid,
              request.onStderrLine,
              {
                agentId: request.manifest.agent_id,
                approve: request.approve,
                emit: request.emit,
                networkHosts: request.plan.permissions.networkHosts,
                paidApiProviders: request.paidApiProviders,
              },
            );
            const plan = mergePlan(request.plan, from.worker, event);
            const remote = capsule;
            resolve({
              channel: remote,
              plan,
              worker: from.worker,
              runProgram: remote.runProgram.bind(remote),
            });
          }
        }
      })().catch((error) => fail("capsule_not_ready", (error as Error).message));
    });
  }

  /** A second worker that also started this job (a redelivery) is told to stop its copy. */
  private refuseSecond(worker: string, jobId: string, data: Uint8Array): void {
    const event = decodeJson(WorkerEventSchema, data);
    if (event?.t !== "accepted") return;
    this.nc.publish(
      capsuleSubject(worker, jobId, "to_worker", "ctl"),
      encodeJson({ t: "kill", reason: "another worker runs this capsule" }),
    );
  }
}
