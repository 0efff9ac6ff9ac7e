import assert from "node:assert/strict";
import { join } from "node:path";
import { installBuiltinAgents, loadBuiltinAgents } from "../../capsule_runtime/builtin_agents.ts";
import { deleteCapsule, readManifest, readSkill } from "../../capsule_runtime/factory.ts";
import { isSkillId, listSkills } from "../../capsule_runtime/skills.ts";
import { HashEmbedder } from "../../store/hash_embedder.ts";
import { openStore } from "../../store/mod.ts";
import { VectorIndex } from "../../store/vector_index.ts";
import { tempDir, testSettings } from "../helpers/temp.ts";

Deno.test("the shipped built-in agents are valid and name skills that exist", () => {
  const builtins = loadBuiltinAgents();
  assert.ok(builtins.some((b) => b.agent_id === "terminal-master"));
  const skills = new Set(listSkills().map((s) => s.skill_id));
  for (const b of builtins) {
    for (const id of b.skill_ids ?? []) {
      assert.ok(isSkillId(id) && skills.has(id), `${b.agent_id}: ${id}`);
    }
    assert.match(b.skill_md, /## Scope Constraints/, `${b.agent_id} states its scope`);
  }
});

Deno.test("built-ins are installed once, embedded and indexed; a deleted one stays deleted", async () => {
  await using dir = await tempDir();
  const settings = testSettings(dir.path);
  const store = openStore(settings.dbPath);
  try {
    const embedder = new HashEmbedder();
    const index = new VectorIndex(store.db, embedder.dim);
    const deps = { agentsDir: settings.agentsDir, store, embedder, index };
    assert.deepEqual(await installBuiltinAgents(deps), ["terminal-master"]);
    const manifest = readManifest(settings.agentsDir, "terminal-master")!;
    assert.deepEqual(manifest.tools_allowlist, ["terminal", "file_io"]);
    assert.equal(manifest.permissions.file_write, false);
    assert.match(readSkill(settings.agentsDir, "terminal-master"), /# Terminal Master/);
    assert.equal(store.agents.get("terminal-master")?.name, "Terminal Master");
    const [query] = await embedder.embed(["search the project files from the command line"]);
    assert.equal(index.search(query, 1)[0]?.agentId, "terminal-master");

    assert.deepEqual(await installBuiltinAgents(deps), [], "nothing new the second time");
    store.agents.delete("terminal-master");
    deleteCapsule(settings.agentsDir, "terminal-master");
    assert.deepEqual(await installBuiltinAgents(deps), [], "the user's deletion is respected");
  } finally {
    store.close();
  }
});

Deno.test("a broken built-in definition is one clear error naming the file", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(join(dir.path, "bad-agent"));
  await Deno.writeTextFile(
    join(dir.path, "bad-agent", "agent.json"),
    JSON.stringify({
      agent_id: "bad-agent",
      name: "Bad",
      description: "x",
      tools_allowlist: ["rm"],
    }),
  );
  await Deno.writeTextFile(join(dir.path, "bad-agent", "skill.md"), "# Bad\n");
  assert.throws(() => loadBuiltinAgents(dir.path), /bad-agent\/agent\.json is not valid/);
});
