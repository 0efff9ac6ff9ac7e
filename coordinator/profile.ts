/**
 * Agent profiles for new capsules: one model call writes a reusable,
 * capability-oriented profile (fewest tools, a skill.md with a Scope
 * Constraints section); normalisation keeps only allowed tools and skills
 * and derives the narrowest permissions. When the model fails, a profile is
 * built from the subtask itself, so routing never stops a run.
 */
import { z } from "zod";
import { TOOL_NAMES, type ToolName } from "../capsule_runtime/manifest.ts";
import type { Permissions } from "../capsule_runtime/manifest.ts";
import { skillCatalogue } from "../capsule_runtime/skills.ts";
import { readCatalogue } from "../capsule_runtime/mcp_catalogue.ts";
import { toolSummaries } from "../tools/catalog.ts";
import type { LlmService } from "../llm/types.ts";
import { isFatalLlmError } from "./planner.ts";
import type { Subtask } from "./types.ts";

export const ProfileSchema = z.object({
  profile_id: z.string(),
  name_prefix: z.string().describe("2 to 5 words."),
  description: z.string().describe("At most 28 words: what this agent is good at."),
  tools_allowlist: z.array(z.enum(TOOL_NAMES)),
  tags: z.array(z.string()),
  skill_md: z.string().describe(
    "Markdown: identity, decision rules, output format, and a '## Scope Constraints' section.",
  ),
  skill_ids: z.array(z.string()),
  file_write: z.boolean().describe("True only when the agent must create or change files."),
});
/**
 * The profile asked for when the user has MCP servers in the catalogue (without
 * any, the request is exactly the one above, so recorded runs replay as before).
 */
export const ProfileWithMcpSchema = ProfileSchema.extend({
  mcp_servers: z.array(z.string()).default([]).describe(
    "Names from the MCP server catalogue the agent needs (only those listed); empty when none.",
  ),
});
/** A profile as the model returns it (`mcp_servers` only when the catalogue was offered). */
export type ProfilePayload = z.input<typeof ProfileWithMcpSchema>;

/** A catalogue MCP server as the profile prompt shows it. */
export interface McpServerChoice {
  name: string;
  tools: string[];
  /** A Streamable HTTP server's host: granting the server adds it to `network_hosts`. */
  host?: string;
}

/** The user's MCP server catalogue as the planner and the profile step are shown it (unreadable: none). */
export function mcpServerChoices(homeDir: string): McpServerChoice[] {
  try {
    return readCatalogue(homeDir).map((s) => ({
      name: s.name,
      tools: s.tools.map((t) => t.name),
      ...(s.url ? { host: new URL(s.url).hostname.replace(/^\[|\]$/g, "") } : {}),
    }));
  } catch {
    return [];
  }
}

export interface AgentProfile {
  profile_id: string;
  name_prefix: string;
  description: string;
  tools_allowlist: ToolName[];
  tags: string[];
  skill_md: string;
  skill_ids: string[];
  permissions: Permissions;
  /** MCP servers the model named that are not in the catalogue (dropped, never granted). */
  dropped_mcp_servers?: string[];
  /** "llm", or "fallback:<reason>" when the model's profile could not be used. */
  source: string;
}

const slug = (s: string) =>
  s.toLowerCase().replace(/[^a-z0-9.]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 48);

function titleCase(text: string): string {
  return text.replace(/[^A-Za-z0-9 ]+/g, " ").trim().split(/\s+/).slice(0, 5)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()).join(" ").slice(0, 60);
}

/** Canonical tags: stable capability words that make reuse match. */
export function canonicalTags(text: string, tools: readonly ToolName[]): string[] {
  const t = text.toLowerCase();
  const tags: string[] = [];
  if (/\b(path|folder|director(y|ies))\b/.test(t)) tags.push("fs.path");
  if (/\b(list|ls|find|files?)\b/.test(t)) tags.push("fs.list");
  if (/\b(read|open|inspect|view|content)\b/.test(t)) tags.push("fs.read");
  if (/\b(write|save|create|append|edit)\b/.test(t)) tags.push("fs.write");
  if (/\b(insert|update|delete from)\b/.test(t)) tags.push("db.write");
  if (/\b(sql|sqlite|database|query|table)\b/.test(t)) tags.push("db.read");
  if (/\b(http|url|fetch|api|web)\b/.test(t)) tags.push("http.fetch");
  return [...tags, ...tools.map((tool) => `tool.${tool}`)];
}

function scopeSection(subtask: Subtask, tools: readonly ToolName[], fileWrite: boolean): string {
  return [
    "## Scope Constraints",
    `- Use only these tools: ${tools.join(", ") || "none"}.`,
    "- Stay inside the workspace; never read secrets such as .env files or keys.",
    fileWrite
      ? "- Write only the files the task asks for."
      : "- Do not create, change or delete files.",
    `- Role: ${subtask.role_tag}; decline work outside it and say why.`,
    ...(hostsOf(subtask).length
      ? [`- The network reaches only these hosts: ${hostsOf(subtask).join(", ")}.`]
      : []),
  ].join("\n");
}

/** The hosts the planner proposed (and `network_hosts.ts` checked) for a subtask. */
function hostsOf(subtask: Subtask): string[] {
  return [...(subtask.network_hosts ?? [])];
}

/**
 * Builds the capsule profile from a model payload, keeping every field within
 * bounds. Network hosts come only from the subtask (the planner's proposal):
 * the payload has no field for them, so the profile step cannot add any.
 */
export function normalizeProfile(
  payload: ProfilePayload,
  subtask: Subtask,
  allowedTools: readonly ToolName[],
  source = "llm",
  mcpCatalogue: readonly string[] = [],
  /** Hosts of the catalogue's HTTP servers by name (reached under the agent's network_hosts). */
  mcpHosts: Readonly<Record<string, string>> = {},
): AgentProfile {
  // Only servers the user put in the catalogue can be granted; any other name is dropped.
  // When the planner named servers for the subtask, the agent gets exactly those; otherwise
  // the ones the model asks for.
  const asked = [...new Set(payload.mcp_servers ?? [])];
  const planned = [...new Set(subtask.mcp_servers ?? [])];
  const named = planned.length ? planned : asked;
  const mcpServers = named.filter((name) => mcpCatalogue.includes(name));
  const dropped = [...new Set([...named, ...asked])].filter((name) => !mcpCatalogue.includes(name));
  const requested = payload.tools_allowlist.filter((t) => allowedTools.includes(t));
  // The subtask's own tools are required for it to run at all.
  const tools = [...new Set([...requested, ...subtask.tools])].filter((t) =>
    allowedTools.includes(t)
  ) as ToolName[];
  const name = titleCase(payload.name_prefix) || titleCase(subtask.role_tag) || "Task Operator";
  const description = payload.description.replace(/\s+/g, " ").trim().slice(0, 220) ||
    `Capability operator for tasks like: ${subtask.title.slice(0, 140)}`;
  const fileWrite = (payload.file_write || subtask.writes_files) && tools.includes("file_io");
  const knownSkills = new Set(skillCatalogue().map((s) => s.skill_id));
  let skill = payload.skill_md.trim();
  if (!skill.startsWith("#")) skill = `# ${name}\n\n${skill}`;
  if (!/scope constraints/i.test(skill)) skill += `\n\n${scopeSection(subtask, tools, fileWrite)}`;
  const tags = [
    ...new Set([
      "auto",
      "capability",
      slug(subtask.role_tag),
      ...payload.tags.map(slug),
      ...canonicalTags(`${subtask.title} ${subtask.description} ${description}`, tools),
    ].filter(Boolean)),
  ];
  return {
    profile_id: slug(payload.profile_id) || slug(name),
    name_prefix: name,
    description,
    tools_allowlist: tools,
    tags,
    skill_md: skill + "\n",
    skill_ids: [...new Set(payload.skill_ids)].filter((id) => knownSkills.has(id)),
    permissions: {
      read_roots: ["."],
      write_roots: fileWrite ? ["."] : [],
      // A granted HTTP server's host (from the user's catalogue, not the model) is reachable too.
      network_hosts: [
        ...new Set([...hostsOf(subtask), ...mcpServers.flatMap((n) => mcpHosts[n] ?? [])]),
      ],
      file_write: fileWrite,
      sql_paths: [],
      ...(mcpServers.length ? { mcp_servers: mcpServers } : {}),
    },
    ...(dropped.length ? { dropped_mcp_servers: dropped } : {}),
    source,
  };
}

/** A profile made from the subtask alone, used when the model cannot give one. */
export function fallbackProfile(
  subtask: Subtask,
  allowedTools: readonly ToolName[],
  reason: string,
  mcpCatalogue: readonly string[] = [],
  mcpHosts: Readonly<Record<string, string>> = {},
): AgentProfile {
  return normalizeProfile(
    {
      profile_id: subtask.role_tag,
      name_prefix: subtask.role_tag.replace(/-/g, " "),
      description: `Capability operator for tasks like: ${subtask.title.slice(0, 140)}`,
      tools_allowlist: subtask.tools,
      tags: [],
      skill_md: `# ${
        titleCase(subtask.role_tag)
      }\n\nDo the subtask you are given with the fewest tool calls, then report concrete results.`,
      skill_ids: [],
      file_write: subtask.writes_files,
    },
    subtask,
    allowedTools,
    `fallback:${reason.slice(0, 200)}`,
    mcpCatalogue,
    mcpHosts,
  );
}

/** Asks the model for a profile; falls back to the subtask's own (budget and cancel still stop). */
export async function generateProfile(
  llm: LlmService,
  input: {
    task: string;
    subtask: Subtask;
    allowedTools: readonly ToolName[];
    /** The user's MCP server catalogue; the profile may grant only these. */
    mcpServers?: readonly McpServerChoice[];
  },
  meta: { runId: string; signal?: AbortSignal },
): Promise<AgentProfile> {
  const { subtask, allowedTools } = input;
  const mcp = input.mcpServers ?? [];
  const catalogue = mcp.map((s) => s.name);
  const hosts = Object.fromEntries(mcp.flatMap((s) => s.host ? [[s.name, s.host]] : []));
  const planned = subtask.mcp_servers ?? [];
  const prompt = [
    "Design a reusable, capability-oriented specialist agent. Return JSON with keys profile_id, name_prefix, description, tools_allowlist, tags, skill_md, skill_ids, file_write.",
    `Allowed tools: ${allowedTools.join(", ")}`,
    `Tool catalog:\n${toolSummaries(allowedTools)}`,
    `Skill catalog: ${JSON.stringify(skillCatalogue())}`,
    "Rules: name_prefix has 2-5 words; description at most 28 words; tags include 'auto' and 'capability'; skill_md is markdown (identity, decision rules, output format) and MUST include a '## Scope Constraints' section; tools_allowlist is the minimum needed; file_write only when the agent must write files.",
    ...(mcp.length
      ? [
        `MCP server catalogue (set mcp_servers to the names the agent needs, only from this list):\n${
          mcp.map((s) =>
            `- ${s.name}${s.host ? ` (remote, ${s.host})` : ""}: ${s.tools.join(", ")}`
          ).join("\n")
        }`,
      ]
      : []),
  ].join("\n\n");
  try {
    const { value } = await llm.structured(mcp.length ? ProfileWithMcpSchema : ProfileSchema, {
      messages: [
        { role: "system", content: prompt },
        {
          role: "user",
          content:
            `Original user task: ${input.task}\nRole tag: ${subtask.role_tag}. Subtask title: ${subtask.title}. Subtask description: ${subtask.description}\nTools the subtask needs: ${
              subtask.tools.join(", ") || "none"
            }${
              hostsOf(subtask).length
                ? `\nNetwork hosts it will reach (granted by the planner): ${
                  hostsOf(subtask).join(", ")
                }`
                : ""
            }${
              planned.length
                ? `\nMCP servers it needs (granted by the planner): ${planned.join(", ")}`
                : ""
            }`,
        },
      ],
      schemaName: "agent_profile",
      maxTokens: 1500,
      temperature: 0.2,
      signal: meta.signal,
    }, { runId: meta.runId, taskId: subtask.task_id, purpose: "profile" });
    return normalizeProfile(value, subtask, allowedTools, "llm", catalogue, hosts);
  } catch (error) {
    if (isFatalLlmError(error)) throw error;
    return fallbackProfile(
      subtask,
      allowedTools,
      error instanceof Error ? error.message : String(error),
      catalogue,
      hosts,
    );
  }
}
