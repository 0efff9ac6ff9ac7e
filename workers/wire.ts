/**
 * What coordinators and workers say to each other over NATS: the stream and
 * subject names, the launch job, and the small control messages either side
 * sends about one capsule. Every message that arrives is parsed here with a
 * schema; anything else is dropped. The capsule's own protocol lines travel
 * as raw bytes and are validated by the coordinator exactly like local ones.
 *
 * Subjects (see docs/scale-out.md for the permissions built on them):
 * - `closed_claw.jobs`: launch jobs, kept in the work-queue stream
 *   `CLOSED_CLAW_JOBS` and taken by the shared pull consumer `closed_claw_workers`;
 * - `closed_claw.cap.<worker>.<job>.to_host.{out,ev}`: a worker's capsule
 *   stdout (raw) and events, published only under the worker's own name;
 * - `closed_claw.cap.<worker>.<job>.to_worker.{in,ctl}`: the host's messages
 *   for the capsule's stdin (raw) and control;
 * - `closed_claw.workers.ping`: any client asks, every live worker answers.
 */
import { z } from "zod";

export const WIRE_VERSION = 1;
export const JOB_STREAM = "CLOSED_CLAW_JOBS";
export const JOB_SUBJECT = "closed_claw.jobs";
export const JOB_CONSUMER = "closed_claw_workers";
export const PING_SUBJECT = "closed_claw.workers.ping";

/** Heartbeats both ways; a side silent for `SILENCE_MS` is taken as gone. */
export const HEARTBEAT_MS = 1_000;
export const SILENCE_MS = 5_000;
/** A job a worker took but did not accept is delivered again after this. */
export const JOB_ACK_WAIT_MS = 10_000;
/** The most bytes one NATS message carries here (servers allow 1 MiB by default). */
export const MAX_CHUNK_BYTES = 256 * 1024;

/** A worker's name: one subject token (no dots, spaces or wildcards). */
export const WORKER_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const JOB_ID = /^[A-Za-z0-9-]{8,64}$/;

export function capsuleSubject(
  worker: string,
  job: string,
  way: "to_host" | "to_worker",
  kind: "out" | "ev" | "in" | "ctl" | "*",
): string {
  return `closed_claw.cap.${worker}.${job}.${way}.${kind}`;
}

/** Everything a worker hears about one job's capsules, from any worker (the host pins one). */
export function hostInbox(job: string): string {
  return `closed_claw.cap.*.${job}.to_host.>`;
}

/** What a worker reads from a subject of `hostInbox`: the worker's name and the kind. */
export function parseHostSubject(subject: string): { worker: string; kind: string } | null {
  const parts = subject.split(".");
  if (parts.length !== 6 || parts[0] !== "closed_claw" || parts[1] !== "cap") return null;
  return { worker: parts[2], kind: parts[5] };
}

/** A launch job: only what the capsule needs. Keys and the store never leave the coordinator. */
export const JobSchema = z.object({
  wire: z.literal(WIRE_VERSION),
  /** The capsule protocol version the coordinator speaks (the worker's guest must match). */
  protocol: z.number().int(),
  job_id: z.string().regex(JOB_ID),
  run_id: z.string().max(200).optional(),
  attempt: z.number().int().min(1),
  /** Validated again by the worker with the manifest schema. */
  manifest: z.record(z.string(), z.unknown()),
  workspace: z.string().min(1).max(4096),
  allowed_roots: z.array(z.string().min(1).max(4096)).max(64),
  /** The coordinator's paid-API hosts: programs' connections to them are asked about there. */
  paid_api_providers: z.array(z.string().max(300)).max(200).default([]),
  /** Epoch ms after which nobody waits for this job any more: a worker drops it. */
  deadline: z.number(),
});
export type Job = z.infer<typeof JobSchema>;

const RefusedTool = z.object({ tool: z.string(), reason: z.string() });

/** What the worker tells the coordinator about one capsule. */
export const WorkerEventSchema = z.discriminatedUnion("t", [
  z.object({
    t: z.literal("accepted"),
    pid: z.number().int(),
    sandbox: z.enum(["bwrap", "deno-only"]),
    deno_flags: z.array(z.string()),
    tools: z.array(z.string()),
    refused_tools: z.array(RefusedTool),
    denied_paths: z.array(z.string()),
    warnings: z.array(z.string()),
  }),
  z.object({ t: z.literal("rejected"), reason: z.string().max(4000) }),
  z.object({ t: z.literal("hb") }),
  z.object({ t: z.literal("stderr"), line: z.string().max(4000) }),
  z.object({
    t: z.literal("exit"),
    code: z.number().int(),
    signal: z.string().nullable(),
  }),
  /** A program's connection to a paid-API host waits for the coordinator's approval. */
  z.object({
    t: z.literal("approve"),
    id: z.string().max(100),
    provider: z.string().max(300),
    endpoint: z.string().max(2000),
    host: z.string().max(300),
  }),
  /** One connection of the capsule's programs through the worker's egress proxy. */
  z.object({
    t: z.literal("egress"),
    record: z.object({
      method: z.string().max(20),
      host: z.string().max(300),
      port: z.number().int(),
      allowed: z.boolean(),
      reason: z.string().max(2000),
      address: z.string().max(100),
      bytes_up: z.number(),
      bytes_down: z.number(),
      ms: z.number(),
    }),
  }),
  z.object({
    t: z.literal("program_result"),
    id: z.string().max(100),
    outcome: z.object({
      ok: z.boolean(),
      result: z.record(z.string(), z.unknown()),
      error: z.string(),
      ms: z.number(),
      error_code: z.string().optional(),
    }).passthrough(),
  }),
]);
export type WorkerEvent = z.infer<typeof WorkerEventSchema>;

/** What the coordinator tells the worker about one capsule. */
export const HostControlSchema = z.discriminatedUnion("t", [
  z.object({ t: z.literal("hb") }),
  z.object({ t: z.literal("kill"), reason: z.string().max(2000) }),
  z.object({ t: z.literal("close_stdin") }),
  z.object({
    t: z.literal("run_program"),
    id: z.string().max(100),
    tool: z.string().max(100),
    args: z.record(z.string(), z.unknown()),
  }),
  z.object({ t: z.literal("cancel_program"), id: z.string().max(100) }),
  z.object({
    t: z.literal("approve_answer"),
    id: z.string().max(100),
    approved: z.boolean(),
    note: z.string().max(2000),
  }),
]);
export type HostControl = z.infer<typeof HostControlSchema>;

/** A live worker, as it answers a ping. */
export const WorkerInfoSchema = z.object({
  name: z.string(),
  host: z.string(),
  /** Sandbox layers capsules get there: "bwrap" (bubblewrap and Deno) or "deno-only". */
  sandbox: z.enum(["bwrap", "deno-only"]),
  max_capsules: z.number().int(),
  running: z.number().int(),
  workspace_roots: z.array(z.string()),
  version: z.string(),
  started_at: z.string(),
});
export type WorkerInfo = z.infer<typeof WorkerInfoSchema>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Parses a message's JSON with `schema`; null for anything malformed. */
export function decodeJson<T>(schema: z.ZodType<T>, data: Uint8Array): T | null {
  try {
    const parsed = schema.safeParse(JSON.parse(decoder.decode(data)));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Splits bytes into NATS-sized pieces, in order. */
export function chunked(bytes: Uint8Array): Uint8Array[] {
  if (bytes.length <= MAX_CHUNK_BYTES) return [bytes];
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += MAX_CHUNK_BYTES) {
    out.push(bytes.subarray(i, i + MAX_CHUNK_BYTES));
  }
  return out;
}
