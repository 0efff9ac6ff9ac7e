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
 * Prestarts, for each role of the phase's open subtasks, one capsule of its
 * predicted agent (unless one of it waits already): its first subtask starts on
 * it, and each that follows on the capsule the one before it leaves. Parallel
 * subtasks of the role spawn their own when they start, as a burst of
 * capsules starting at once would only compete for the same processors.
 * Returns at once; never throws.
 */
export function prestartPhase(ctx: RunContext, pool: readonly Subtask[]): Promise<void> {
  const capsules = ctx.capsules;
  if (!capsules || ctx.placement || ctx.signal.aborted) return Promise.resolve();
  const open = pool.filter((t) => t.status === "pending" || t.status === "waiting");
  const roles = new Map<string, Subtask[]>();
  for (const t of open) roles.set(t.role_tag, [...roles.get(t.role_tag) ?? [], t]);
  return Promise.all([...roles.values()].map(async (subtasks) => {
    // The role's first subtask maps it to an agent; the others follow (routing.ts).
    const manifest = await predictAgent(ctx, subtasks[0]).catch(() => null);
    if (!manifest || ctx.signal.aborted) return;
    const options = launchOptions(ctx, runnableManifest(ctx, manifest));
    // One the task's prediction started already serves (or, from another plan, is replaced).
    if (capsules.hasWaiting(options.manifest, ctx.workspace)) return;
    await prestartCapsule(capsules, options, 1);
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
    const options = launchOptions(ctx, runnableManifest(ctx, manifest));
    if (capsules.hasWaiting(options.manifest, ctx.workspace)) return;
    await prestartCapsule(capsules, options, 1);
  })().catch(() => {});
}
