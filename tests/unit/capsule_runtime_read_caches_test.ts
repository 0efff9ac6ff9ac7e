/**
 * What a long-lived process keeps between runs must never hide a change:
 * a rewritten manifest is read again, each caller gets its own copy; memory
 * written through one handle is recalled through another, also after its
 * database was closed for being the least recently used.
 */
import assert from "node:assert/strict";
import {
  createCapsule,
  deleteCapsule,
  readManifest,
  writeManifest,
} from "../../capsule_runtime/factory.ts";
import { CapsuleMemory } from "../../capsule_runtime/capsule_memory.ts";
import { MemoryStore } from "../../store/memory.ts";
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
  // Rewrites in quick succession (a freed inode reused, the same size and time) are all seen.
  for (let i = 0; i < 200; i++) {
    const current = readManifest(dir.path, made.agent_id)!;
    writeManifest(dir.path, {
      ...current,
      permissions: { ...current.permissions, read_roots: ["/aaaa"] },
    });
    const root = i % 2 ? "/bbbb" : "/cccc";
    writeManifest(dir.path, {
      ...current,
      permissions: { ...current.permissions, read_roots: [root] },
    });
    assert.deepEqual(readManifest(dir.path, made.agent_id)!.permissions.read_roots, [root]);
  }
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

Deno.test("the same memory remembered again is stored once, as the newest", async () => {
  await using dir = await tempDir();
  const { agent_id } = createCapsule(dir.path, {
    name: "Repeater",
    description: "Runs the same task.",
    tools_allowlist: ["file_io"],
  });
  const memory = CapsuleMemory.open(dir.path, agent_id);
  const a = { kind: "episodic", content: "Task: count a.txt\nOutcome (ok): 3 lines." };
  const b = { kind: "episodic", content: "Task: count a.txt\nOutcome (ok): 4 lines." };
  for (const [i, update] of [a, a, b, a].entries()) {
    memory.remember([update], { runId: `run-${i}` });
  }
  const recalled = memory.recall("count a.txt").map((m) => m.content);
  assert.equal(recalled.filter((c) => c === a.content).length, 1);
  assert.equal(recalled.filter((c) => c === b.content).length, 1);
  // What was learned last comes first among the recent ones.
  const store = MemoryStore.open(`${dir.path}/${agent_id}/memory.db`);
  try {
    assert.deepEqual(store.recent(2).map((m) => m.content), [a.content, b.content]);
  } finally {
    store.close();
  }
});

Deno.test("an agent deleted and made again with the same id starts with an empty memory", async () => {
  await using dir = await tempDir();
  const input = { agent_id: "keeper-1", name: "Keeper", description: "d", tools_allowlist: [] };
  createCapsule(dir.path, input);
  CapsuleMemory.open(dir.path, "keeper-1").remember(
    [{ kind: "episodic", content: "the old agent's note: vault code ZEBRA" }],
    {},
  );
  deleteCapsule(dir.path, "keeper-1");
  createCapsule(dir.path, { ...input, description: "another agent, same id" });
  const fresh = CapsuleMemory.open(dir.path, "keeper-1");
  assert.deepEqual(fresh.recall("vault code"), []);
  fresh.remember([{ kind: "episodic", content: "the new agent's note" }], {});
  assert.deepEqual(fresh.recall("note").map((m) => m.content), ["the new agent's note"]);
});
