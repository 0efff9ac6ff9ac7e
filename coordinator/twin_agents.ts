/**
 * Twin agents: before a new agent is registered, its generated profile's
 * description is compared with the descriptions of the agents that are there
 * already. When one is near-identical (cosine ≥ TWIN_SIMILARITY between the
 * two descriptions' embeddings), its tools fit the subtask and it has not
 * proven itself failing, that agent is used instead of creating a twin.
 * (Routing compares the subtask with each agent's vector first; a profile
 * says what the new agent *would be*, which is what a twin shares.)
 */
import { readManifest } from "../capsule_runtime/factory.ts";
import type { RunContext } from "./context.ts";
import { provenFailing, toolsFit } from "./routing_scores.ts";

export { provenFailing };
import type { Subtask } from "./types.ts";

/**
 * How alike two agents' descriptions must be to count as twins. The offline
 * embedder rates "Specialist for file-lister work" against "files-lister"
 * 0.98 and against "file-reader" 0.72: the first pair is one agent, the
 * second two.
 */
export const TWIN_SIMILARITY = 0.9;

/** How many nearest agents are compared. */
const TWIN_CANDIDATES = 5;

/** An existing agent that is a near-identical twin of a profile. */
export interface Twin {
  agent_id: string;
  description: string;
  similarity: number;
}

/** Cosine similarity of two vectors (0 when either is all zeros). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}

/**
 * The existing active agent whose description is near-identical to
 * `description` (a new profile's) and that can do `subtask`, or null.
 * Agents in `vetoed` (the reranker judged them wrong for this subtask) are
 * never chosen: the model's judgement of the agent outranks a likeness of words.
 */
export async function findTwin(
  ctx: RunContext,
  subtask: Subtask,
  description: string,
  vetoed: ReadonlySet<string> = new Set(),
): Promise<Twin | null> {
  const [query] = await ctx.embedder.embed([description]);
  const rows = ctx.index.search(query, TWIN_CANDIDATES).flatMap((hit) => {
    const row = ctx.store.agents.get(hit.agentId);
    const manifest = readManifest(ctx.settings.agentsDir, hit.agentId);
    if (!row || !manifest || row.status !== "active" || provenFailing(row)) return [];
    if (vetoed.has(row.agent_id)) return [];
    const agent = {
      tools: manifest.tools_allowlist,
      file_write: manifest.permissions.file_write,
      network_hosts: manifest.permissions.network_hosts,
      mcp_servers: manifest.permissions.mcp_servers ?? [],
    };
    return toolsFit(agent, subtask, ctx.toolsAllowed) ? [row] : [];
  });
  if (rows.length === 0) return null;
  const vectors = await ctx.embedder.embed(rows.map((r) => r.description));
  let best: Twin | null = null;
  rows.forEach((row, i) => {
    const similarity = cosine(query, vectors[i]);
    if (similarity >= TWIN_SIMILARITY && (!best || similarity > best.similarity)) {
      best = { agent_id: row.agent_id, description: row.description, similarity };
    }
  });
  return best;
}
