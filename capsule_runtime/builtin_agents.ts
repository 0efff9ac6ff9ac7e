/**
 * Built-in agents shipped with the product (the repository's `agents/`
 * folder, not runtime data). Each is `agents/<agent_id>/agent.json` (the
 * capsule's fields) plus `skill.md`; they are installed into the data dir
 * once, embedded and indexed like any other agent, so routing can reuse them.
 * A built-in the user deleted stays deleted.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { ClosedClawError } from "../core/errors.ts";
import { type CapsuleInput, readManifest } from "./factory.ts";
import { type CapsuleRegistry, registerCapsule } from "./register.ts";
import { PermissionsSchema, TOOL_NAMES } from "./manifest.ts";

const AGENTS_URL = new URL("../agents", import.meta.url);

/** The repository's `agents/` folder. */
export const BUILTIN_AGENTS_DIR: string = AGENTS_URL.protocol === "file:"
  ? fileURLToPath(AGENTS_URL)
  : AGENTS_URL.href;

/** Records which built-ins were installed once, so a deleted one is not brought back. */
const MARKER = ".builtin_installed.json";

const BuiltinSchema = z.object({
  agent_id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/),
  name: z.string().min(1),
  description: z.string().min(1),
  tools_allowlist: z.array(z.enum(TOOL_NAMES)).min(1),
  tags: z.array(z.string()).default([]),
  skill_ids: z.array(z.string()).default([]),
  permissions: PermissionsSchema.partial().default({}),
}).strict();

/** A built-in agent's definition, with its skill.md. */
export type BuiltinAgent = CapsuleInput & { agent_id: string; skill_md: string };

/** Reads and validates every built-in definition; a broken one is a typed error naming it. */
export function loadBuiltinAgents(dir: string = BUILTIN_AGENTS_DIR): BuiltinAgent[] {
  const out: BuiltinAgent[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)].filter((e) => e.isDirectory);
  } catch {
    return [];
  }
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name, "agent.json");
    let parsed;
    try {
      parsed = BuiltinSchema.parse(JSON.parse(Deno.readTextFileSync(path)));
    } catch (error) {
      throw new ClosedClawError(
        "builtin_agent_invalid",
        `The built-in agent ${path} is not valid: ${(error as Error).message.split("\n")[0]}`,
      );
    }
    if (parsed.agent_id !== entry.name) {
      throw new ClosedClawError(
        "builtin_agent_invalid",
        `The built-in agent in ${entry.name}/ declares agent_id "${parsed.agent_id}"; they must match.`,
      );
    }
    const skill = Deno.readTextFileSync(join(dir, entry.name, "skill.md"));
    out.push({ ...parsed, skill_md: skill });
  }
  return out;
}

function readMarker(agentsDir: string): Set<string> {
  try {
    return new Set(JSON.parse(Deno.readTextFileSync(join(agentsDir, MARKER))) as string[]);
  } catch {
    return new Set();
  }
}

/**
 * Installs the built-ins this data dir has never had; returns their ids.
 * Safe to call at every start: it does nothing once all are installed.
 */
export async function installBuiltinAgents(
  deps: CapsuleRegistry,
  builtins: BuiltinAgent[] = loadBuiltinAgents(),
): Promise<string[]> {
  const installed = readMarker(deps.agentsDir);
  const missing = builtins.filter((b) => !installed.has(b.agent_id));
  if (missing.length === 0) return [];
  const added: string[] = [];
  for (const builtin of missing) {
    if (!readManifest(deps.agentsDir, builtin.agent_id)) {
      added.push((await registerCapsule(deps, builtin)).agent_id);
    }
    installed.add(builtin.agent_id);
  }
  Deno.writeTextFileSync(join(deps.agentsDir, MARKER), JSON.stringify([...installed]) + "\n");
  return added;
}
