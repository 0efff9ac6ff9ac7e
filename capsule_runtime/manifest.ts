/**
 * The capsule manifest: the seed's fields plus `permissions`, which the
 * launcher turns into Deno flags and the tool policies enforce.
 */
import { z } from "zod";

export const MANIFEST_VERSION = "1.5";

export const TOOL_NAMES = [
  "terminal",
  "http_api",
  "web_fetch",
  "file_io",
  "python_exec",
  "sql_query",
] as const;
export type ToolName = typeof TOOL_NAMES[number];

const stringList = z.array(z.string()).default([]);

export const PermissionsSchema = z.object({
  /** Folders file_io may read: relative to the workspace, or absolute. */
  read_roots: z.array(z.string()).default(["."]),
  /** Folders file_io may write (only when `file_write` is true). */
  write_roots: z.array(z.string()).default([]),
  /** Hosts http_api and web_fetch may reach; empty means any public host. */
  network_hosts: stringList,
  /** Whether file_io may write, append or create files. */
  file_write: z.boolean().default(false),
  /** SQLite files sql_query may open read-only (relative to the workspace, or absolute). */
  sql_paths: stringList,
}).strict();
export type Permissions = z.infer<typeof PermissionsSchema>;

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
export type Manifest = z.infer<typeof ManifestSchema>;
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
