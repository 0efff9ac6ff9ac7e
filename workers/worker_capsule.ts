/**
 * One launch job on a worker: check it (version, manifest, workspace inside
 * the worker's roots), plan the capsule on this machine with the same
 * launcher as a local run (Deno flags from the manifest, bubblewrap, limits),
 * start it, and relay: stdout and stderr to the coordinator, the
 * coordinator's messages to stdin. Programs of exec tools the coordinator
 * allowed run here, in this machine's program sandbox, after this machine's
 * own check. A coordinator that falls silent has its capsule killed.
 */
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import type { JsMsg } from "@nats-io/jetstream";
import type { Settings } from "../core/settings.ts";
import { planLaunch } from "../capsule_runtime/launch_plan.ts";
import { isWithin, type LaunchPlan } from "../capsule_runtime/launcher.ts";
import { warmPlanCache } from "../capsule_runtime/machine.ts";
import { capsuleDir } from "../capsule_runtime/factory.ts";
import { type Manifest, parseManifest } from "../capsule_runtime/manifest.ts";
import { CapsuleProcess } from "../capsule_runtime/supervisor.ts";
import { runProgram, toolContextOf } from "../capsule_runtime/session_tools.ts";
import { startEgress } from "../capsule_runtime/capsule_egress.ts";
import type { ApprovalAnswer, ApprovalRequest } from "../capsule_runtime/capsule_types.ts";
import { realOrSelf } from "../capsule_runtime/symlink_scan.ts";
import { checkToolCall } from "../tools/host_check.ts";
import { guestTool } from "../guest/tools/registry.ts";
import type { ToolContext } from "../guest/tools/run.ts";
import { PROTOCOL_VERSION } from "../guest/protocol_types.ts";
import {
  capsuleSubject,
  chunked,
  decodeJson,
  encodeJson,
  HEARTBEAT_MS,
  type HostControl,
  HostControlSchema,
  type Job,
  JobSchema,
  SILENCE_MS,
  type WorkerEvent,
} from "./wire.ts";

/** What every job on this worker shares. */
export interface WorkerContext {
  nc: NatsConnection;
  settings: Settings;
  name: string;
  /** Real paths of the folders capsules may work in here. */
  roots: string[];
  /** Capsules running now (a worker that stops kills them). */
  live: Set<CapsuleProcess>;
  log(line: string): void;
}

/** Takes one job message to its end; never throws. */
export async function runJob(ctx: WorkerContext, msg: JsMsg): Promise<void> {
  const job = decodeJson(JobSchema, msg.data);
  if (!job) {
    ctx.log("dropped a malformed job");
    msg.term();
    return;
  }
  if (job.deadline < Date.now()) {
    // Its coordinator stopped waiting and has given up (or relaunched it as a new job).
    ctx.log(`dropped job ${job.job_id.slice(0, 8)}: nobody waits for it any more`);
    msg.term();
    return;
  }
  const publish = (event: WorkerEvent) =>
    ctx.nc.publish(capsuleSubject(ctx.name, job.job_id, "to_host", "ev"), encodeJson(event));
  const checked = checkJob(ctx, job);
  if ("reason" in checked) {
    ctx.log(`refused job ${job.job_id.slice(0, 8)}: ${checked.reason}`);
    publish({ t: "rejected", reason: checked.reason });
    msg.term();
    return;
  }
  let plan: LaunchPlan;
  try {
    plan = await planHere(ctx, job, checked.manifest, checked.workspace);
  } catch (error) {
    const reason = `could not plan the capsule here: ${(error as Error).message}`;
    publish({ t: "rejected", reason });
    msg.term();
    return;
  }
  msg.ack();
  await new WorkerCapsule(ctx, job, plan, checked.manifest).run();
}

/** The job's manifest and workspace, or why this worker refuses it. */
function checkJob(
  ctx: WorkerContext,
  job: Job,
): { manifest: Manifest; workspace: string } | { reason: string } {
  if (job.protocol !== PROTOCOL_VERSION) {
    return {
      reason:
        `the coordinator speaks capsule protocol v${job.protocol}, this worker v${PROTOCOL_VERSION}: run the same Closed Claw version on both`,
    };
  }
  let manifest: Manifest;
  try {
    manifest = parseManifest(job.manifest);
  } catch (error) {
    return { reason: `invalid manifest: ${(error as Error).message.split("\n")[0]}` };
  }
  const workspace = realOrSelf(job.workspace);
  if (!ctx.roots.some((root) => isWithin(root, workspace))) {
    return {
      reason: `workspace ${job.workspace} is outside this worker's roots (${
        ctx.roots.join(", ")
      }); start the worker with --workspace-root <folder holding it>`,
    };
  }
  try {
    if (!Deno.statSync(workspace).isDirectory) throw new Error("not a folder");
  } catch {
    return {
      reason:
        `workspace ${job.workspace} does not exist on this worker: mount the shared workspace at the same path`,
    };
  }
  return { manifest, workspace };
}

/** The capsule's plan on this machine: its roots are the job's, within this worker's. */
async function planHere(
  ctx: WorkerContext,
  job: Job,
  manifest: Manifest,
  workspace: string,
): Promise<LaunchPlan> {
  const allowedRoots = job.allowed_roots.map(realOrSelf)
    .filter((root) => ctx.roots.some((mine) => isWithin(mine, root)));
  const plan = await planLaunch(ctx.settings, manifest, {
    workspace,
    allowedRoots: allowedRoots.length ? allowedRoots : [workspace],
  });
  Deno.mkdirSync(join(capsuleDir(ctx.settings.agentsDir, manifest.agent_id), "logs"), {
    recursive: true,
  });
  await warmPlanCache(plan);
  return plan;
}

/** A started capsule and its relay. */
class WorkerCapsule {
  private proc!: CapsuleProcess;
  private lastHeard = Date.now();
  private readonly programs = new Map<string, AbortController>();
  private readonly approvals = new Map<string, (answer: ApprovalAnswer) => void>();
  private approvalIds = 0;
  private readonly ctl: ReturnType<NatsConnection["subscribe"]>;
  private readonly toolContext: ToolContext;
  private readonly agentId: string;

  constructor(
    private readonly ctx: WorkerContext,
    private readonly job: Job,
    private readonly plan: LaunchPlan,
    manifest: Manifest,
  ) {
    // Listening before the coordinator can hear of the capsule, so no message is missed.
    this.ctl = ctx.nc.subscribe(capsuleSubject(ctx.name, job.job_id, "to_worker", "*"));
    this.toolContext = toolContextOf(plan, realOrSelf(job.workspace));
    this.agentId = manifest.agent_id;
  }

  private publish(event: WorkerEvent): void {
    const subject = capsuleSubject(this.ctx.name, this.job.job_id, "to_host", "ev");
    try {
      this.ctx.nc.publish(subject, encodeJson(event));
    } catch {
      // The connection is gone; the coordinator's silence check takes over.
    }
  }

  async run(): Promise<void> {
    const short = this.job.job_id.slice(0, 8);
    // Programs reach their network_hosts only through a proxy here; paid-API hosts are
    // approved by the coordinator, and every connection is reported to it.
    const egress = await startEgress(this.plan, {
      agentId: this.agentId,
      paidApiProviders: this.job.paid_api_providers,
      approve: (request) => this.askCoordinator(request),
      emit: (event) => {
        if (event.type !== "egress") return;
        const { type: _type, ...record } = event;
        this.publish({ t: "egress", record });
      },
    });
    try {
      await this.runCapsule(short);
    } finally {
      for (const answer of this.approvals.values()) answer({ approved: false, note: "ended" });
      this.approvals.clear();
      await egress?.close();
    }
  }

  /** A paid-API connection of a program: the coordinator decides, as for a local capsule. */
  private askCoordinator(request: ApprovalRequest): Promise<ApprovalAnswer> {
    const id = `a${++this.approvalIds}`;
    return new Promise((resolve) => {
      this.approvals.set(id, resolve);
      request.signal.addEventListener("abort", () => {
        this.approvals.delete(id);
        resolve({ approved: false, note: "the capsule ended" });
      }, { once: true });
      this.publish({
        t: "approve",
        id,
        provider: request.provider,
        endpoint: request.endpoint,
        host: String(request.args.host ?? ""),
      });
    });
  }

  private async runCapsule(short: string): Promise<void> {
    try {
      this.proc = CapsuleProcess.spawn(
        this.plan,
        (line) => this.publish({ t: "stderr", line: line.slice(0, 2000) }),
      );
    } catch (error) {
      this.publish({ t: "rejected", reason: `could not start: ${(error as Error).message}` });
      this.ctl.unsubscribe();
      return;
    }
    const { plan } = this;
    this.ctx.live.add(this.proc);
    this.publish({
      t: "accepted",
      pid: this.proc.pid,
      sandbox: plan.sandbox,
      deno_flags: plan.denoFlags,
      tools: plan.tools,
      refused_tools: plan.refusedTools,
      denied_paths: plan.deniedPaths,
      warnings: plan.warnings,
    });
    this.ctx.log(`capsule ${short} of ${this.agentId} started (${plan.sandbox})`);
    const watchdog = setInterval(() => this.watch(), HEARTBEAT_MS);
    const inbound = this.listen();
    try {
      await this.relayStdout();
      const status = await this.proc.status;
      this.publish({ t: "exit", code: status.code, signal: status.signal ?? null });
      this.ctx.log(`capsule ${short} ended (code ${status.code})`);
    } finally {
      clearInterval(watchdog);
      this.ctx.live.delete(this.proc);
      for (const program of this.programs.values()) program.abort();
      this.ctl.unsubscribe();
      await inbound;
    }
  }

  private async relayStdout(): Promise<void> {
    const subject = capsuleSubject(this.ctx.name, this.job.job_id, "to_host", "out");
    try {
      for await (const chunk of this.proc.chunks()) {
        for (const piece of chunked(chunk)) this.ctx.nc.publish(subject, piece);
      }
    } catch {
      // killed mid-read
    }
  }

  /** Heartbeat out; a coordinator silent too long has its capsule stopped. */
  private watch(): void {
    this.publish({ t: "hb" });
    if (Date.now() - this.lastHeard > SILENCE_MS) {
      this.ctx.log(
        `capsule ${this.job.job_id.slice(0, 8)}: the coordinator went silent; stopping it`,
      );
      this.proc.kill("the coordinator went silent");
    }
  }

  private async listen(): Promise<void> {
    for await (const msg of this.ctl) {
      this.lastHeard = Date.now();
      if (msg.subject.endsWith(".in")) {
        await this.proc.sendBytes(msg.data);
        continue;
      }
      const control = decodeJson(HostControlSchema, msg.data);
      if (control) this.onControl(control);
    }
  }

  private onControl(control: HostControl): void {
    switch (control.t) {
      case "kill":
        this.proc.kill(control.reason);
        return;
      case "close_stdin":
        this.proc.finish().catch(() => {});
        return;
      case "run_program":
        this.runProgram(control.id, control.tool, control.args);
        return;
      case "cancel_program":
        this.programs.get(control.id)?.abort();
        return;
      case "approve_answer": {
        const answer = this.approvals.get(control.id);
        this.approvals.delete(control.id);
        answer?.({ approved: control.approved, note: control.note });
        return;
      }
    }
  }

  /** A program the coordinator allowed; this machine checks the call again before running it. */
  private async runProgram(id: string, tool: string, args: Record<string, unknown>) {
    const abort = new AbortController();
    this.programs.set(id, abort);
    const refuse = (error: string) => ({ ok: false, result: {}, error, ms: 0 });
    try {
      let outcome;
      if (guestTool(tool)?.permission !== "exec") {
        outcome = refuse(`${tool} is not a tool that runs programs`);
      } else {
        const check = await checkToolCall(tool, args, {
          allowlist: this.plan.tools,
          ctx: this.toolContext,
          paidApiProviders: this.ctx.settings.paidApiProviders,
        });
        outcome = check.allowed
          ? await runProgram(this.toolContext, this.plan, tool, check.args, abort.signal)
          : refuse(`refused on worker ${this.ctx.name}: ${check.reason}`);
      }
      this.publish({ t: "program_result", id, outcome });
    } catch (error) {
      this.publish({ t: "program_result", id, outcome: refuse((error as Error).message) });
    } finally {
      this.programs.delete(id);
    }
  }
}
