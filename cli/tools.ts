/** `tools [--agent-id <id>]`: the tool catalogue, or one agent's allowlist. */
import { TOOL_CATALOG } from "../tools/catalog.ts";
import { agentDetail } from "../capsule_runtime/registry.ts";
import { type Command, JSON_OPTION } from "./command.ts";
import { bold, printJson, printLine, renderTable } from "./output.ts";
import { resolveAgentIdOrTyped } from "./resolve_id.ts";
import { hereCommand } from "./invocation.ts";

export const toolsCommand: Command = {
  name: "tools",
  summary: "List the supported tools, or the tools one agent may use.",
  options: {
    "agent-id": {
      type: "string",
      value: "id",
      description: "Show this agent's allowlist (a unique prefix, or `last`).",
    },
    ...JSON_OPTION,
  },
  run(ctx) {
    const typed = ctx.options["agent-id"] as string | undefined;
    const agentId = typed === undefined ? undefined : resolveAgentIdOrTyped(ctx.store(), typed);
    const supported = TOOL_CATALOG.map((t) => t.name);
    let agent: Record<string, unknown> | undefined;
    let allowed: string[] | undefined;
    if (agentId !== undefined) {
      const detail = agentDetail(ctx.settings().agentsDir, ctx.store(), agentId);
      allowed = detail?.manifest.tools_allowlist;
      agent = detail
        ? {
          agent_id: agentId,
          name: detail.manifest.name,
          description: detail.manifest.description,
          tools_allowlist: detail.manifest.tools_allowlist,
        }
        : { agent_id: agentId, found: false };
    }
    if (ctx.options.json) {
      printJson(agent ? { supported_tools: supported, agent } : { supported_tools: supported });
      return Promise.resolve(agent && agent.found === false ? 1 : 0);
    }
    if (agent && agent.found === false) {
      printLine(hereCommand(`No agent named ${agentId}. List agents with \`closed-claw agents\`.`));
      return Promise.resolve(1);
    }
    if (agent) printLine(bold(`Tools of ${agent.name} (${agentId})`));
    const rows = TOOL_CATALOG.filter((t) => !allowed || allowed.includes(t.name));
    printLine(renderTable([
      { header: "TOOL", value: (t) => t.name },
      { header: "RISK", value: (t) => t.riskLevel },
      { header: "SIDE EFFECTS", value: (t) => (t.sideEffects ? "yes" : "no") },
      { header: "DESCRIPTION", value: (t) => t.description, flexible: true },
    ], rows));
    return Promise.resolve(0);
  },
};
