/**
 * The `start` message a capsule receives once it is ready: the task, the
 * system prompt (composed from the host's own files, never the workspace's),
 * the tools it may call, where they may reach, and its budgets.
 */
import { readSoul as readTrustedSoul, soulCandidates } from "../core/soul.ts";
import { mayExist } from "./_fs.ts";
import type { Settings } from "../core/settings.ts";
import type { MemoryEntry } from "../store/memory.ts";
import { toolRegistryForAllowlist } from "../tools/catalog.ts";
import { PROTOCOL_VERSION, type StartMessage, type ToolMode } from "../guest/protocol_types.ts";
import { readSkill } from "./factory.ts";
import type { LaunchPlan } from "./launcher.ts";
import type { Manifest } from "./manifest.ts";
import { composeSystemPrompt, STEP_JSON_SCHEMA } from "./prompt.ts";
import { loadSkillsForPrompt } from "./skills.ts";
import { declareTools } from "./tool_declarations.ts";

/** Errors in a row, and characters of one tool result, the guest loop tolerates. */
const MAX_CONSECUTIVE_ERRORS = 4;
const MAX_OBSERVATION_CHARS = 6000;

/** What the start message is made of. */
export interface StartParts {
  settings: Settings;
  manifest: Manifest;
  plan: LaunchPlan;
  task: string;
  workspace: string;
  context?: Record<string, unknown>;
  /** Replaces the composed prompt (identity, skills, workspace, memories). */
  systemPrompt?: string;
  /** Overrides CLOSED_CLAW_TOOL_CALLING. */
  toolMode?: ToolMode;
  maxSteps?: number;
  /** Called only when the prompt is composed here. */
  recall: () => MemoryEntry[];
}

/**
 * Layer 0 of the prompt: the soul file, read again for every capsule so a file
 * changed during a run is checked again (only trusted content counts).
 */
export function readSoul(settings: Settings): string {
  // Usually there is no soul file: a probe that cannot throw says so before the
  // trust checks, whose failed reads (~15 µs each) would only say the same.
  if (!soulCandidates(settings).some(mayExist)) return "";
  return readTrustedSoul(settings).text;
}

/** Builds the `start` message for one run (every attempt sends the same one). */
export function buildStartMessage(parts: StartParts): StartMessage {
  const { settings, manifest, plan, workspace } = parts;
  const tools = declareTools(toolRegistryForAllowlist(plan.tools), plan.permissions);
  const skills = loadSkillsForPrompt(manifest.skill_ids);
  const prompt = parts.systemPrompt !== undefined
    ? { stable: parts.systemPrompt, tail: "" }
    : composeSystemPrompt({
      soul: readSoul(settings),
      skillMd: readSkill(settings.agentsDir, manifest.agent_id),
      memories: parts.recall(),
      workspace,
      task: parts.task,
    });
  const { permissions } = plan;
  return {
    v: PROTOCOL_VERSION,
    type: "start",
    task: parts.task,
    context: parts.context ?? {},
    system_prompt: prompt.stable,
    ...(prompt.tail ? { system_tail: prompt.tail } : {}),
    tools,
    ...(skills.length ? { skills } : {}),
    tool_context: {
      workspace,
      read_roots: permissions.readRoots,
      write_roots: permissions.writeRoots,
      file_write: permissions.fileWrite,
      sql_paths: permissions.sqlPaths,
      network_hosts: permissions.networkHosts,
      paid_hosts: settings.paidApiProviders,
    },
    limits: {
      max_steps: parts.maxSteps ?? settings.agentMaxSteps,
      max_tool_calls: settings.maxToolCallsPerAgent,
      max_consecutive_errors: MAX_CONSECUTIVE_ERRORS,
      max_observation_chars: MAX_OBSERVATION_CHARS,
    },
    step_schema: STEP_JSON_SCHEMA,
    tool_mode: parts.toolMode ?? (settings.toolCalling === "json" ? "json" : "native"),
  };
}
