/**
 * `agents` (with `agents prune` and `agents merge A B`), `agent <id>`,
 * `delete-agent <id>` and `delete-all-agents`.
 */
import { ClosedClawError } from "../core/errors.ts";
import { agentDetail, deleteAgent, deleteAllAgents } from "../capsule_runtime/registry.ts";
import { readManifest, readSkill } from "../capsule_runtime/factory.ts";
import { type Command, type CommandContext, intOption, JSON_OPTION } from "./command.ts";
import { UsageError } from "../core/errors.ts";
import {
  DEFAULT_UNUSED_DAYS,
  mergeAgents,
  planPrune,
  pruneAgents,
} from "../capsule_runtime/agent_hygiene.ts";
import { resolveAgentId, resolveAgentIdOrTyped } from "./resolve_id.ts";
import { hereCommand } from "./invocation.ts";
import { describeLimits, effectiveLimits } from "../capsule_runtime/limits.ts";
import { age, bold, dim, printJson, printLine, renderTable } from "./output.ts";
import { confirm } from "./prompt.ts";
import { NETWORK_TOOLS } from "../capsule_runtime/launcher.ts";
import type { Manifest } from "../capsule_runtime/manifest.ts";
import { probeBubblewrap } from "../capsule_runtime/bwrap_probe.ts";
import { egressProxyAvailable } from "../capsule_runtime/egress_bridge.ts";
import { programNetwork } from "../coordinator/network_hosts.ts";

/** What the agent's programs may reach through the egress proxy on this machine. */
async function programNetworkHere(manifest: Manifest) {
  const bwrap = await probeBubblewrap();
  const proxy = egressProxyAvailable({ bwrapPath: bwrap.works ? bwrap.path : "" });
  return programNetwork(manifest.tools_allowlist, manifest.permissions.network_hosts, proxy);
}

export const agentsCommand: Command = {
  name: "agents",
  summary: "List registered agents with their tools and success rates.",
  args: "[prune | merge <agent_a> <agent_b>]",
  positionals: { min: 0, max: 3 },
  options: {
    limit: { type: "string", value: "n", description: "How many to show (default 20)." },
    "unused-days": {
      type: "string",
      value: "n",
      description: `prune: agents unused this many days (default ${DEFAULT_UNUSED_DAYS}).`,
    },
    "dry-run": { type: "boolean", description: "prune: only list what would be removed." },
    yes: { type: "boolean", short: "y", description: "prune, merge: do not ask for confirmation." },
    ...JSON_OPTION,
  },
  details: [
    "Subcommands:",
    "  agents prune [--unused-days n] [--dry-run] [--yes]",
    "      Delete agents unused for n days, or used at least twice without a success.",
    "      Built-in agents and agents a running run uses are kept.",
    "  agents merge <agent_a> <agent_b> [--yes]",
    "      Fold agent_b into agent_a (its uses and memories count for agent_a) and disable agent_b.",
    "Agent ids may be a unique prefix, or `last` for the most recently used agent.",
  ].join("\n"),
  run(ctx) {
    const [sub, ...rest] = ctx.positionals;
    if (sub === "prune") {
      if (rest.length) throw new UsageError(`agents prune: unexpected argument "${rest[0]}".`);
      return pruneCommand(ctx);
    }
    if (sub === "merge") {
      if (rest.length !== 2) {
        throw new UsageError(
          "agents merge needs two agents: the one to keep, then the one folded into it.",
          hereCommand("Usage: closed-claw agents merge <agent_a> <agent_b>."),
        );
      }
      return mergeCommand(ctx, rest[0], rest[1]);
    }
    if (sub !== undefined) {
      throw new UsageError(
        `agents: unknown subcommand "${sub}" (prune or merge).`,
        hereCommand("To show one agent: closed-claw agent <agent_id>."),
      );
    }
    const limit = intOption(ctx, "limit", 20);
    const { agentsDir } = ctx.settings();
    const rows = ctx.store().agents.list(limit);
    if (ctx.options.json) {
      printJson(rows.map((a) => ({
        agent_id: a.agent_id,
        name: a.name,
        description: a.description,
        status: a.status,
        usage_count: a.usage_count,
        success_rate: a.success_rate,
        last_used_at: a.last_used_at,
        tools_allowlist: readManifest(agentsDir, a.agent_id)?.tools_allowlist ?? a.tools_allowlist,
        skill_md: readSkill(agentsDir, a.agent_id),
      })));
      return Promise.resolve(0);
    }
    if (rows.length === 0) {
      printLine(
        hereCommand('No agents yet. Agents are created when you run a task: closed-claw run "…"'),
      );
      return Promise.resolve(0);
    }
    printLine(renderTable([
      { header: "AGENT", value: (a) => a.agent_id },
      { header: "STATUS", value: (a) => a.status },
      { header: "USES", value: (a) => a.usage_count },
      { header: "SUCCESS", value: (a) => `${Math.round(a.success_rate * 100)}%` },
      { header: "TOOLS", value: (a) => a.tools_allowlist.join(",") },
      { header: "LAST USED", value: (a) => age(a.last_used_at) },
      { header: "DESCRIPTION", value: (a) => a.description, flexible: true },
    ], rows));
    return Promise.resolve(0);
  },
};

/** `agents prune`: lists what goes, asks, deletes, audits. */
async function pruneCommand(ctx: CommandContext): Promise<number> {
  const unusedDays = intOption(ctx, "unused-days", DEFAULT_UNUSED_DAYS, { min: 0 });
  const settings = ctx.settings();
  const store = ctx.store();
  const plan = planPrune(store, { unusedDays });
  const dryRun = ctx.options["dry-run"] === true;
  if (ctx.options.json && (dryRun || plan.remove.length === 0)) {
    printJson({ dry_run: dryRun, would_delete: plan.remove, kept_in_use: plan.kept_in_use });
    return 0;
  }
  if (!ctx.options.json) {
    if (plan.remove.length === 0) {
      printLine(
        store.agents.count() === 0
          ? "No agents yet; nothing to prune."
          : `Nothing to prune: no agent is unused for ${unusedDays} days or without a success in 2 or more uses.`,
      );
    } else {
      printLine(renderTable([
        { header: "AGENT", value: (i) => i.agent_id },
        { header: "WHY", value: (i) => i.reason },
        { header: "DESCRIPTION", value: (i) => i.description, flexible: true },
      ], plan.remove));
    }
    for (const id of plan.kept_in_use) printLine(dim(`Kept ${id}: a running run uses it.`));
    if (plan.remove.length === 0) return 0;
    if (dryRun) {
      printLine(`Dry run: ${plan.remove.length} agent(s) would be deleted.`);
      return 0;
    }
  }
  if (
    !ctx.options.yes &&
    !(await confirm(`Type 'yes' to delete these ${plan.remove.length} agent(s): `))
  ) {
    printLine("Nothing deleted.");
    return 1;
  }
  const deleted = pruneAgents(settings.agentsDir, store, plan, { unusedDays });
  if (ctx.options.json) printJson({ dry_run: false, deleted, kept_in_use: plan.kept_in_use });
  else printLine(`Pruned ${deleted.length} agent(s).`);
  return 0;
}

/** `agents merge A B`: folds B into A after a confirmation. */
async function mergeCommand(ctx: CommandContext, a: string, b: string): Promise<number> {
  const settings = ctx.settings();
  const store = ctx.store();
  const into = resolveAgentId(store, a);
  const from = resolveAgentId(store, b);
  if (
    !ctx.options.yes &&
    !(await confirm(`Type 'yes' to fold ${from} into ${into} and disable ${from}: `))
  ) {
    printLine("Not merged.");
    return 1;
  }
  const result = mergeAgents(settings.agentsDir, store, into, from);
  if (ctx.options.json) printJson(result);
  else {
    printLine(
      `Merged ${from} into ${into}: ${result.usage_count} uses, ${result.memories_moved} memories moved; ${from} is disabled.`,
    );
  }
  return 0;
}

export const agentCommand: Command = {
  name: "agent",
  summary: "Show one agent: manifest, tools, permissions, skill.md and memory.",
  args: "<agent_id>",
  positionals: { min: 1, max: 1 },
  details:
    "<agent_id> may be a unique prefix of the id, or `last` for the most recently used agent.",
  options: {
    "include-embedding": { type: "boolean", description: "Include the embedding vector." },
    ...JSON_OPTION,
  },
  async run(ctx) {
    // An unknown id keeps `--json`'s shape ({found: false}) below.
    const agentId = ctx.options.json
      ? resolveAgentIdOrTyped(ctx.store(), ctx.positionals[0])
      : resolveAgentId(ctx.store(), ctx.positionals[0]);
    const detail = agentDetail(ctx.settings().agentsDir, ctx.store(), agentId);
    if (!detail) {
      if (ctx.options.json) printJson({ found: false, agent_id: agentId });
      else {
        throw new ClosedClawError("agent_not_found", `No agent named ${agentId}.`, {
          hint: "List agents with `closed-claw agents`.",
        });
      }
      return 1;
    }
    const { manifest } = detail;
    const vector = manifest.embedding_vector;
    if (ctx.options.json) {
      printJson({
        found: true,
        agent: {
          ...manifest,
          limits: effectiveLimits(manifest),
          program_network: await programNetworkHere(manifest),
          embedding_vector: ctx.options["include-embedding"]
            ? vector
            : `<hidden: ${vector.length} floats>`,
        },
        skill_md: detail.skill_md,
        memory_entries: detail.memory_entries,
      });
      return 0;
    }
    const p = manifest.permissions;
    const field = (label: string, value: unknown) => printLine(`${dim(label.padEnd(14))} ${value}`);
    printLine(bold(`${manifest.name}  (${manifest.agent_id})`));
    printLine(manifest.description);
    printLine();
    field("status", manifest.status);
    field("tools", manifest.tools_allowlist.join(", ") || "(none)");
    field("skills", manifest.skill_ids.join(", ") || "(none)");
    field("tags", manifest.tags.join(", ") || "(none)");
    field("read roots", p.read_roots.join(", ") || "(none)");
    field("write roots", p.file_write ? p.write_roots.join(", ") || "(none)" : "(no writes)");
    const networked = NETWORK_TOOLS.some((t) => manifest.tools_allowlist.includes(t));
    field(
      "network",
      !networked
        ? "(no network tool)"
        : p.network_hosts.length
        ? p.network_hosts.join(", ")
        : "(any public host)",
    );
    field("programs reach", (await programNetworkHere(manifest)).line);
    field("limits", describeLimits(effectiveLimits(manifest)).map((l) => l.label).join(", "));
    field("usage", `${manifest.usage_count} runs, ${Math.round(manifest.success_rate * 100)}% ok`);
    field("last used", age(manifest.last_used_at));
    field("memories", detail.memory_entries);
    field("embedding", `${vector.length} floats (${manifest.embedding_model})`);
    if (ctx.options["include-embedding"]) printLine(JSON.stringify(vector));
    printLine();
    printLine(bold("skill.md"));
    printLine(detail.skill_md.trimEnd() || dim("(empty)"));
    return 0;
  },
};

export const deleteAgentCommand: Command = {
  name: "delete-agent",
  summary: "Delete one agent: its registry rows and its capsule folder.",
  args: "<agent_id>",
  positionals: { min: 1, max: 1 },
  options: {
    yes: { type: "boolean", short: "y", description: "Do not ask for confirmation." },
    ...JSON_OPTION,
  },
  details:
    "<agent_id> may be a unique prefix of the id, or `last` for the most recently used agent.",
  async run(ctx) {
    const settings = ctx.settings();
    const store = ctx.store();
    const agentId = resolveAgentIdOrTyped(store, ctx.positionals[0]);
    if (!agentDetail(settings.agentsDir, store, agentId)) {
      const result = { deleted: false, agent_id: agentId, reason: "not found in registry" };
      if (ctx.options.json) printJson(result);
      else printLine(`No agent named ${agentId}; nothing deleted.`);
      return 1;
    }
    if (!ctx.options.yes && !(await confirm(`Type 'yes' to delete agent '${agentId}': `))) {
      printLine("Not deleted.");
      return 1;
    }
    const result = deleteAgent(settings.agentsDir, store, agentId);
    if (ctx.options.json) printJson(result);
    else printLine(`Deleted ${agentId}.`);
    return result.deleted ? 0 : 1;
  },
};

export const deleteAllAgentsCommand: Command = {
  name: "delete-all-agents",
  summary: "Delete every agent and capsule folder.",
  options: {
    yes: { type: "boolean", short: "y", description: "Do not ask for confirmation." },
    ...JSON_OPTION,
  },
  async run(ctx) {
    const settings = ctx.settings();
    const store = ctx.store();
    if (!ctx.options.yes) {
      const count = store.agents.count();
      const sure = await confirm(
        `This deletes all ${count} agent(s). Type 'DELETE ALL' to confirm: `,
        "DELETE ALL",
      );
      if (!sure) {
        printLine("Nothing deleted.");
        return 1;
      }
    }
    const result = deleteAllAgents(settings.agentsDir, store);
    if (ctx.options.json) printJson(result);
    else printLine(`Deleted ${result.deleted_count} agent(s).`);
    return 0;
  },
};
