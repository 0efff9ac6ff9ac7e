/** Agent and skill routes. */
import { Hono } from "hono";
import { join } from "node:path";
import { z } from "zod";
import { assertAgentId } from "../../core/ids.ts";
import { agentDetail, deleteAgent, deleteAllAgents } from "../../capsule_runtime/registry.ts";
import { capsuleDir } from "../../capsule_runtime/factory.ts";
import { publicManifest } from "../../capsule_runtime/manifest.ts";
import { planLaunch } from "../../capsule_runtime/host.ts";
import { BUILTIN_SKILLS_DIR, readSkill, type SkillInfo } from "../../capsule_runtime/skills.ts";
import { MemoryStore } from "../../store/memory.ts";
import type { WebDeps } from "../deps.ts";
import { HttpError, intQuery, jsonBody, validId } from "../http.ts";

/** The text a bulk delete must carry, so an empty or forged body deletes nothing. */
export const BULK_DELETE_CONFIRMATION = "DELETE ALL AGENTS";

const BulkDelete = z.object({
  exclude_ids: z.array(z.string()).default([]),
  confirm: z.string(),
}).strict();

function recentMemories(agentsDir: string, agentId: string, limit: number) {
  const path = join(capsuleDir(agentsDir, agentId), "memory.db");
  try {
    Deno.statSync(path);
  } catch {
    return [];
  }
  const memory = MemoryStore.open(path);
  try {
    return memory.recent(limit);
  } finally {
    memory.close();
  }
}

/** Everything the agent-detail page shows; null when the agent is unknown. */
export async function agentView(deps: WebDeps, agentId: string) {
  const detail = agentDetail(deps.settings.agentsDir, deps.store, agentId);
  if (!detail) return null;
  let denoFlags: string[] = [];
  let sandbox = "";
  let refused: { tool: string; reason: string }[] = [];
  try {
    const plan = await planLaunch(deps.settings, detail.manifest);
    denoFlags = plan.denoFlags;
    sandbox = plan.sandbox;
    refused = plan.refusedTools;
  } catch (error) {
    sandbox = `unavailable: ${(error as Error).message}`;
  }
  const toolEvents = deps.store.toolEvents.listForAgent(agentId, 200);
  return {
    ...publicManifest(detail.manifest),
    skill_md: detail.skill_md,
    memory_entries: detail.memory_entries,
    memories: recentMemories(deps.settings.agentsDir, agentId, 20),
    deno_flags: denoFlags,
    sandbox,
    refused_tools: refused,
    metrics: {
      usage_count: detail.manifest.usage_count,
      success_rate: detail.manifest.success_rate,
      avg_latency_ms: detail.manifest.avg_latency_ms,
      tool_calls: toolEvents.length,
      tool_errors: toolEvents.filter((e) => !e.ok).length,
    },
    recent_tool_calls: toolEvents.slice(0, 20),
  };
}

/**
 * Every built-in skill with its text, sorted by id, each file read once
 * (`listSkills()` reads the text only to parse it and does not return it).
 */
function skillsWithText(): { info: SkillInfo; content: string }[] {
  let names: string[];
  try {
    names = [...Deno.readDirSync(BUILTIN_SKILLS_DIR)].map((entry) => entry.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return names
    .map((name) => /^(.+)\.md$/.exec(name)?.[1])
    .map((id) => (id === undefined ? null : readSkill(id)))
    .filter((skill) => skill !== null)
    .sort((a, b) => (a.info.skill_id < b.info.skill_id ? -1 : 1));
}

/** Skills with how many agents use each. */
export function skillsView(deps: WebDeps) {
  const agents = deps.store.agents.list(100_000);
  return skillsWithText().map(({ info, content }) => ({
    skill_id: info.skill_id,
    label: info.label,
    description: info.description,
    content_preview: content.slice(0, 500),
    content_length: info.content_length,
    agent_count: agents.filter((a) => a.skill_ids.includes(info.skill_id)).length,
  }));
}

export function agentsRoutes(deps: WebDeps): Hono {
  const app = new Hono();

  app.get("/agents", (c) => c.json(deps.store.agents.list(intQuery(c, "limit", 200, 10_000))));

  app.post("/agents/delete-bulk", async (c) => {
    const body = await jsonBody(c, BulkDelete);
    if (body.confirm !== BULK_DELETE_CONFIRMATION) {
      throw new HttpError(
        400,
        "confirmation_required",
        `Set "confirm" to "${BULK_DELETE_CONFIRMATION}" to delete every agent.`,
      );
    }
    const result = deleteAllAgents(deps.settings.agentsDir, deps.store, new Set(body.exclude_ids));
    return c.json({ deleted_count: result.deleted_count, deleted_ids: result.agent_ids });
  });

  app.get("/agents/:id", async (c) => {
    const id = validId(assertAgentId, c.req.param("id"));
    const view = await agentView(deps, id);
    if (!view) throw new HttpError(404, "agent_not_found", `No agent named ${id}.`);
    return c.json(view);
  });

  app.delete("/agents/:id", (c) => {
    const id = validId(assertAgentId, c.req.param("id"));
    const result = deleteAgent(deps.settings.agentsDir, deps.store, id);
    if (!result.deleted) throw new HttpError(404, "agent_not_found", `No agent named ${id}.`);
    return c.json({ deleted: true, agent_id: id });
  });

  app.get("/skills", (c) => c.json(skillsView(deps)));

  app.get("/skills/:id", (c) => {
    const id = c.req.param("id");
    const skill = readSkill(id);
    if (!skill) throw new HttpError(404, "skill_not_found", `No skill named ${id.slice(0, 80)}.`);
    const using = deps.store.agents.list(100_000).filter((a) => a.skill_ids.includes(id));
    return c.json({
      skill_id: id,
      label: skill.info.label,
      content: skill.content,
      using_agents: using.map((a) => ({ agent_id: a.agent_id, name: a.name })),
    });
  });

  return app;
}
