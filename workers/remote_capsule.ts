/**
 * The coordinator's end of a capsule that runs on a worker: the same
 * `CapsuleChannel` a local process offers. The worker's stdout bytes are
 * split and validated here by the same code as a local capsule's (so a
 * worker cannot send the session anything a capsule could not), host
 * messages go back as bytes for the capsule's stdin, and a worker that falls
 * silent ends the capsule as crashed, so the session relaunches it from the
 * journal on another worker.
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { encodeHostMessage, type HostMessage } from "../capsule_runtime/protocol.ts";
import {
  type CapsuleChannel,
  type CapsuleExit,
  protocolLines,
  StderrTail,
  type StdoutItem,
} from "../capsule_runtime/supervisor.ts";
import type { HostToolOutcome } from "../guest/protocol_types.ts";
import type { CapsuleEvent, CapsuleHooks } from "../capsule_runtime/capsule_types.ts";
import { ProgramLostError } from "../capsule_runtime/capsule_types.ts";
import { hostAllowed } from "../guest/policy/ssrf.ts";
import { paidProviderFor } from "../guest/policy/paid_api.ts";
import {
  capsuleSubject,
  chunked,
  decodeJson,
  encodeJson,
  HEARTBEAT_MS,
  type HostControl,
  SILENCE_MS,
  type WorkerEvent,
  WorkerEventSchema,
} from "./wire.ts";

/** Unread capsule output a worker may have in flight before its capsule is stopped. */
export const MAX_QUEUED_BYTES = 32 * 1024 * 1024;

/** A queue of stdout chunks the session reads as they arrive. */
class ChunkQueue implements AsyncIterable<Uint8Array> {
  private items: Uint8Array[] = [];
  private wake: (() => void) | null = null;
  private ended = false;
  /** Bytes received and not read yet (a pipe would push back; NATS does not). */
  queued = 0;

  push(chunk: Uint8Array): void {
    if (this.ended) return;
    this.items.push(chunk);
    this.queued += chunk.length;
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  /** Drops what was not read (a flood is not worth reading). */
  discard(): void {
    this.items = [];
    this.queued = 0;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    while (true) {
      const next = this.items.shift();
      if (next) {
        this.queued -= next.length;
        yield next;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => this.wake = resolve);
      this.wake = null;
    }
  }
}

/** What the relay answers for the session: approvals for programs' paid-API hosts, events. */
export interface RemoteHost {
  agentId: string;
  approve?: CapsuleHooks["approve"];
  emit(event: CapsuleEvent): void;
  /**
   * What a worker may ask approval for: a host of the coordinator's own plan
   * (`egress.networkHosts`) that is a paid API of its settings. A worker's
   * `approve` for anything else is refused without asking anyone.
   */
  networkHosts: readonly string[];
  paidApiProviders: readonly string[];
}

export class RemoteCapsule implements CapsuleChannel {
  readonly pid: number;
  bytesRead = 0;
  killed: string | null = null;
  readonly status: Promise<CapsuleExit>;
  private settle!: (exit: CapsuleExit) => void;
  private readonly stdout = new ChunkQueue();
  private readonly stderr: StderrTail;
  private readonly programs = new Map<
    string,
    { resolve: (outcome: HostToolOutcome) => void; reject: (error: Error) => void }
  >();
  private programIds = 0;
  private lastHeard = Date.now();
  private readonly timer: ReturnType<typeof setInterval>;
  private stdinOpen = true;
  private done = false;
  /** Aborted when the capsule ends: a pending approval stops waiting. */
  private readonly abort = new AbortController();

  constructor(
    private readonly nc: NatsConnection,
    private readonly sub: Subscription,
    readonly worker: string,
    private readonly job: string,
    pid: number,
    onStderrLine: (line: string) => void,
    private readonly host: RemoteHost,
  ) {
    this.pid = pid;
    this.stderr = new StderrTail(onStderrLine);
    this.status = new Promise((resolve) => this.settle = resolve);
    // Heartbeats out; silence from the worker ends the capsule.
    this.timer = setInterval(() => this.tick(), HEARTBEAT_MS);
  }

  /** One message of `kind` from the worker (the placement heard only the accepting one). */
  receive(kind: string, data: Uint8Array): void {
    if (this.done) return;
    this.lastHeard = Date.now();
    if (kind === "out") {
      this.stdout.push(data);
      // Nothing pushes back on a worker that sends faster than the session reads.
      if (this.stdout.queued > MAX_QUEUED_BYTES) {
        this.stdout.discard();
        this.stderr.add(`worker '${this.worker}' sent more than the host could take in\n`);
        this.kill("the worker flooded the relay");
      }
      return;
    }
    if (kind !== "ev") return;
    const event = decodeJson(WorkerEventSchema, data);
    if (event) this.onEvent(event);
  }

  private onEvent(event: WorkerEvent): void {
    switch (event.t) {
      case "stderr":
        this.stderr.add(event.line + "\n");
        return;
      case "exit":
        this.end({
          success: event.code === 0,
          code: event.code,
          signal: event.signal as Deno.Signal | null,
        });
        return;
      case "egress":
        this.host.emit({ type: "egress", ...event.record });
        return;
      case "approve":
        this.approveEgress(event);
        return;
      case "program_result": {
        const waiting = this.programs.get(event.id);
        this.programs.delete(event.id);
        waiting?.resolve(event.outcome as HostToolOutcome);
        return;
      }
    }
  }

  /** One answer per host, as the local egress proxy keeps (a program opens many connections). */
  private readonly egressAnswers = new Map<string, Promise<{ approved: boolean; note: string }>>();

  /**
   * Answers a worker's question about a program's connection to a paid-API
   * host: refused at once unless the host is one this capsule's plan lists and
   * the provider is the paid API the coordinator's settings name for it (a
   * hostile worker must not put its own questions, say about an MCP tool,
   * before the user); asked once per host.
   */
  private async approveEgress(request: Extract<WorkerEvent, { t: "approve" }>): Promise<void> {
    const { networkHosts, paidApiProviders } = this.host;
    const host = request.host.toLowerCase();
    const known = hostAllowed(host, networkHosts) &&
      paidProviderFor(host, paidApiProviders) === request.provider;
    let answer = this.egressAnswers.get(host);
    if (!answer) {
      answer = known
        ? this.askEgress(request)
        : Promise.resolve({ approved: false, note: "not a paid-API host of this capsule's plan" });
      if (known) this.egressAnswers.set(host, answer);
    }
    this.control({ t: "approve_answer", id: request.id, ...await answer });
  }

  /** Asks the caller, and records the decision as an `approval` event. */
  private async askEgress(
    request: Extract<WorkerEvent, { t: "approve" }>,
  ): Promise<{ approved: boolean; note: string }> {
    const { approve, agentId } = this.host;
    const t0 = performance.now();
    let answer = { approved: false, note: "no approval hook: paid-API hosts are refused" };
    if (approve) {
      try {
        answer = await approve({
          provider: request.provider,
          endpoint: request.endpoint,
          reason:
            `a program of agent ${agentId} on worker ${this.worker} connects to ${request.host}`,
          agent_id: agentId,
          tool: "egress_proxy",
          args: { host: request.host },
          signal: this.abort.signal,
        });
      } catch (error) {
        answer = { approved: false, note: `approval failed: ${(error as Error).message}` };
      }
    }
    this.host.emit({
      type: "approval",
      id: `egress-${request.id}`,
      tool: "egress_proxy",
      provider: request.provider,
      endpoint: request.endpoint,
      approved: answer.approved,
      note: answer.note,
      ms: Math.round(performance.now() - t0),
    });
    return answer;
  }

  private tick(): void {
    this.control({ t: "hb" });
    if (Date.now() - this.lastHeard <= SILENCE_MS) return;
    this.stderr.add(
      `worker '${this.worker}' went silent for ${SILENCE_MS / 1000} s (it stopped or lost NATS)\n`,
    );
    this.end({ success: false, code: -1, signal: null });
  }

  /** The capsule is over: no more bytes, every program call still waiting fails. */
  private end(exit: CapsuleExit): void {
    if (this.done) return;
    this.done = true;
    this.abort.abort();
    clearInterval(this.timer);
    this.stdout.end();
    this.sub.unsubscribe();
    for (const [id, waiting] of this.programs) {
      waiting.reject(
        new ProgramLostError(
          `the worker '${this.worker}' was lost while a program ran; whether it finished is unknown`,
        ),
      );
      this.programs.delete(id);
    }
    this.settle(exit);
  }

  private control(message: HostControl): void {
    if (this.done) return;
    try {
      this.nc.publish(
        capsuleSubject(this.worker, this.job, "to_worker", "ctl"),
        encodeJson(message),
      );
    } catch {
      // A closed connection: the silence check ends the capsule.
    }
  }

  stderrTail(): string {
    return this.stderr.value;
  }

  lines(maxLineBytes: number): AsyncGenerator<StdoutItem> {
    return protocolLines(this.stdout, maxLineBytes, (n) => this.bytesRead += n);
  }

  send(message: HostMessage): Promise<boolean> {
    if (!this.stdinOpen || this.done) return Promise.resolve(false);
    const bytes = new TextEncoder().encode(encodeHostMessage(message));
    const subject = capsuleSubject(this.worker, this.job, "to_worker", "in");
    try {
      for (const piece of chunked(bytes)) this.nc.publish(subject, piece);
      return Promise.resolve(true);
    } catch {
      return Promise.resolve(false);
    }
  }

  kill(reason: string): void {
    if (this.killed) return;
    this.killed = reason;
    this.stdinOpen = false;
    this.control({ t: "kill", reason });
    // Gone for the host at once: a worker that keeps the capsule, or never reports its
    // exit, holds nothing here.
    this.end({ success: false, code: 137, signal: "SIGKILL" });
  }

  async finish(graceMs = 2000): Promise<CapsuleExit> {
    this.stdinOpen = false;
    this.control({ t: "close_stdin" });
    const timer = setTimeout(() => this.kill("did not exit after its final answer"), graceMs);
    // A worker that does not report the exit is not waited on for ever either.
    const hard = setTimeout(
      () => this.end({ success: false, code: -1, signal: null }),
      graceMs + SILENCE_MS,
    );
    try {
      return await this.status;
    } finally {
      clearTimeout(timer);
      clearTimeout(hard);
    }
  }

  /** Runs an exec tool's program on the worker; a cancel asks the worker to stop it. */
  runProgram(
    tool: string,
    args: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<HostToolOutcome> {
    const id = `p${++this.programIds}`;
    if (this.done) {
      return Promise.resolve({
        ok: false,
        result: {},
        error: `the capsule on worker '${this.worker}' has ended`,
        ms: 0,
      });
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => this.control({ t: "cancel_program", id });
      signal.addEventListener("abort", onAbort, { once: true });
      this.programs.set(id, {
        resolve: (outcome) => {
          signal.removeEventListener("abort", onAbort);
          resolve(outcome);
        },
        reject: (error) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        },
      });
      this.control({ t: "run_program", id, tool, args });
    });
  }
}
