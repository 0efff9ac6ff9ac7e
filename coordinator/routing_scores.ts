/**
 * How routing scores agents for a subtask: the weighted score, whether an
 * agent's tools, writes and hosts fit, which candidate wins and when the
 * semantic scores already decide, and the model's rerank when they do not.
 */
import { z } from "zod";
import { isFatalLlmError } from "./planner.ts";
import { hostsCovered } from "./network_hosts.ts";
import type { ToolName } from "../capsule_runtime/manifest.ts";
import type { RunContext } from "./context.ts";
import type { Subtask } from "./types.ts";

/** Whether an agent has had its chances: at least 2 uses and fewer than half succeeded. */
export function provenFailing(agent: { usage_count: number; success_rate: number }): boolean {
  return agent.usage_count >= 2 && agent.success_rate < 0.5;
}

export interface Candidate {
  agent_id: string;
  description: string;
  semantic_score: number;
  /** Reranked score in 0..1 (the semantic score when the reranker failed or was not asked). */
  score: number;
  usage_count: number;
  success_rate: number;
  tools: string[];
  /** Whether the agent may write files. */
  file_write: boolean;
  /** Hosts its programs and network tools may reach (`permissions.network_hosts`). */
  network_hosts: string[];
  /** Catalogue MCP servers it is granted (`permissions.mcp_servers`). */
  mcp_servers?: string[];
  status: string;
}

/** Candidate weighting: success rate counts only after 2 uses (0.5 before). */
export function effectiveScore(c: Pick<Candidate, "score" | "usage_count" | "success_rate">) {
  const sr = c.usage_count >= 2 ? c.success_rate : 0.5;
  return c.score * (0.3 + 0.7 * sr);
}

/** What a subtask needs of an agent. */
export interface AgentNeed {
  tools: readonly ToolName[];
  writes_files: boolean;
  /** Every host must be covered by the agent's hosts (absent: none needed). */
  network_hosts?: readonly string[];
  /** Every MCP server must be granted to the agent (absent: none needed). */
  mcp_servers?: readonly string[];
}

/**
 * Whether an agent's tools, write permission, network hosts and MCP servers
 * cover what the subtask needs, within what the run allows.
 */
export function toolsFit(
  agent: {
    tools: readonly string[];
    file_write: boolean;
    network_hosts?: readonly string[];
    mcp_servers?: readonly string[];
  },
  need: AgentNeed,
  allowed: readonly ToolName[],
): boolean {
  return need.tools.every((t) => agent.tools.includes(t) && allowed.includes(t)) &&
    (!need.writes_files || agent.file_write) &&
    hostsCovered(agent.network_hosts ?? [], need.network_hosts ?? []) &&
    (need.mcp_servers ?? []).every((s) => agent.mcp_servers?.includes(s));
}

/**
 * The candidate to reuse, or the best poor match (named to the create gate).
 *
 * The gate is the match itself: a candidate is reused when its score (the
 * reranker's, or the semantic one) reaches the threshold, its tools fit and
 * it has not proven itself failing (≥ 2 uses, under half succeeded). Among
 * those, the highest effective score (success-weighted) wins. Weighting the
 * gate too would hold an unproven agent (success rate taken as 0.5) to a
 * semantic score of 0.954, so every run would create a twin of the last.
 */
export function chooseCandidate(
  candidates: readonly Candidate[],
  need: AgentNeed,
  allowed: readonly ToolName[],
  threshold: number,
): { best: Candidate | null; effective: number; reuse: boolean } {
  let best: Candidate | null = null;
  let bestScore = -Infinity;
  let pick: Candidate | null = null;
  let pickScore = -Infinity;
  for (const c of candidates) {
    if (c.status !== "active" || !toolsFit(c, need, allowed)) continue;
    const e = effectiveScore(c);
    if (e > bestScore) (best = c, bestScore = e);
    if (c.score >= threshold && !provenFailing(c) && e > pickScore) (pick = c, pickScore = e);
  }
  if (pick) return { best: pick, effective: pickScore, reuse: true };
  return { best, effective: best ? bestScore : 0, reuse: false };
}

/**
 * How far (in effective score, 0..1) the best fitting candidate must lead the
 * next fitting one for the reranker to be skipped. A tenth of the score
 * range: candidates closer than that are near-duplicates to the embedding,
 * the case the reranker is there to tell apart, while a reranker that is
 * shown the semantic scores rarely reverses an order wider than that.
 */
export const CLEAR_WIN_MARGIN = 0.1;

/** Why the reranker was not asked (the routing decision's `rerank_method`). */
export type RerankSkip = "semantic_clear_winner" | "semantic_no_fit";

/**
 * Whether the semantic scores already decide, so routing needs no rerank call
 * (null: ask the reranker). Only candidates that could be chosen count: active,
 * with tools that fit (`chooseCandidate`'s rule).
 *
 * - `semantic_no_fit`: no such candidate's semantic score reaches the reuse
 *   threshold. The weighted score is at most the score, so reuse would need
 *   the reranker to rate an agent above what its embedding says: a new agent
 *   is created, behind the create gate as ever (which still offers the best
 *   poor match instead).
 * - `semantic_clear_winner`: the best one's weighted score on its semantic
 *   score clears the threshold by itself and leads the next fitting one by at
 *   least `CLEAR_WIN_MARGIN`: it is reused. (A rerank could only have vetoed
 *   a match the embedding rates highly; that is given up for the round trip.)
 *
 * Anything between (a match above the threshold that its weighting pulls
 * under it, or two close matches) goes to the reranker.
 */
export function rerankSkip(
  candidates: readonly Candidate[],
  need: AgentNeed,
  allowed: readonly ToolName[],
  threshold: number,
): RerankSkip | null {
  const fitting = candidates.filter((c) => c.status === "active" && toolsFit(c, need, allowed));
  if (fitting.every((c) => c.semantic_score < threshold)) return "semantic_no_fit";
  const [top, next = 0] = fitting.map((c) => effectiveScore({ ...c, score: c.semantic_score }))
    .sort((a, b) => b - a);
  if (top >= threshold && top - next >= CLEAR_WIN_MARGIN) return "semantic_clear_winner";
  return null;
}

const RerankSchema = z.object({
  rankings: z.array(z.object({ agent_id: z.string(), score: z.number(), reason: z.string() })),
});

/**
 * Reranks candidates with the model. Unknown ids are dropped, missing ones
 * keep their semantic score, scores are clamped to 0..1. On failure the
 * semantic scores stand (reason `llm_fallback:semantic_score`).
 */
export async function rerank(
  ctx: RunContext,
  subtask: Subtask,
  candidates: Candidate[],
): Promise<{ candidates: Candidate[]; method: string }> {
  if (candidates.length === 0) return { candidates, method: "none" };
  try {
    const { value } = await ctx.llm.structured(RerankSchema, {
      messages: [
        {
          role: "system",
          content:
            'You are selecting the best specialist agent for a subtask. Return JSON only {"rankings":[{"agent_id","score","reason"}]}, scores 0..1 sorted descending.',
        },
        {
          role: "user",
          content: `Task: ${subtask.title}\n${subtask.description}\n\nCandidates: ${
            JSON.stringify(candidates.map((c, i) => ({
              agent_id: handle(i),
              semantic_score: round(c.semantic_score),
              description: c.description,
              tools: c.tools,
            })))
          }`,
        },
      ],
      schemaName: "agent_rerank",
      maxTokens: 800,
      temperature: 0,
      signal: ctx.signal,
    }, { runId: ctx.state.run_id, taskId: subtask.task_id, purpose: "rerank" });
    const scores = new Map<string, number>();
    for (const r of value.rankings) {
      const index = candidates.findIndex((c, i) =>
        handle(i) === r.agent_id || c.agent_id === r.agent_id
      );
      if (index >= 0 && Number.isFinite(r.score)) {
        scores.set(candidates[index].agent_id, Math.min(1, Math.max(0, r.score)));
      }
    }
    return {
      candidates: candidates.map((c) => ({ ...c, score: scores.get(c.agent_id) ?? c.score })),
      method: "llm",
    };
  } catch (error) {
    if (isFatalLlmError(error)) throw error;
    return { candidates, method: "llm_fallback:semantic_score" };
  }
}

/**
 * Candidates are shown to the reranker as `c1`, `c2`, ...: short, free of
 * random agent ids, so the prompt is the same for the same registry shape
 * (recorded cassettes replay) and ids never leak into prompts.
 */
function handle(index: number): string {
  return `c${index + 1}`;
}

export function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
