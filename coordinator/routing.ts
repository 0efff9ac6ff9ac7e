/**
 * Routing a subtask to an agent: embed the subtask, take the top-k from the
 * vector index, let the model rerank them (semantic order when it cannot)
 * unless the semantic scores already decide (`rerankSkip`), and reuse the
 * one whose tools fit and whose score clears the threshold, ranked by
 * score·(0.3+0.7·success_rate) (an agent that failed most of its ≥ 2 uses is
 * not reused). Otherwise generate a profile; when an existing agent's
 * description is near-identical to it, use that agent instead of creating a
 * twin (twin_agents.ts); else create a capsule from the profile. Either way
 * an agent whose grant is risky (programs, writes, network, paid APIs) is
 * asked about first (coordinator/approval_risk.ts has the rule).
 */
import { readManifest } from "../capsule_runtime/factory.ts";
import { registerCapsule } from "../capsule_runtime/register.ts";
import type { Manifest } from "../capsule_runtime/manifest.ts";
import { evolveGenome, lineageTags, withWorkingStyle } from "./evolution.ts";
import {
  type AgentProfile,
  generateProfile,
  type McpServerChoice,
  mcpServerChoices,
} from "./profile.ts";
import { findTwin } from "./twin_agents.ts";
import { approvalTimeoutSec, type RuleOffer } from "./approvals.ts";
import {
  type AgentGrant,
  type ApprovalQuestion,
  createQuestion,
  grantOf,
  needsApproval,
  reuseQuestion,
  riskPhrase,
  risksOf,
} from "./approval_risk.ts";
import type { RunContext } from "./context.ts";
import type { Subtask } from "./types.ts";
import {
  type AgentNeed,
  type Candidate,
  chooseCandidate,
  effectiveScore,
  rerank,
  rerankSkip,
  round,
  toolsFit,
} from "./routing_scores.ts";

export {
  type AgentNeed,
  type Candidate,
  chooseCandidate,
  CLEAR_WIN_MARGIN,
  effectiveScore,
  type RerankSkip,
  rerankSkip,
  toolsFit,
} from "./routing_scores.ts";

const TOP_K = 5;

function findCandidates(ctx: RunContext, vector: Float32Array): Candidate[] {
  return ctx.index.search(vector, TOP_K).flatMap((hit) => {
    const row = ctx.store.agents.get(hit.agentId);
    const manifest = readManifest(ctx.settings.agentsDir, hit.agentId);
    if (!row || !manifest) return [];
    const semantic = Math.max(0, hit.score);
    return [{
      agent_id: row.agent_id,
      description: row.description,
      semantic_score: semantic,
      score: semantic,
      usage_count: row.usage_count,
      success_rate: row.success_rate,
      tools: manifest.tools_allowlist,
      file_write: manifest.permissions.file_write,
      network_hosts: manifest.permissions.network_hosts,
      mcp_servers: manifest.permissions.mcp_servers ?? [],
      status: row.status,
    }];
  });
}

/** Whether an agent's manifest grants what the subtask needs, within the run's tools. */
function manifestFits(ctx: RunContext, manifest: Manifest, need: AgentNeed): boolean {
  return toolsFit(
    {
      tools: manifest.tools_allowlist,
      file_write: manifest.permissions.file_write,
      network_hosts: manifest.permissions.network_hosts,
      mcp_servers: manifest.permissions.mcp_servers ?? [],
    },
    need,
    ctx.toolsAllowed,
  );
}

export type Acquired = { manifest: Manifest; created: boolean } | { error: string };

/**
 * The agent for a subtask's role: the one this run already uses for the
 * role, or a reused or newly created one (which then serves the role).
 */
export function acquireAgent(ctx: RunContext, subtask: Subtask): Promise<Acquired> {
  const role = subtask.role_tag;
  const previous = ctx.roleLocks.get(role) ?? Promise.resolve();
  const next = previous.catch(() => {}).then(() => acquireUnlocked(ctx, subtask));
  ctx.roleLocks.set(role, next);
  return next;
}

/**
 * The agent routing will most likely give this subtask, worked out without
 * asking anyone or changing anything: the role's agent in this run, else the
 * reuse the semantic scores decide on their own (no rerank call). null when
 * only a model call, a new agent or a person could tell. Used to start a
 * capsule early (coordinator/prestart.ts); a wrong guess costs one process.
 */
export async function predictAgent(
  ctx: RunContext,
  subtask: Pick<Subtask, "role_tag" | "title" | "description" | "tools"> & AgentNeed,
): Promise<Manifest | null> {
  const { state, settings } = ctx;
  const fits = (manifest: Manifest | null) =>
    manifest && manifestFits(ctx, manifest, subtask) ? manifest : null;
  const mapped = state.role_agent_map[subtask.role_tag];
  if (mapped) return fits(readManifest(settings.agentsDir, mapped));
  const [vector] = await ctx.embedder.embed([`${subtask.title}\n${subtask.description}`]);
  const found = findCandidates(ctx, vector);
  const threshold = settings.lowConfidenceThreshold;
  if (!found.length || rerankSkip(found, subtask, ctx.toolsAllowed, threshold) === null) {
    return null;
  }
  const choice = chooseCandidate(found, subtask, ctx.toolsAllowed, threshold);
  return choice.reuse ? fits(readManifest(settings.agentsDir, choice.best!.agent_id)) : null;
}

async function acquireUnlocked(ctx: RunContext, subtask: Subtask): Promise<Acquired> {
  const { state, settings } = ctx;
  const mapped = state.role_agent_map[subtask.role_tag];
  if (mapped) {
    const manifest = readManifest(settings.agentsDir, mapped);
    if (manifest && manifestFits(ctx, manifest, subtask)) return { manifest, created: false };
  }
  const used = new Set(Object.values(state.role_agent_map)).size;
  if (used >= settings.maxAgentsPerRun) {
    ctx.log.emit("agent_creation_limit_reached", {
      task_id: subtask.task_id,
      role_tag: subtask.role_tag,
      max_agents_per_run: settings.maxAgentsPerRun,
    });
    return { error: `max_agents_per_run_exceeded (${settings.maxAgentsPerRun})` };
  }
  const [vector] = await ctx.embedder.embed([`${subtask.title}\n${subtask.description}`]);
  ctx.log.emit("task_embedded", { task_id: subtask.task_id, embedding_model: ctx.embedder.name });
  const found = findCandidates(ctx, vector);
  const skip = found.length
    ? rerankSkip(found, subtask, ctx.toolsAllowed, settings.lowConfidenceThreshold)
    : null;
  const ranked = skip ? { candidates: found, method: skip } : await rerank(ctx, subtask, found);
  const choice = chooseCandidate(
    ranked.candidates,
    subtask,
    ctx.toolsAllowed,
    settings.lowConfidenceThreshold,
  );
  ctx.log.emit("routing_decision", {
    task_id: subtask.task_id,
    role_tag: subtask.role_tag,
    rerank_method: ranked.method,
    candidates: ranked.candidates.map((c) => ({
      agent_id: c.agent_id,
      semantic_score: round(c.semantic_score),
      score: round(c.score),
      effective_score: round(effectiveScore(c)),
      tools_fit: toolsFit(c, subtask, ctx.toolsAllowed),
    })),
    chosen: choice.best?.agent_id ?? null,
    effective_score: round(choice.effective),
    threshold: settings.lowConfidenceThreshold,
    decision: choice.reuse ? "reuse" : "create",
  });
  if (choice.reuse) return await reuseGated(ctx, subtask, choice.best!.agent_id);
  const profile = await generateProfile(ctx.llm, {
    task: ctx.state.task,
    subtask,
    allowedTools: ctx.toolsAllowed,
    mcpServers: mcpChoices(ctx),
  }, { runId: ctx.state.run_id, signal: ctx.signal });
  for (const name of profile.dropped_mcp_servers ?? []) {
    ctx.log.emit("mcp_server_dropped", {
      task_id: subtask.task_id,
      server: name,
      reason:
        "not in the MCP server catalogue (closed-claw mcp list); only catalogue servers are granted",
    });
  }
  // Agents the reranker was asked about and scored under the threshold are not twins.
  const vetoed = new Set(
    ranked.method === "llm"
      ? ranked.candidates.filter((c) => c.score < settings.lowConfidenceThreshold).map((c) =>
        c.agent_id
      )
      : [],
  );
  const twin = await findTwin(ctx, subtask, profile.description, vetoed);
  if (twin) {
    ctx.log.emit("agent_twin_found", {
      task_id: subtask.task_id,
      role_tag: subtask.role_tag,
      agent_id: twin.agent_id,
      similarity: round(twin.similarity),
      profile_description: profile.description,
    });
    return await reuseGated(ctx, subtask, twin.agent_id);
  }
  const grant = grantOf({ tools: profile.tools_allowlist, permissions: profile.permissions });
  const risks = risksOf(grant, settings.paidApiProviders);
  if (
    settings.createApprovalRequired &&
    needsApproval(risks, settings.agentApprovalScope, "agent_create")
  ) {
    const question = createQuestion({
      title: subtask.title,
      role: subtask.role_tag,
      grant,
      risks,
      best: choice.best?.agent_id ?? null,
      effective: round(choice.effective),
      threshold: settings.lowConfidenceThreshold,
    });
    const approved = await askGate(ctx, subtask, "agent_create", question, grant, {
      top_candidate: choice.best?.agent_id ?? null,
      effective_score: round(choice.effective),
    });
    if (!approved && choice.best) return reuse(ctx, subtask, choice.best.agent_id);
    if (!approved) {
      const hosts = subtask.network_hosts ?? [];
      const what = hosts.length
        ? `reaching ${hosts.join(", ")}`
        : `that can ${riskPhrase(grant, risks)}`;
      return { error: `agent_create_denied: a new agent ${what} was not approved` };
    }
  }
  return create(ctx, subtask, profile);
}

/** Reuses an agent; one that is risky is asked about first when a person answers (interactive, web). */
async function reuseGated(ctx: RunContext, subtask: Subtask, agentId: string): Promise<Acquired> {
  const { settings, state } = ctx;
  const manifest = readManifest(settings.agentsDir, agentId);
  const mode = state.runtime_policies.create_approval_mode;
  if (manifest && settings.createApprovalRequired && (mode === "interactive" || mode === "web")) {
    const tools = manifest.tools_allowlist.filter((t) => ctx.toolsAllowed.includes(t));
    const grant = grantOf({ tools, permissions: manifest.permissions, limits: manifest.limits });
    const risks = risksOf(grant, settings.paidApiProviders);
    if (needsApproval(risks, settings.agentApprovalScope, "agent_reuse")) {
      const question = reuseQuestion({
        title: subtask.title,
        role: subtask.role_tag,
        agentId,
        grant,
        risks,
      });
      const approved = await askGate(ctx, subtask, "agent_reuse", question, grant, {
        agent_id: agentId,
      }, [{ kind: "agent_create", scope: "role", subject: subtask.role_tag, grant: { ...grant } }]);
      if (!approved) {
        return {
          error: `agent_reuse_denied: agent ${agentId} (${
            riskPhrase(grant, risks)
          }) was not approved`,
        };
      }
    }
  }
  return reuse(ctx, subtask, agentId);
}

/** Asks the create or reuse question with its grant and answers; records and logs the decision. */
async function askGate(
  ctx: RunContext,
  subtask: Subtask,
  kind: "agent_create" | "agent_reuse",
  question: ApprovalQuestion,
  grant: AgentGrant,
  extra: Record<string, unknown>,
  coveredBy?: RuleOffer[],
): Promise<boolean> {
  const { state, settings } = ctx;
  const hosts = grant.network_hosts;
  const mode = state.runtime_policies.create_approval_mode;
  const decision = await ctx.approvals.request({
    runId: state.run_id,
    kind,
    mode,
    request: {
      type: kind,
      task_id: subtask.task_id,
      title: subtask.title,
      role_tag: subtask.role_tag,
      ...extra,
      tools: grant.tools,
      network_hosts: hosts,
      grant,
      answers: question.answers,
    },
    summary: question.sentence,
    details: [
      ...question.grant,
      `yes: ${question.answers.approve}`,
      `no: ${question.answers.deny}`,
      ...(question.answers.always ? [`always: ${question.answers.always}`] : []),
    ],
    rule: kind === "agent_create"
      ? { kind, scope: "role", subject: subtask.role_tag, grant: { ...grant } }
      : { kind, scope: "agent", subject: String(extra.agent_id), grant: { ...grant } },
    coveredBy,
    timeoutSec: approvalTimeoutSec(settings, mode),
    signal: ctx.signal,
  });
  const verb = kind === "agent_create" ? "create agent" : `reuse ${extra.agent_id}`;
  state.approvals.push({
    approval_id: decision.approval_id,
    kind,
    approved: decision.approved,
    operator: decision.operator,
    note: decision.note,
    summary: `${verb} for ${subtask.role_tag}${
      hosts.length ? ` (hosts: ${hosts.join(", ")})` : ""
    }`,
    ...(decision.status === "timed_out" ? { timed_out: true } : {}),
    ...(decision.rule_id ? { rule_id: decision.rule_id } : {}),
  });
  ctx.log.emit(kind === "agent_create" ? "create_gate_decision" : "reuse_gate_decision", {
    task_id: subtask.task_id,
    approved: decision.approved,
    status: decision.status,
    note: decision.note,
    ...extra,
    network_hosts: hosts,
    ...(decision.rule_id ? { rule_id: decision.rule_id } : {}),
  });
  return decision.approved;
}

function reuse(ctx: RunContext, subtask: Subtask, agentId: string): Acquired {
  const manifest = readManifest(ctx.settings.agentsDir, agentId);
  if (!manifest) return { error: `agent_missing: ${agentId}` };
  ctx.state.role_agent_map[subtask.role_tag] = agentId;
  ctx.log.emit("agent_reused_for_role", {
    agent_id: agentId,
    role_tag: subtask.role_tag,
    task_id: subtask.task_id,
  });
  return { manifest, created: false };
}

async function create(ctx: RunContext, subtask: Subtask, profile: AgentProfile): Promise<Acquired> {
  // Role and profile tags make later agents of this kind find this one as an ancestor.
  const kinship = lineageTags(subtask.role_tag, profile.profile_id);
  const evolved = ctx.settings.evolutionEnabled
    ? evolveGenome(ctx.store.agents, {
      tags: kinship,
      tools: profile.tools_allowlist,
      rate: ctx.settings.evolutionMutationRate,
    })
    : null;
  const skillMd = evolved ? withWorkingStyle(profile.skill_md, evolved.genome) : profile.skill_md;
  const registry = { ...ctx, agentsDir: ctx.settings.agentsDir };
  const manifest = await registerCapsule(registry, {
    name: `${profile.name_prefix} ${crypto.randomUUID().slice(0, 4)}`,
    description: profile.description,
    tools_allowlist: profile.tools_allowlist,
    tags: [...new Set([...profile.tags, ...kinship])],
    skill_ids: profile.skill_ids,
    skill_md: skillMd,
    permissions: profile.permissions,
    genome_json: evolved ? JSON.stringify(evolved.genome) : undefined,
    lineage_json: evolved ? JSON.stringify(evolved.lineage) : undefined,
  }, `${profile.description}\n${subtask.title}`);
  ctx.state.role_agent_map[subtask.role_tag] = manifest.agent_id;
  ctx.state.created_agents.push({
    agent_id: manifest.agent_id,
    name: manifest.name,
    role_tag: subtask.role_tag,
  });
  ctx.log.emit("agent_created_for_role", {
    agent_id: manifest.agent_id,
    name: manifest.name,
    description: manifest.description,
    role_tag: subtask.role_tag,
    task_id: subtask.task_id,
    profile_id: profile.profile_id,
    profile_source: profile.source,
    tools_allowlist: manifest.tools_allowlist,
    permissions: manifest.permissions,
    skill_md_preview: skillMd.slice(0, 500),
    genome_hash: evolved?.genome_hash ?? null,
    generation: evolved?.lineage.generation ?? 0,
    parent_genome_hash: evolved?.lineage.parent_genome_hash ?? null,
    parent_agent_id: evolved?.parent_agent_id ?? null,
    mutations_applied: evolved?.lineage.mutations_applied ?? [],
  });
  return { manifest, created: true };
}

/** The user's MCP server catalogue as the profile step may grant it (unreadable: none). */
function mcpChoices(ctx: RunContext): McpServerChoice[] {
  return mcpServerChoices(ctx.settings.homeDir);
}
