/**
 * What a long-lived process keeps between runs must never hide a change:
 * a rewritten manifest is read again, each caller gets its own copy; memory
 * written through one handle is recalled through another, also after its
 * database was closed for being the least recently used.
 */
import assert from "node:assert/strict";
import { createCapsule, readManifest, writeManifest } from "../../capsule_runtime/factory.ts";
import { CapsuleMemory } from "../../capsule_runtime/capsule_memory.ts";
import { tempDir } from "../helpers/temp.ts";

Deno.test("a manifest read again after it was rewritten is the new one; callers get copies", async () => {
  await using dir = await tempDir();
  const made = createCapsule(dir.path, {
    name: "Reader",
    description: "Reads notes.",
    tools_allowlist: ["file_io"],
  });
  const first = readManifest(dir.path, made.agent_id)!;
  first.tools_allowlist.push("terminal");
  first.description = "changed by a caller";
  const second = readManifest(dir.path, made.agent_id)!;
  assert.deepEqual(second.tools_allowlist, ["file_io"], "a caller's change is not the file's");
  assert.equal(second.description, "Reads notes.");
  writeManifest(dir.path, { ...second, description: "Reads notes and counts lines." });
  assert.equal(readManifest(dir.path, made.agent_id)!.description, "Reads notes and counts lines.");
  // A file that is no longer a valid manifest is not served from before.
  Deno.writeTextFileSync(`${dir.path}/${made.agent_id}/manifest.json`, "{ not json");
  assert.equal(readManifest(dir.path, made.agent_id), null);
});

Deno.test("memory written through one handle is recalled through another, across the open-database limit", async () => {
  await using dir = await tempDir();
  const agents = Array.from({ length: 20 }, (_, i) =>
    createCapsule(dir.path, {
      name: `Agent ${i}`,
      description: "Remembers.",
      tools_allowlist: ["file_io"],
    }).agent_id);
  for (const [i, id] of agents.entries()) {
    CapsuleMemory.open(dir.path, id).remember([{
      kind: "episodic",
      content: `Task: remember ${i}\nOutcome (ok): number ${i} kept.`,
    }], { runId: `run-${i}` });
  }
  // The first agents' databases were closed to stay under the limit; they open again.
  for (const [i, id] of agents.entries()) {
    const recalled = CapsuleMemory.open(dir.path, id).recall(`remember ${i}`);
    assert.deepEqual(recalled.map((m) => m.content), [
      `Task: remember ${i}\nOutcome (ok): number ${i} kept.`,
    ]);
  }
});

Deno.test("the same memory remembered again is stored once; a new outcome is stored", async () => {
  await using dir = await tempDir();
  const { agent_id } = createCapsule(dir.path, {
    name: "Repeater",
    description: "Runs the same task.",
    tools_allowlist: ["file_io"],
  });
  const memory = CapsuleMemory.open(dir.path, agent_id);
  const same = { kind: "episodic", content: "Task: count a.txt\nOutcome (ok): 3 lines." };
  for (let i = 0; i < 3; i++) memory.remember([same], { runId: `run-${i}` });
  memory.remember([{ kind: "episodic", content: "Task: count a.txt\nOutcome (ok): 4 lines." }], {
    runId: "run-3",
  });
  const recalled = memory.recall("count a.txt").map((m) => m.content);
  assert.equal(recalled.filter((c) => c === same.content).length, 1);
  assert.ok(recalled.some((c) => c.endsWith("4 lines.")));
});
