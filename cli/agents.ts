/** `agents`, `agent <id>`, `delete-agent <id>` and `delete-all-agents`. */
import { ClosedClawError } from "../core/errors.ts";
import { agentDetail, deleteAgent, deleteAllAgents } from "../capsule_runtime/registry.ts";
import { readManifest, readSkill } from "../capsule_runtime/factory.ts";
import { type Command, intOption, JSON_OPTION } from "./command.ts";
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
  options: {
    limit: { type: "string", value: "n", description: "How many to show (default 20)." },
    ...JSON_OPTION,
  },
  run(ctx) {
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
      printLine('No agents yet. Agents are created when you run a task: closed-claw run "…"');
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

export const agentCommand: Command = {
  name: "agent",
  summary: "Show one agent: manifest, tools, permissions, skill.md and memory.",
  args: "<agent_id>",
  positionals: { min: 1, max: 1 },
  options: {
    "include-embedding": { type: "boolean", description: "Include the embedding vector." },
    ...JSON_OPTION,
  },
  async run(ctx) {
    const agentId = ctx.positionals[0];
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
  async run(ctx) {
    const agentId = ctx.positionals[0];
    const settings = ctx.settings();
    const store = ctx.store();
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
