/**
 * The capsule manifest (`manifest.json`): identity, tools, usage
 * stats, genome and `permissions`, which the launcher turns into Deno flags
 * and the tool policies enforce.
 */
import { z } from "zod";
import { TOOL_NAME_LIST as TOOL_NAMES, type ToolName } from "../guest/tools/registry.ts";
import { DEFAULT_LIMITS, LIMIT_RANGES, type Limits } from "./limits.ts";
import type { AgentPermissions, AgentRecord } from "../store/agent_record.ts";

export const MANIFEST_VERSION = "1.5";

// The tool names come from the guest tool registry (zod-free, shared with the capsule).
export { TOOL_NAME_LIST as TOOL_NAMES, type ToolName } from "../guest/tools/registry.ts";

const stringList = z.array(z.string()).default([]);

export const PermissionsSchema = z.object({
  /** Folders file_io may read: relative to the workspace, or absolute. */
  read_roots: z.array(z.string()).default(["."]),
  /** Folders file_io may write (only when `file_write` is true). */
  write_roots: z.array(z.string()).default([]),
  /** Hosts the network tools may reach; empty means any public host. */
  network_hosts: stringList,
  /** Whether file_io may write, append or create files. */
  file_write: z.boolean().default(false),
  /** SQLite files sql_query may open read-only (relative to the workspace, or absolute). */
  sql_paths: stringList,
  /** Catalogue MCP servers whose tools the agent may call (`closed-claw mcp list`). */
  mcp_servers: z.array(z.string()).optional(),
}).strict();
/** What a capsule may touch; the launcher turns it into Deno flags (the registry stores the same). */
export type Permissions = AgentPermissions;

const limit = (name: keyof Limits) =>
  z.number().int().min(LIMIT_RANGES[name][0]).max(LIMIT_RANGES[name][1]).default(
    DEFAULT_LIMITS[name],
  );
/** Resource limits (see limits.ts); a missing field takes its default. */
export const LimitsSchema = z.object({
  memory_mb: limit("memory_mb"),
  guest_memory_mb: limit("guest_memory_mb"),
  processes: limit("processes"),
  cpu_seconds: limit("cpu_seconds"),
  file_size_mb: limit("file_size_mb"),
  open_files: limit("open_files"),
  bytes_written_mb: limit("bytes_written_mb"),
  egress_mb: limit("egress_mb"),
}).strict();
export type { Limits } from "./limits.ts";

export const ManifestSchema = z.object({
  agent_id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,95}$/, "lower-case letters, digits and dashes"),
  name: z.string().min(1).max(120),
  description: z.string().max(2000).default(""),
  embedding_model: z.string().default("hash-ngram-v1"),
  embedding_vector: z.array(z.number()).default([]),
  tools_allowlist: z.array(z.enum(TOOL_NAMES)).default([]),
  tags: stringList,
  api_capabilities: stringList,
  requires_approval_for: stringList,
  skill_ids: stringList,
  permissions: PermissionsSchema.default(PermissionsSchema.parse({})),
  limits: LimitsSchema.optional(),
  version: z.string().default(MANIFEST_VERSION),
  created_at: z.string(),
  last_used_at: z.string().nullable().default(null),
  usage_count: z.number().int().nonnegative().default(0),
  success_count: z.number().int().nonnegative().default(0),
  failure_count: z.number().int().nonnegative().default(0),
  success_rate: z.number().min(0).max(1).default(0),
  avg_latency_ms: z.number().nullable().default(null),
  status: z.enum(["active", "degraded", "disabled"]).default("active"),
  genome_json: z.string().default("{}"),
  lineage_json: z.string().default("{}"),
  fitness_score: z.number().default(0),
});
/**
 * A capsule's `manifest.json`: who the agent is, what it may do, and how it
 * has done. It is the registry's `AgentRecord` (store/agent_record.ts), with
 * narrower types where the schema is stricter, plus the optional `limits`.
 */
export interface Manifest extends AgentRecord {
  /** The description's embedding (unit length). */
  embedding_vector: number[];
  /** Tools the agent may call. */
  tools_allowlist: ToolName[];
  /** Free-form labels, e.g. the role it was created for. */
  tags: string[];
  /** Paid or external APIs the agent is known to call. */
  api_capabilities: string[];
  /** Tools or actions that always need a human approval. */
  requires_approval_for: string[];
  /** Skills (layer 1) included in the agent's prompt. */
  skill_ids: string[];
  /** Resource limits of the agent and its programs; absent: the defaults (`effectiveLimits`). */
  limits?: Limits;
  /** `active` agents are routed to; `degraded` and `disabled` ones are not. */
  status: "active" | "degraded" | "disabled";
}

/** True when A and B are the same type (each assignable to the other). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
// The interfaces above are the public, documented types; the schemas must parse to exactly them.
const _permissionsMatchSchema: Same<Permissions, z.infer<typeof PermissionsSchema>> = true;
const _limitsMatchSchema: Same<Limits, z.infer<typeof LimitsSchema>> = true;
const _manifestMatchesSchema: Same<Manifest, z.infer<typeof ManifestSchema>> = true;
export type ManifestInput = z.input<typeof ManifestSchema>;

/** Validates a manifest; throws a zod error listing every problem. */
export function parseManifest(value: unknown): Manifest {
  return ManifestSchema.parse(value);
}

/** The manifest without its embedding, as registry.json and the API show it. */
export function publicManifest(manifest: Manifest): Omit<Manifest, "embedding_vector"> {
  const { embedding_vector: _hidden, ...rest } = manifest;
  return rest;
}
