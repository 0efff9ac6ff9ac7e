/** The built-in skills with how many agents use each. */
import { BUILTIN_SKILLS_DIR, readSkill, type SkillInfo } from "../../capsule_runtime/skills.ts";
import type { WebDeps } from "../deps.ts";

/**
 * Every built-in skill with its text, sorted by id, each file read once
 * (`listSkills()` reads the text only to parse it and does not return it).
 */
function skillsWithText(): { info: SkillInfo; content: string }[] {
  let names: string[];
  try {
    names = [...Deno.readDirSync(BUILTIN_SKILLS_DIR)].map((entry) => entry.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return names
    .map((name) => /^(.+)\.md$/.exec(name)?.[1])
    .map((id) => (id === undefined ? null : readSkill(id)))
    .filter((skill) => skill !== null)
    .sort((a, b) => (a.info.skill_id < b.info.skill_id ? -1 : 1));
}

/** Skills with how many agents use each. */
export function skillsView(deps: WebDeps) {
  const agents = deps.store.agents.list(100_000);
  return skillsWithText().map(({ info, content }) => ({
    skill_id: info.skill_id,
    label: info.label,
    description: info.description,
    content_preview: content.slice(0, 500),
    content_length: info.content_length,
    agent_count: agents.filter((a) => a.skill_ids.includes(info.skill_id)).length,
  }));
}
