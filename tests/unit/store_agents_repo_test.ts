import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../store/mod.ts";
import { parseManifest } from "../../capsule_runtime/manifest.ts";
import { tempDir } from "../helpers/temp.ts";

function manifest(id: string, extra: Record<string, unknown> = {}) {
  return parseManifest({
    agent_id: id,
    name: `Agent ${id}`,
    description: "reads files",
    embedding_vector: [0.1, 0.2, 0.3],
    tools_allowlist: ["file_io"],
    tags: ["auto", "fs.read"],
    created_at: new Date().toISOString(),
    ...extra,
  });
}

Deno.test("writing a stale manifest never resets an agent's metrics", async () => {
  await using dir = await tempDir();
  const store = openStore(join(dir.path, "r.db"));
  store.agents.upsertManifest(manifest("reader-1a2b"));
  store.agents.recordUsage("reader-1a2b", true, 100);
  store.agents.recordUsage("reader-1a2b", false, 300);
  store.agents.setStatus("reader-1a2b", "degraded");
  store.agents.upsertManifest(manifest("reader-1a2b", { description: "reads and lists files" }));
  const row = store.agents.get("reader-1a2b")!;
  assert.equal(row.description, "reads and lists files");
  assert.equal(row.usage_count, 2);
  assert.equal(row.success_count, 1);
  assert.equal(row.failure_count, 1);
  assert.equal(row.success_rate, 0.5);
  assert.equal(row.avg_latency_ms, 200);
  assert.equal(row.status, "degraded");
  assert.deepEqual(row.tools_allowlist, ["file_io"]);
  assert.deepEqual(store.agents.findByTag("fs.read").map((a) => a.agent_id), ["reader-1a2b"]);
  assert.equal(store.agents.delete("reader-1a2b"), true);
  assert.equal(store.agents.delete("reader-1a2b"), false);
  store.close();
});
