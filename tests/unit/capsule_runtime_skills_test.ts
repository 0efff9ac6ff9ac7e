import assert from "node:assert/strict";
import { join } from "node:path";
import {
  BUILTIN_SKILLS_DIR,
  listSkills,
  loadSkillsForPrompt,
  parseSkillText,
  readSkill,
  skillCatalogue,
} from "../../capsule_runtime/skills.ts";
import { TOOL_NAMES } from "../../capsule_runtime/manifest.ts";
import { tempDir } from "../helpers/temp.ts";

/** The seven built-in skills and the tools each one must talk about. */
const BUILTIN: Record<string, string[]> = {
  data_analysis: ["python_exec"],
  file_system: ["file_io"],
  git: ["terminal", "git "],
  python_scripting: ["python_exec"],
  sql_databases: ["sql_query"],
  terminal: ["terminal", "bash -c"],
  web_http: ["web_fetch", "http_api"],
};

Deno.test("all seven built-in skills are listed, sorted, with labels and descriptions", () => {
  const skills = listSkills();
  assert.deepEqual(skills.map((s) => s.skill_id), Object.keys(BUILTIN).sort());
  for (const s of skills) {
    assert.ok(s.label.length > 0 && s.label !== s.skill_id, `${s.skill_id}: label`);
    assert.ok(s.description.length >= 20, `${s.skill_id}: description`);
    assert.ok(s.description.length <= 200, `${s.skill_id}: description too long`);
    assert.ok(!/[\r\n]/.test(s.description), `${s.skill_id}: description is one line`);
    assert.ok(!s.description.startsWith("#"));
    assert.equal(s.path, join(BUILTIN_SKILLS_DIR, `${s.skill_id}.md`));
    assert.ok(s.content_length > 0);
  }
  assert.equal(skills.find((s) => s.skill_id === "git")?.label, "Git");
});

Deno.test("each built-in skill names its tool and stays focused", () => {
  for (const [id, needles] of Object.entries(BUILTIN)) {
    const skill = readSkill(id);
    assert.ok(skill, id);
    const { info, content } = skill;
    assert.equal(info.content_length, content.length);
    assert.ok(content.startsWith("# "), `${id}: starts with a title`);
    assert.ok((TOOL_NAMES as readonly string[]).includes(needles[0]), `${id}: a real tool`);
    for (const needle of needles) assert.ok(content.includes(needle), `${id} mentions ${needle}`);
    assert.ok(info.description.includes(needles[0]), `${id}: the description names its tool`);
    const lines = content.trimEnd().split("\n").length;
    assert.ok(lines >= 40 && lines <= 90, `${id}: ${lines} lines`);
    assert.match(content, /never invent/i, `${id}: warns against inventing output`);
    assert.match(content, /secret/i, `${id}: warns about secrets`);
  }
});

Deno.test("the catalogue has an id and description for every skill", () => {
  const catalogue = skillCatalogue();
  assert.equal(catalogue.length, 7);
  for (const entry of catalogue) {
    assert.deepEqual(Object.keys(entry).sort(), ["description", "skill_id"]);
    assert.ok(entry.description.length > 0);
  }
  assert.deepEqual(catalogue.map((c) => c.skill_id), listSkills().map((s) => s.skill_id));
});

Deno.test("readSkill refuses ids that are not [a-z0-9_]+", () => {
  for (const bad of ["../x", "a/b", "..", "", "Git", "git.md", "/etc/passwd", "a\\b", "a b"]) {
    assert.equal(readSkill(bad), null, JSON.stringify(bad));
  }
  assert.equal(readSkill("no_such_skill"), null);
});

Deno.test("loadSkillsForPrompt keeps the given order and skips unknown ids", () => {
  const loaded = loadSkillsForPrompt(["web_http", "nope", "../git", "git", "terminal", "git"]);
  assert.deepEqual(loaded.map((s) => s.id), ["web_http", "git", "terminal"]);
  assert.equal(loaded[1].text, readSkill("git")!.content);
  assert.ok(loaded[0].text.startsWith("# "));
  assert.deepEqual(loadSkillsForPrompt([]), []);
});

Deno.test("a custom skills folder works and badly named files are ignored", async () => {
  await using tmp = await tempDir("claw-skills-");
  const dir = tmp.path;
  await Deno.writeTextFile(
    join(dir, "extra_skill.md"),
    "# Extra Skill\n\nDoes   one\nextra   thing.\n\n## Details\n\nMore text.\n",
  );
  await Deno.writeTextFile(join(dir, "Bad Name.md"), "# Bad\n\nIgnored.\n");
  await Deno.writeTextFile(join(dir, "UPPER.md"), "# Upper\n\nIgnored.\n");
  await Deno.writeTextFile(join(dir, "notes.txt"), "# Not markdown\n\nIgnored.\n");
  await Deno.mkdir(join(dir, "folder.md"));
  await Deno.writeTextFile(join(dir, "a2.md"), "No heading here.\r\nSecond line.\r\n");

  const skills = listSkills(dir);
  assert.deepEqual(skills.map((s) => s.skill_id), ["a2", "extra_skill"]);
  const extra = skills[1];
  assert.equal(extra.label, "Extra Skill");
  assert.equal(extra.description, "Does one extra thing.");
  assert.equal(extra.path, join(dir, "extra_skill.md"));
  assert.equal(skills[0].label, "a2");
  assert.equal(skills[0].description, "No heading here. Second line.");

  assert.deepEqual(skillCatalogue(dir), [
    { skill_id: "a2", description: "No heading here. Second line." },
    { skill_id: "extra_skill", description: "Does one extra thing." },
  ]);
  assert.equal(readSkill("extra_skill", dir)?.info.label, "Extra Skill");
  assert.equal(readSkill("folder", dir), null);
  assert.equal(readSkill("git", dir), null);
  assert.deepEqual(
    loadSkillsForPrompt(["extra_skill", "git", "a2"], dir).map((s) => s.id),
    ["extra_skill", "a2"],
  );
});

Deno.test("a missing skills folder lists nothing", () => {
  const missing = join(BUILTIN_SKILLS_DIR, "does_not_exist");
  assert.deepEqual(listSkills(missing), []);
  assert.deepEqual(skillCatalogue(missing), []);
  assert.equal(readSkill("git", missing), null);
  assert.deepEqual(loadSkillsForPrompt(["git"], missing), []);
});

Deno.test("parseSkillText: label, collapsed description, length cap, fences", () => {
  assert.deepEqual(parseSkillText("x", "# C# Tips ##\n\nUse it.\n"), {
    label: "C# Tips",
    description: "Use it.",
  });
  const long = parseSkillText("x", `# T\n\n${"word ".repeat(100)}\n`);
  assert.ok(long.description.length <= 200);
  assert.ok(long.description.endsWith("…"));
  assert.deepEqual(parseSkillText("x", "\uFEFF## Sub\n\n```\ncode\n```\n\nReal text.\n"), {
    label: "x",
    description: "Real text.",
  });
  assert.deepEqual(parseSkillText("empty", ""), { label: "empty", description: "" });
});
