/** Agent and skill routes. */
import { Hono } from "hono";
import { z } from "zod";
import { assertAgentId } from "../../core/ids.ts";
import { deleteAgent, deleteAllAgents } from "../../capsule_runtime/registry.ts";
import {
  DEFAULT_UNUSED_DAYS,
  mergeAgents,
  planPrune,
  pruneAgents,
} from "../../capsule_runtime/agent_hygiene.ts";
import { ClosedClawError } from "../../core/errors.ts";
import { readSkill } from "../../capsule_runtime/skills.ts";
import type { WebDeps } from "../deps.ts";
import { HttpError, intQuery, jsonBody, validId } from "../http.ts";
import { agentView } from "../views/agent_view.ts";
import { skillsView } from "../views/skills_view.ts";

/** The text a bulk delete must carry, so an empty or forged body deletes nothing. */
export const BULK_DELETE_CONFIRMATION = "DELETE ALL AGENTS";

const BulkDelete = z.object({
  exclude_ids: z.array(z.string()).default([]),
  confirm: z.string(),
}).strict();

const Merge = z.object({ from: z.string().min(1).max(100) }).strict();

const Prune = z.object({
  unused_days: z.number().int().min(0).max(36_500).default(DEFAULT_UNUSED_DAYS),
}).strict();

export function agentsRoutes(deps: WebDeps): Hono {
  const app = new Hono();

  // What `agents prune` would delete (unused for N days, or never succeeded in ≥ 2 uses).
  app.get("/agents/prune", (c) => {
    const unusedDays = intQuery(c, "unused_days", DEFAULT_UNUSED_DAYS, 36_500);
    return c.json({ unused_days: unusedDays, ...planPrune(deps.store, { unusedDays }) });
  });

  app.post("/agents/prune", async (c) => {
    const body = await jsonBody(c, Prune);
    const plan = planPrune(deps.store, { unusedDays: body.unused_days });
    const pruned = pruneAgents(deps.settings.agentsDir, deps.store, plan, {
      unusedDays: body.unused_days,
      operator: "web_user",
    });
    return c.json({ pruned, kept_in_use: plan.kept_in_use });
  });

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

  // Folds agent `from` into this one (uses, successes, memories); `from` is disabled. Audited.
  app.post("/agents/:id/merge", async (c) => {
    const into = validId(assertAgentId, c.req.param("id"));
    const { from } = await jsonBody(c, Merge);
    validId(assertAgentId, from);
    try {
      return c.json(mergeAgents(deps.settings.agentsDir, deps.store, into, from, "web_user"));
    } catch (error) {
      if (!(error instanceof ClosedClawError)) throw error;
      const status = error.code === "agent_not_found"
        ? 404
        : error.code === "agent_in_use"
        ? 409
        : 400;
      throw new HttpError(status, error.code, error.message);
    }
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
