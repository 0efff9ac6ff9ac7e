/**
 * Capsules on disk: `<agents dir>/<agent_id>/` with manifest.json, skill.md,
 * memory.db and logs/. Every path is built from a validated id and checked to
 * stay inside the agents dir, so no id can reach outside it.
 */
import { join, relative, resolve, sep } from "node:path";
import { ClosedClawError } from "../core/errors.ts";
import { assertAgentId, newAgentId } from "../core/ids.ts";
import { MemoryStore } from "../store/memory.ts";
import { closeStoreAt } from "./memory_stores.ts";
import {
  type Manifest,
  MANIFEST_VERSION,
  ManifestSchema,
  type Permissions,
  PermissionsSchema,
  publicManifest,
  type ToolName,
} from "./manifest.ts";
import { cloneJson } from "../core/clone.ts";

/** What a new capsule is made from; unset fields take the manifest's defaults. */
export interface CapsuleInput {
  /** Display name; the agent id is derived from it. */
  name: string;
  /** What the agent does; routing matches subtasks against it. */
  description: string;
  /** Tools the agent may call. */
  tools_allowlist: ToolName[];
  /** Free-form labels. */
  tags?: string[];
  /** Skills (layer 1) to include in its prompt. */
  skill_ids?: string[];
  /** Its own skill.md (layer 2); default: name and description. */
  skill_md?: string;
  /** What it may touch; default: read the workspace, write nothing. */
  permissions?: Partial<Permissions>;
  /** The embedder that produced `embedding_vector`. */
  embedding_model?: string;
  /** The description's embedding. */
  embedding_vector?: number[];
  /** Paid or external APIs it is known to call. */
  api_capabilities?: string[];
  /** Tools or actions that always need a human approval. */
  requires_approval_for?: string[];
  /** Evolution: its traits (JSON). */
  genome_json?: string;
  /** Evolution: the agents it was derived from (JSON). */
  lineage_json?: string;
  /** Use this id instead of generating one (built-in agents). */
  agent_id?: string;
}

/** The capsule folder of `agentId`, guaranteed to be a direct child of `agentsDir`. */
export function capsuleDir(agentsDir: string, agentId: string): string {
  assertAgentId(agentId);
  const root = resolve(agentsDir);
  const dir = resolve(root, agentId);
  const rel = relative(root, dir);
  if (rel === "" || rel.startsWith("..") || rel.includes(sep)) {
    throw new ClosedClawError("invalid_agent_id", `"${agentId}" does not name a capsule folder.`, {
      exitCode: 2,
    });
  }
  return dir;
}

/** Creates a capsule; its files appear at once or not at all. */
export function createCapsule(agentsDir: string, input: CapsuleInput): Manifest {
  Deno.mkdirSync(agentsDir, { recursive: true });
  for (let attempt = 0; attempt < 5; attempt++) {
    const agentId = input.agent_id ?? newAgentId(input.name);
    const dir = capsuleDir(agentsDir, agentId);
    if (exists(dir)) {
      if (input.agent_id) {
        throw new ClosedClawError("agent_exists", `Agent ${agentId} already exists.`, {
          hint: "Delete it first with `closed-claw delete-agent`.",
        });
      }
      continue; // random suffix collided; draw another
    }
    const manifest = ManifestSchema.parse({
      agent_id: agentId,
      name: input.name,
      description: input.description,
      embedding_model: input.embedding_model,
      embedding_vector: input.embedding_vector ?? [],
      tools_allowlist: input.tools_allowlist,
      tags: input.tags ?? [],
      api_capabilities: input.api_capabilities ?? [],
      requires_approval_for: input.requires_approval_for ?? [],
      skill_ids: input.skill_ids ?? [],
      permissions: PermissionsSchema.parse(input.permissions ?? {}),
      version: MANIFEST_VERSION,
      created_at: new Date().toISOString(),
      genome_json: input.genome_json ?? "{}",
      lineage_json: input.lineage_json ?? "{}",
    });
    // Build in a hidden sibling folder, then rename: a crash never leaves half a capsule.
    const staging = join(agentsDir, `.staging-${agentId}-${crypto.randomUUID().slice(0, 8)}`);
    Deno.mkdirSync(join(staging, "logs"), { recursive: true });
    try {
      Deno.writeTextFileSync(join(staging, "manifest.json"), JSON.stringify(manifest, null, 2));
      Deno.writeTextFileSync(join(staging, "skill.md"), input.skill_md ?? defaultSkill(manifest));
      MemoryStore.open(join(staging, "memory.db")).close();
      Deno.renameSync(staging, dir);
    } catch (error) {
      Deno.removeSync(staging, { recursive: true });
      throw error;
    }
    return manifest;
  }
  throw new ClosedClawError("agent_id_collision", "Could not find a free agent id.", {
    hint: "Try again.",
  });
}

function defaultSkill(m: Manifest): string {
  return `# ${m.name}\n\n${m.description}\n`;
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Manifests parsed before, by path, with the text they were parsed from: a
 * run reads its agents' manifests several times (routing, prestart, launch),
 * and validating one (its embedding vector included) costs far more than
 * reading the file. The text decides, never file times or inode numbers
 * (a rewrite can reuse both).
 */
const manifestCache = new Map<string, { text: string; manifest: Manifest }>();
const MANIFEST_CACHE_SIZE = 256;

/** Reads and validates a capsule's manifest; null when missing or invalid. Each call gets its own copy. */
export function readManifest(agentsDir: string, agentId: string): Manifest | null {
  const path = join(capsuleDir(agentsDir, agentId), "manifest.json");
  try {
    const text = Deno.readTextFileSync(path);
    const cached = manifestCache.get(path);
    if (cached?.text === text) return cloneJson(cached.manifest);
    const parsed = ManifestSchema.safeParse(JSON.parse(text));
    if (!parsed.success) return null;
    manifestCache.delete(path);
    manifestCache.set(path, { text, manifest: cloneJson(parsed.data) });
    if (manifestCache.size > MANIFEST_CACHE_SIZE) {
      manifestCache.delete(manifestCache.keys().next().value!);
    }
    return parsed.data;
  } catch {
    return null;
  }
}

/** Writes a capsule's manifest back (e.g. after the coordinator changes its status). */
export function writeManifest(agentsDir: string, manifest: Manifest): void {
  const dir = capsuleDir(agentsDir, manifest.agent_id);
  const tmp = join(dir, `.manifest-${crypto.randomUUID().slice(0, 8)}.json`);
  Deno.writeTextFileSync(tmp, JSON.stringify(ManifestSchema.parse(manifest), null, 2));
  Deno.renameSync(tmp, join(dir, "manifest.json"));
}

/** A capsule's skill.md, or "" when missing. */
export function readSkill(agentsDir: string, agentId: string): string {
  try {
    return Deno.readTextFileSync(join(capsuleDir(agentsDir, agentId), "skill.md"));
  } catch {
    return "";
  }
}

/** Every capsule folder with a valid manifest, by agent id; invalid ones are reported. */
export function listCapsules(agentsDir: string): { manifests: Manifest[]; invalid: string[] } {
  const manifests: Manifest[] = [];
  const invalid: string[] = [];
  let entries: Deno.DirEntry[] = [];
  try {
    entries = [...Deno.readDirSync(agentsDir)];
  } catch {
    return { manifests, invalid };
  }
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory || entry.name.startsWith(".")) continue;
    const hasManifest = exists(join(agentsDir, entry.name, "manifest.json"));
    if (!hasManifest) continue;
    const manifest = /^[a-z0-9][a-z0-9_-]{0,95}$/.test(entry.name)
      ? readManifest(agentsDir, entry.name)
      : null;
    if (manifest && manifest.agent_id === entry.name) manifests.push(manifest);
    else invalid.push(entry.name);
  }
  return { manifests, invalid };
}

/**
 * Deletes a capsule folder. Refuses a folder that is a symlink, so deleting
 * can never follow a link out of the agents dir. True when something was removed.
 */
export function deleteCapsule(agentsDir: string, agentId: string): boolean {
  const dir = capsuleDir(agentsDir, agentId);
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(dir);
  } catch {
    return false;
  }
  if (info.isSymlink || !info.isDirectory) {
    throw new ClosedClawError("unsafe_capsule_path", `${dir} is not a capsule folder.`, {
      hint: "Remove it by hand if you are sure.",
    });
  }
  // Its memory database open in this process must not outlive it (an id made again is another agent).
  closeStoreAt(join(dir, "memory.db"));
  Deno.removeSync(dir, { recursive: true });
  return true;
}

/**
 * Rebuilds `<agents dir>/registry.json` from the manifests on disk, in the
 * shape `{version, agents: [manifest without embedding_vector]}`.
 */
export function syncRegistryIndex(agentsDir: string): number {
  const { manifests } = listCapsules(agentsDir);
  Deno.mkdirSync(agentsDir, { recursive: true });
  const body = { version: MANIFEST_VERSION, agents: manifests.map(publicManifest) };
  const tmp = join(agentsDir, `.registry-${crypto.randomUUID().slice(0, 8)}.json`);
  Deno.writeTextFileSync(tmp, JSON.stringify(body, null, 2) + "\n");
  Deno.renameSync(tmp, join(agentsDir, "registry.json"));
  return manifests.length;
}
