/**
 * What the registry stores about an agent, described here so the store does
 * not depend on the capsule runtime: a capsule's manifest has (at least) these
 * fields, so it can be written as it is.
 */

/** What an agent may touch, as stored in `agents.permissions_json`. */
export interface AgentPermissions {
  /** Folders file_io may read: relative to the workspace, or absolute. */
  read_roots: string[];
  /** Folders file_io may write (only when `file_write` is true). */
  write_roots: string[];
  /** Hosts http_api and web_fetch may reach; empty means any public host. */
  network_hosts: string[];
  /** Whether file_io may write, append or create files. */
  file_write: boolean;
  /** SQLite files sql_query may open read-only (relative to the workspace, or absolute). */
  sql_paths: string[];
  /** Catalogue MCP servers whose tools the agent may call (`closed-claw mcp list`). */
  mcp_servers?: string[];
}

/** An agent as written to the `agents` table (a capsule manifest is one). */
export interface AgentRecord {
  /** Its capsule folder's name. */
  agent_id: string;
  /** Display name. */
  name: string;
  /** What it does; routing matches subtasks against it. */
  description: string;
  /** The embedder of its vector. */
  embedding_model: string;
  /** Its embedding; only the length is kept here (the vector itself lives in `agent_vectors`). */
  embedding_vector: ArrayLike<number>;
  /** Tools it may call. */
  tools_allowlist: readonly string[];
  /** Free-form labels. */
  tags: readonly string[];
  /** Paid or external APIs it is known to call. */
  api_capabilities: readonly string[];
  /** Tools or actions that always need approval. */
  requires_approval_for: readonly string[];
  /** Skills (layer 1) in its prompt. */
  skill_ids: readonly string[];
  /** What it may touch. */
  permissions: AgentPermissions;
  /** Manifest format version. */
  version: string;
  /** ISO time of creation. */
  created_at: string;
  /** ISO time of its last subtask, or null. */
  last_used_at: string | null;
  /** Subtasks run. */
  usage_count: number;
  /** Subtasks that succeeded. */
  success_count: number;
  /** Subtasks that failed. */
  failure_count: number;
  /** success_count / usage_count, 0..1. */
  success_rate: number;
  /** Mean subtask latency in ms, or null. */
  avg_latency_ms: number | null;
  /** `active`, `degraded` or `disabled`. */
  status: string;
  /** Evolution: its traits (JSON). */
  genome_json: string;
  /** Evolution: the agents it was derived from (JSON). */
  lineage_json: string;
  /** Evolution: how well it does, higher is better. */
  fitness_score: number;
}
