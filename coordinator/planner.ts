/**
 * Planning: the run's first model call says whether the task is simple or
 * complex and, in the same reply, plans the phase that follows from it (the
 * whole task when simple, its discovery phase when complex). A complex task's
 * execution phase is planned later from the discovery results. Each plan
 * becomes a pool of subtasks with phase id prefixes, caps and dependency rules.
 */
import { z } from "zod";
import { TOOL_NAMES, type ToolName } from "../capsule_runtime/manifest.ts";
import { toolSummaries } from "../tools/catalog.ts";
import { toolsWithPermission } from "../guest/tools/registry.ts";
import type { LlmService } from "../llm/types.ts";
import { LlmError } from "../llm/errors.ts";
import type { Complexity, Phase, Subtask } from "./types.ts";
import { NETWORK_TOOLS } from "./data_flow.ts";
import { checkHostPatterns } from "./network_hosts.ts";
import type { McpServerChoice } from "./profile.ts";

const EXEC_TOOLS: readonly ToolName[] = toolsWithPermission("exec");

/** The plan a model writes for one phase. */
export const PlanSchema = z.object({
  subtasks: z.array(z.object({
    task_id: z.string().describe("Short kebab-case id, unique within the plan."),
    title: z.string(),
    description: z.string().describe("Everything the agent needs to do this on its own."),
    role_tag: z.string().describe("Capability role, e.g. file-reader, data-analyst."),
    // depends_on, acceptance_criteria and tools: the prompt's "Rules:" say how to fill them.
    depends_on: z.array(z.string()),
    acceptance_criteria: z.array(z.string()),
    requires_tool: z.boolean().describe("True when the subtask cannot be done without a tool."),
    tools: z.array(z.enum(TOOL_NAMES)),
    writes_files: z.boolean().describe("True only when the subtask must create or change files."),
    // The prompt's "Network:" rule says what to list (and gives examples): not repeated here.
    network_hosts: z.array(z.string()).default([]).describe("Hosts it must reach; else []."),
  })),
});
/**
 * The plan asked for when the user has MCP servers in the catalogue: each
 * subtask may name the servers it needs. Without any, the request is exactly
 * the one above (recorded runs replay as before, prompts do not grow).
 */
export const PlanWithMcpSchema = z.object({
  subtasks: z.array(PlanSchema.shape.subtasks.element.extend({
    mcp_servers: z.array(z.string()).default([]).describe(
      "Names from the MCP server catalogue whose tools it needs (only those listed); else [].",
    ),
  })),
});
/** A plan; its subtasks name MCP servers only when the catalogue was offered. */
export type Plan = {
  subtasks: (z.infer<typeof PlanSchema>["subtasks"][number] & { mcp_servers?: string[] })[];
};

/** What the first planning call returns: the task's complexity, then the plan it implies. */
export const FirstPlanSchema = z.object({
  // Defined in the planning prompt (SIMPLE / COMPLEX), which every request carries.
  complexity: z.enum(["simple", "complex"]),
  subtasks: PlanSchema.shape.subtasks,
});
/** The first plan's schema when the catalogue is offered (see PlanWithMcpSchema). */
export const FirstPlanWithMcpSchema = FirstPlanSchema.extend({
  subtasks: PlanWithMcpSchema.shape.subtasks,
});

/** The first plan of a run: its complexity, the phase that comes first, and that phase's plan. */
export interface FirstPlan {
  complexity: Complexity;
  /** `execution` for a simple task (its plan completes it), `discovery` for a complex one. */
  phase: Phase;
  plan: Plan;
}

/** Errors after which the run must stop instead of falling back. */
export function isFatalLlmError(error: unknown): boolean {
  return error instanceof LlmError &&
    (error.kind === "budget_exceeded" || error.kind === "cancelled");
}

export interface PlanRequest {
  task: string;
  /** `first`: classify the task and plan what it implies (one call); else that phase. */
  phase: Phase | "first";
  context: Record<string, unknown>;
  discoveryResults?: Record<string, string>;
  maxSubtasks: number;
  tools: readonly ToolName[];
  workspace: string;
  /** The user's MCP server catalogue (mcpServerChoices); absent or empty: not offered. */
  mcpServers?: readonly McpServerChoice[];
}

const DISCOVERY_RULES =
  "read-only subtasks that find out what the execution phase needs (which files exist, what they contain, what the data looks like). Do not change anything yet.";

function planPrompt(req: PlanRequest): string {
  const phaseRules = req.phase === "first"
    ? `First classify the task as SIMPLE or COMPLEX (the "complexity" field). SIMPLE: one or two direct steps with no need to explore first. COMPLEX: the task needs discovery (finding files, data or facts) before the work can be planned. Then plan: for a SIMPLE task, the subtasks that complete the task; for a COMPLEX task, the DISCOVERY phase only: ${DISCOVERY_RULES} The execution phase of a complex task is planned later, from what discovery found.`
    : req.phase === "discovery"
    ? `Plan the DISCOVERY phase only: ${DISCOVERY_RULES}`
    : req.discoveryResults
    ? "Plan the EXECUTION phase: the subtasks that complete the task, using what discovery found (below)."
    : "Plan the subtasks that complete the task.";
  const catalog = toolSummaries(req.tools);
  return [
    "You are the planner of a multi-agent orchestrator. Split the task into subtasks, each done by one specialist agent with tools.",
    phaseRules,
    `Rules: at most ${req.maxSubtasks} subtasks (NEVER more than ${req.maxSubtasks}); prefer fewer; use depends_on (task_ids) only when a subtask needs another's result; give each subtask checkable acceptance criteria; tools must be the fewest needed, chosen from the catalog.`,
    `Data-flow rule: results of subtasks that read files, databases or run programs are private, and passing them (by depends_on, or discovery results) to a subtask with a network tool (${
      NETWORK_TOOLS.join(", ")
    }) or network_hosts needs the user's approval; keep network subtasks from depending on private results unless the task needs it.`,
    `Network: programs (${
      EXEC_TOOLS.join(", ")
    }) reach the network only through a proxy that lets through exactly the hosts in the subtask's network_hosts; list there every host the subtask needs (host names or *.domain, e.g. "github.com", "*.pypi.org"; no scheme, path, port or IP unless the task gives one), and leave it empty when it needs none.`,
    `Workspace root: ${req.workspace}`,
    `Tool catalog:\n${catalog}`,
    req.mcpServers?.length
      ? `MCP servers (the user's approved catalogue; list in a subtask's mcp_servers the ones whose tools it needs, only from this list, else []):\n${
        req.mcpServers.map((s) =>
          `- ${s.name}${s.host ? ` (remote, ${s.host})` : ""}: ${s.tools.join(", ")}`
        ).join("\n")
      }`
      : "",
    Object.keys(req.context).length ? `Context: ${JSON.stringify(req.context).slice(0, 4000)}` : "",
    req.discoveryResults
      ? `Discovery results: ${JSON.stringify(req.discoveryResults).slice(0, 8000)}`
      : "",
  ].filter(Boolean).join("\n\n");
}

/** Asks the model for a phase plan. Throws on failure (the caller fails the run). */
export async function generatePlan(
  llm: LlmService,
  req: PlanRequest & { phase: Phase },
  meta: { runId: string; signal?: AbortSignal },
): Promise<Plan> {
  const schema = req.mcpServers?.length ? PlanWithMcpSchema : PlanSchema;
  const { value } = await llm.structured<Plan>(schema, {
    messages: [
      { role: "system", content: planPrompt(req) },
      { role: "user", content: `Phase: ${req.phase}\nTask: ${req.task}` },
    ],
    schemaName: req.phase === "discovery" ? "discovery_plan" : "execution_plan",
    maxTokens: 2000,
    temperature: 0,
    signal: meta.signal,
  }, { runId: meta.runId, purpose: "plan" });
  return value;
}

/**
 * The run's first model call: classifies the task and plans the phase that
 * follows (execution when simple, discovery when complex) in one structured
 * reply, validated and repaired like any plan. Throws on failure (the caller
 * fails the run); there is no separate classification to fall back on.
 */
export async function planTask(
  llm: LlmService,
  req: Omit<PlanRequest, "phase" | "discoveryResults">,
  meta: { runId: string; signal?: AbortSignal },
): Promise<FirstPlan> {
  const schema = req.mcpServers?.length ? FirstPlanWithMcpSchema : FirstPlanSchema;
  const { value } = await llm.structured<z.infer<typeof FirstPlanSchema> & Plan>(schema, {
    messages: [
      { role: "system", content: planPrompt({ ...req, phase: "first" }) },
      { role: "user", content: `Task: ${req.task}` },
    ],
    schemaName: "task_plan",
    maxTokens: 2000,
    temperature: 0,
    signal: meta.signal,
  }, { runId: meta.runId, purpose: "plan" });
  return {
    complexity: value.complexity,
    phase: value.complexity === "simple" ? "execution" : "discovery",
    plan: { subtasks: value.subtasks },
  };
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 48) ||
    "task";
}

/**
 * Turns a plan into a phase pool: cap the plan, prefix ids with
 * `discover-`/`execute-`, de-duplicate them with `-2`, `-3`, ..., remap and
 * drop unknown dependencies, and set `waiting`/`pending`. Tools outside
 * `allowedTools` are dropped. Network hosts are checked (`network_hosts.ts`;
 * an IP address only when `hosts.givenText`, the user's task, names it) and
 * kept only for a subtask with a network or exec tool; each refused entry
 * is one line passed to `hosts.onRefused`. MCP servers are kept only when
 * `hosts.mcpServers` (the catalogue's names) has them; each other name goes to
 * `hosts.onMcpDropped`, never to the subtask.
 */
export function preparePhasePool(
  plan: Plan,
  phase: Phase,
  maxSubtasks: number,
  allowedTools: readonly ToolName[],
  hosts: {
    givenText?: string;
    onRefused?: (taskId: string, line: string) => void;
    mcpServers?: readonly string[];
    onMcpDropped?: (taskId: string, server: string) => void;
  } = {},
): Subtask[] {
  const prefix = phase === "discovery" ? "discover-" : "execute-";
  const items = plan.subtasks.slice(0, maxSubtasks);
  const used = new Set<string>();
  const idMap = new Map<string, string>();
  const ids = items.map((item) => {
    const base = slug(item.task_id || item.title);
    let id = base.startsWith(prefix) ? base : prefix + base;
    for (let n = 2; used.has(id); n++) {
      id = `${base.startsWith(prefix) ? base : prefix + base}-${n}`;
    }
    used.add(id);
    if (!idMap.has(item.task_id)) idMap.set(item.task_id, id);
    return id;
  });
  return items.map((item, index) => {
    const depends = [
      ...new Set(
        item.depends_on.map((d) => idMap.get(d) ?? (used.has(d) ? d : undefined)).filter((
          d,
        ): d is string => d !== undefined && d !== ids[index]),
      ),
    ];
    const tools = [...new Set(item.tools)].filter((t) => allowedTools.includes(t));
    const networkHosts = subtaskHosts(item.network_hosts ?? [], tools, hosts.givenText ?? "");
    for (const line of networkHosts.refused) hosts.onRefused?.(ids[index], line);
    const named = [...new Set(item.mcp_servers ?? [])];
    const mcpServers = named.filter((name) => hosts.mcpServers?.includes(name));
    for (const name of named.filter((n) => !mcpServers.includes(n))) {
      hosts.onMcpDropped?.(ids[index], name);
    }
    return {
      task_id: ids[index],
      title: item.title.trim() || ids[index],
      description: item.description.trim(),
      role_tag: slug(item.role_tag || "task-operator"),
      depends_on: depends,
      acceptance_criteria: item.acceptance_criteria.map((c) => c.trim()).filter(Boolean),
      requires_tool: item.requires_tool,
      tools,
      // Judged on the allowed tools: an agent can only write through file_io.
      writes_files: item.writes_files && tools.includes("file_io"),
      network_hosts: networkHosts.hosts,
      ...(mcpServers.length ? { mcp_servers: mcpServers } : {}),
      phase,
      status: depends.length ? "waiting" : "pending",
      assigned_agent_id: null,
      result: "",
      error: "",
      attempts: 0,
      prior_failures: [],
      started_at: null,
      finished_at: null,
    };
  });
}

/** The checked hosts of one planned subtask; none without a tool that can reach the network. */
function subtaskHosts(raw: readonly string[], tools: readonly ToolName[], givenText: string) {
  const checked = checkHostPatterns(raw, givenText);
  const reaches = tools.some((t) => NETWORK_TOOLS.includes(t) || EXEC_TOOLS.includes(t));
  if (reaches || checked.hosts.length === 0) return checked;
  return {
    hosts: [],
    refused: [
      ...checked.refused,
      `network hosts ${
        checked.hosts.join(", ")
      } refused: the subtask has no tool that reaches the network (${
        [...NETWORK_TOOLS, ...EXEC_TOOLS].join(", ")
      })`,
    ],
  };
}
