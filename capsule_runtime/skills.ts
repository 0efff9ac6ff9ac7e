/**
 * The layer-1 skill library (HOST side): shared markdown files, one per
 * skill, named `<skill_id>.md`. The profile-generation prompt sees their
 * catalogue (id and description); a capsule's system prompt gets the full
 * text of the skills its manifest names.
 *
 * A skill file starts with a `# Title` line (the label), then a one-line
 * paragraph (the description). Only `[a-z0-9_]+` ids are valid, so an id
 * can never point outside the skills folder.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { SkillWire } from "../guest/protocol_types.ts";

/** One skill file, as the catalogue and the CLI show it. */
export interface SkillInfo {
  skill_id: string;
  /** The text of the first `# ` heading (the id when there is none). */
  label: string;
  /** The first paragraph that is not a heading: one line, at most 200 characters. */
  description: string;
  /** Absolute (or as given) path of the file. */
  path: string;
  /** Length of the file's text in characters. */
  content_length: number;
}

const SKILLS_URL = new URL("../skills", import.meta.url);

/** The repository's `skills/` folder, shipped with the product. */
export const BUILTIN_SKILLS_DIR: string = SKILLS_URL.protocol === "file:"
  ? fileURLToPath(SKILLS_URL)
  : SKILLS_URL.href;

/** Valid skill ids: lower-case letters, digits and underscores. */
const SKILL_ID = /^[a-z0-9_]{1,64}$/;
const SKILL_FILE = /^([a-z0-9_]{1,64})\.md$/;
const MAX_DESCRIPTION = 200;
/** Characters of one guide an agent can read (the loop shows it as one tool result). */
const MAX_GUIDE_CHARS = 5000;

/** Whether `id` is a well-formed skill id (and so cannot escape the folder). */
export function isSkillId(id: string): boolean {
  return SKILL_ID.test(id);
}

/** Label and description of a skill's markdown text. */
export function parseSkillText(
  skillId: string,
  content: string,
): { label: string; description: string } {
  const lines = content.replace(/^\uFEFF/, "").split(/\r?\n/);
  let label = "";
  const paragraph: string[] = [];
  let inFence = false;
  for (const raw of lines) {
    const line = raw.trim();
    if (line.startsWith("```") || line.startsWith("~~~")) {
      inFence = !inFence;
      if (paragraph.length > 0) break;
      continue;
    }
    if (inFence) continue;
    if (!label) {
      const heading = /^#\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
      if (heading && heading[1]) {
        label = heading[1];
        continue;
      }
    }
    if (line.startsWith("#") || line === "") {
      if (paragraph.length > 0) break;
      continue;
    }
    paragraph.push(line);
  }
  let description = paragraph.join(" ").replace(/\s+/g, " ").trim();
  if (description.length > MAX_DESCRIPTION) {
    description = description.slice(0, MAX_DESCRIPTION - 1).trimEnd() + "…";
  }
  return { label: label || skillId, description };
}

function isMissing(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory;
}

/** The file's text, or null when it is missing or not a regular file. */
function readSkillFile(path: string): string | null {
  try {
    if (!Deno.statSync(path).isFile) return null;
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}

function infoFor(skillId: string, path: string, content: string): SkillInfo {
  return {
    skill_id: skillId,
    ...parseSkillText(skillId, content),
    path,
    content_length: content.length,
  };
}

/**
 * Every skill in `dir` (default: the built-in library), sorted by id. Files
 * whose names are not `[a-z0-9_]+.md` are ignored; a missing folder gives [].
 *
 * @example
 * ```ts
 * listSkills().map((s) => s.skill_id); // ["data_analysis", "file_system", "git", …]
 * ```
 */
export function listSkills(dir: string = BUILTIN_SKILLS_DIR): SkillInfo[] {
  let names: string[];
  try {
    names = [...Deno.readDirSync(dir)]
      .filter((entry) => entry.isFile || entry.isSymlink)
      .map((entry) => entry.name);
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
  const skills: SkillInfo[] = [];
  for (const name of names) {
    const match = SKILL_FILE.exec(name);
    if (!match) continue;
    const path = join(dir, name);
    const content = readSkillFile(path);
    if (content !== null) skills.push(infoFor(match[1], path, content));
  }
  return skills.sort((a, b) => (a.skill_id < b.skill_id ? -1 : a.skill_id > b.skill_id ? 1 : 0));
}

/**
 * One skill's info and full text, or null when the id is unknown or not a
 * valid id (`../x`, `a/b`, upper case, …).
 *
 * @example
 * ```ts
 * readSkill("git")?.info.label; // "Git"
 * readSkill("../secrets"); // null
 * ```
 */
export function readSkill(
  skillId: string,
  dir: string = BUILTIN_SKILLS_DIR,
): { info: SkillInfo; content: string } | null {
  if (typeof skillId !== "string" || !isSkillId(skillId)) return null;
  const path = join(dir, `${skillId}.md`);
  const content = readSkillFile(path);
  if (content === null) return null;
  return { info: infoFor(skillId, path, content), content };
}

/**
 * The skill catalogue for the profile-generation prompt: id and description
 * of every skill, sorted by id.
 */
export function skillCatalogue(
  dir: string = BUILTIN_SKILLS_DIR,
): { skill_id: string; description: string }[] {
  return listSkills(dir).map((s) => ({ skill_id: s.skill_id, description: s.description }));
}

/**
 * The text of each named skill for a capsule's system prompt (layer 1), in
 * the given order; unknown or invalid ids are skipped, duplicates kept once.
 *
 * @example
 * ```ts
 * loadSkillsForPrompt(["git", "nope", "terminal"]).map((s) => s.id); // ["git", "terminal"]
 * ```
 */
export function loadSkillsForPrompt(
  ids: readonly string[],
  dir: string = BUILTIN_SKILLS_DIR,
): SkillWire[] {
  const seen = new Set<string>();
  const out: SkillWire[] = [];
  for (const id of ids) {
    if (seen.has(id)) continue;
    seen.add(id);
    const skill = readSkill(id, dir);
    if (!skill) continue;
    const text = skill.content.length > MAX_GUIDE_CHARS
      ? `${skill.content.slice(0, MAX_GUIDE_CHARS)}… [guide cut]`
      : skill.content;
    out.push({ id, description: skill.info.description, text });
  }
  return out;
}
