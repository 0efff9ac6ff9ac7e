/**
 * Start before you need: while the first plan is being made, the capsule of
 * the agent the task itself points to (when the scores alone decide); when a
 * phase's plan is known, the capsules of the agents it will most likely
 * reuse, at once, while its subtasks are still being routed, approved and
 * prepared. Each waits in the run's
 * pool (capsule_runtime/capsule_pool.ts) and is handed only to a subtask
 * whose launch plan comes out identical (same agent, manifest, workspace,
 * flags, sandbox); a wrong guess is killed, unused, when the run ends, when
 * it idles too long, or when the agent's subtask starts from another plan.
 */
import { prestartCapsule } from "../capsule_runtime/host.ts";
import type { RunContext } from "./context.ts";
import { predictAgent } from "./routing.ts";
import { launchOptions, runnableManifest } from "./subtask.ts";
import type { Subtask } from "./types.ts";

/**
 * Prestarts, for each role of the phase's open subtasks, as many capsules of
 * its predicted agent as subtasks of the role may run at once (those whose
 * dependencies are met, at most the run's parallel limit; one when all of
 * them wait: a kept capsule serves the next). Returns at once; never throws.
 */
export function prestartPhase(ctx: RunContext, pool: readonly Subtask[]): Promise<void> {
  const capsules = ctx.capsules;
  if (!capsules || ctx.placement || ctx.signal.aborted) return Promise.resolve();
  const open = pool.filter((t) => t.status === "pending" || t.status === "waiting");
  const ids = new Set(pool.map((t) => t.task_id));
  const done = new Set(pool.filter((t) => t.status === "completed").map((t) => t.task_id));
  const roles = new Map<string, Subtask[]>();
  for (const t of open) roles.set(t.role_tag, [...roles.get(t.role_tag) ?? [], t]);
  return Promise.all([...roles.values()].map(async (subtasks) => {
    // The role's first subtask maps it to an agent; the others follow (routing.ts).
    const manifest = await predictAgent(ctx, subtasks[0]).catch(() => null);
    if (!manifest || ctx.signal.aborted) return;
    const ready = subtasks.filter((t) => t.depends_on.every((d) => done.has(d) || !ids.has(d)))
      .length;
    const count = Math.min(Math.max(1, ready), Math.max(1, ctx.settings.maxParallelAgents));
    await prestartCapsule(capsules, launchOptions(ctx, runnableManifest(ctx, manifest)), count);
  })).then(() => {}, () => {});
}

/**
 * While the run's first plan is made: one capsule of the agent routing would
 * reuse for the task as a whole, when the semantic scores alone decide (a
 * one-subtask plan usually goes to it). Returns at once; never throws.
 */
export function prestartForTask(ctx: RunContext): Promise<void> {
  const capsules = ctx.capsules;
  if (!capsules || ctx.placement || ctx.signal.aborted) return Promise.resolve();
  const need = {
    role_tag: "",
    title: "",
    description: ctx.state.task,
    tools: [],
    writes_files: false,
  };
  return (async () => {
    const manifest = await predictAgent(ctx, need).catch(() => null);
    if (!manifest || ctx.signal.aborted) return;
    await prestartCapsule(capsules, launchOptions(ctx, runnableManifest(ctx, manifest)), 1);
  })().catch(() => {});
}
