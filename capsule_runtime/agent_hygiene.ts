/**
 * Keeping the agent registry tidy: pruning agents nobody uses (or that never
 * succeeded) and merging a near-twin into the agent that should stay. Both
 * are audited (`agents_pruned`, `agents_merged`) and never touch an agent a
 * running run uses. The CLI's `agents prune` / `agents merge` and the
 * dashboard call these.
 */
import { join } from "node:path";
import { ClosedClawError } from "../core/errors.ts";
import { assertAgentId } from "../core/ids.ts";
import { AgentHygieneRepo, type Store } from "../store/mod.ts";
import { MemoryStore } from "../store/memory.ts";
import { capsuleDir, readManifest, syncRegistryIndex, writeManifest } from "./factory.ts";
import { deleteAgent } from "./registry.ts";

/** Agents unused this many days are pruned by default. */
export const DEFAULT_UNUSED_DAYS = 30;

/** One agent prune would remove, and why. */
export interface PruneItem {
  agent_id: string;
  description: string;
  reason: string;
}

/** What prune would do: the agents it removes and those it keeps because a run uses them. */
export interface PrunePlan {
  remove: PruneItem[];
  kept_in_use: string[];
}

/**
 * The agents to prune: not used for `unusedDays` days, or used at least twice
 * without ever succeeding. Built-in agents (tag `builtin`) and agents a
 * running run uses are kept.
 */
export function planPrune(
  store: Store,
  options: { unusedDays?: number; now?: number } = {},
): PrunePlan {
  const days = options.unusedDays ?? DEFAULT_UNUSED_DAYS;
  const cutoff = new Date((options.now ?? Date.now()) - days * 86_400_000).toISOString();
  const repo = new AgentHygieneRepo(store.db);
  const inUse = repo.inUseByRunningRuns();
  const remove: PruneItem[] = [];
  const kept: string[] = [];
  for (const row of repo.staleAgents(cutoff)) {
    if (row.tags.includes("builtin")) continue;
    if (inUse.has(row.agent_id)) {
      kept.push(row.agent_id);
      continue;
    }
    const failing = row.usage_count >= 2 && row.success_count === 0;
    remove.push({
      agent_id: row.agent_id,
      description: row.description,
      reason: failing
        ? `never succeeded in ${row.usage_count} uses`
        : row.usage_count === 0
        ? `never used since ${row.last_active_at.slice(0, 10)}`
        : `unused since ${row.last_active_at.slice(0, 10)}`,
    });
  }
  return { remove, kept_in_use: kept };
}

/**
 * Deletes the agents of `plan` (rows and capsule folders), re-checking that
 * no running run took one up meanwhile, and records one `agents_pruned`
 * audit event. Returns the ids deleted.
 */
export function pruneAgents(
  agentsDir: string,
  store: Store,
  plan: PrunePlan,
  meta: { unusedDays: number; operator?: string },
): string[] {
  const inUse = new AgentHygieneRepo(store.db).inUseByRunningRuns();
  const deleted: string[] = [];
  for (const item of plan.remove) {
    if (inUse.has(item.agent_id)) continue;
    if (deleteAgent(agentsDir, store, item.agent_id).deleted) deleted.push(item.agent_id);
  }
  store.audit.record("agents_pruned", {
    unused_days: meta.unusedDays,
    operator: meta.operator ?? "cli",
    deleted,
    reasons: Object.fromEntries(
      plan.remove.filter((i) => deleted.includes(i.agent_id)).map((i) => [i.agent_id, i.reason]),
    ),
  });
  return deleted;
}

/** What merging did. */
export interface MergeResult {
  into: string;
  from: string;
  usage_count: number;
  memories_moved: number;
}

/**
 * Folds agent `from` into agent `into`: its uses and successes count for
 * `into`, its memories are copied into `into`'s memory, and `from` is
 * disabled (kept on disk, never routed to again). Audited as `agents_merged`.
 */
export function mergeAgents(
  agentsDir: string,
  store: Store,
  into: string,
  from: string,
  operator = "cli",
): MergeResult {
  assertAgentId(into);
  assertAgentId(from);
  if (into === from) {
    throw new ClosedClawError("merge_same_agent", `Cannot merge ${into} into itself.`, {
      exitCode: 2,
    });
  }
  for (const id of [into, from]) {
    if (!store.agents.get(id)) {
      throw new ClosedClawError("agent_not_found", `No agent named ${id}.`, {
        hint: "List agents with `closed-claw agents`.",
      });
    }
  }
  if (new AgentHygieneRepo(store.db).inUseByRunningRuns().has(from)) {
    throw new ClosedClawError("agent_in_use", `${from} is used by a running run; not merged.`, {
      hint: "Merge it once the run has finished.",
    });
  }
  const moved = copyMemories(agentsDir, from, into);
  new AgentHygieneRepo(store.db).foldUsage(into, from);
  const manifest = readManifest(agentsDir, from);
  if (manifest) writeManifest(agentsDir, { ...manifest, status: "disabled" });
  syncRegistryIndex(agentsDir);
  const usage = store.agents.get(into)!.usage_count;
  store.audit.record("agents_merged", {
    into,
    from,
    operator,
    usage_count: usage,
    memories_moved: moved,
  }, { agentId: into });
  return { into, from, usage_count: usage, memories_moved: moved };
}

/** Copies every memory of `from` into `into`'s memory.db; the number copied. */
function copyMemories(agentsDir: string, from: string, into: string): number {
  const source = join(capsuleDir(agentsDir, from), "memory.db");
  try {
    Deno.statSync(source);
  } catch {
    return 0;
  }
  const target = join(capsuleDir(agentsDir, into), "memory.db");
  const src = MemoryStore.open(source);
  try {
    const entries = src.all();
    if (entries.length === 0) return 0;
    const dst = MemoryStore.open(target);
    try {
      dst.addMany(entries.map((e) => ({
        content: e.content,
        kind: e.kind,
        sessionId: e.session_id,
        runId: e.run_id,
        embedding: e.embedding,
      })));
    } finally {
      dst.close();
    }
    return entries.length;
  } finally {
    src.close();
  }
}
