/**
 * The agent registry as users see it: database rows and capsule folders kept
 * together. Used by the CLI, the dashboard and the coordinator.
 */
import { join } from "node:path";
import { assertAgentId } from "../core/ids.ts";
import type { Store } from "../store/mod.ts";
import { MemoryStore } from "../store/memory.ts";
import {
  capsuleDir,
  deleteCapsule,
  listCapsules,
  readManifest,
  readSkill,
  syncRegistryIndex,
} from "./factory.ts";
import { type Manifest, ManifestSchema } from "./manifest.ts";

export interface AgentDetail {
  manifest: Manifest;
  skill_md: string;
  memory_entries: number;
}

/**
 * An agent's manifest (with the database's live metrics over the file's
 * creation-time ones), skill.md and memory count; null when unknown.
 */
export function agentDetail(agentsDir: string, store: Store, agentId: string): AgentDetail | null {
  assertAgentId(agentId);
  const manifest = readManifest(agentsDir, agentId);
  const row = store.agents.get(agentId);
  if (!manifest && !row) return null;
  // A row without its capsule folder (deleted by hand) still shows what the DB knows.
  const base = manifest ?? ManifestSchema.parse({
    agent_id: row!.agent_id,
    name: row!.name,
    description: row!.description,
    embedding_model: row!.embedding_model,
    tools_allowlist: row!.tools_allowlist,
    tags: row!.tags,
    api_capabilities: row!.api_capabilities,
    requires_approval_for: row!.requires_approval_for,
    skill_ids: row!.skill_ids,
    permissions: row!.permissions,
    version: row!.version,
    created_at: row!.created_at,
  });
  const live = row
    ? {
      last_used_at: row.last_used_at,
      usage_count: row.usage_count,
      success_count: row.success_count,
      failure_count: row.failure_count,
      success_rate: row.success_rate,
      avg_latency_ms: row.avg_latency_ms,
      status: row.status as Manifest["status"],
      fitness_score: row.fitness_score,
    }
    : {};
  return {
    manifest: { ...base, ...live },
    skill_md: readSkill(agentsDir, agentId),
    memory_entries: countMemories(join(capsuleDir(agentsDir, agentId), "memory.db")),
  };
}

function countMemories(path: string): number {
  try {
    Deno.statSync(path);
  } catch {
    return 0;
  }
  const memory = MemoryStore.open(path);
  try {
    return memory.count();
  } finally {
    memory.close();
  }
}

export interface DeleteResult {
  deleted: boolean;
  agent_id: string;
  reason?: string;
}

/** Deletes an agent's rows and its capsule folder, then rebuilds registry.json. */
export function deleteAgent(agentsDir: string, store: Store, agentId: string): DeleteResult {
  assertAgentId(agentId);
  const inDb = store.agents.delete(agentId);
  const onDisk = deleteCapsule(agentsDir, agentId);
  syncRegistryIndex(agentsDir);
  return inDb || onDisk
    ? { deleted: true, agent_id: agentId }
    : { deleted: false, agent_id: agentId, reason: "not found in registry" };
}

/** Deletes every agent (rows and capsule folders), except `keep`. */
export function deleteAllAgents(
  agentsDir: string,
  store: Store,
  keep: ReadonlySet<string> = new Set(),
): { deleted_count: number; agent_ids: string[] } {
  const ids = new Set([
    ...store.agents.list(1_000_000).map((a) => a.agent_id),
    ...listCapsules(agentsDir).manifests.map((m) => m.agent_id),
  ]);
  const deleted: string[] = [];
  for (const id of [...ids].sort()) {
    if (keep.has(id)) continue;
    store.agents.delete(id);
    deleteCapsule(agentsDir, id);
    deleted.push(id);
  }
  syncRegistryIndex(agentsDir);
  return { deleted_count: deleted.length, agent_ids: deleted };
}
