import assert from "node:assert/strict";
import { join } from "node:path";
import { MemoryStore } from "../../store/memory.ts";
import { tempDir } from "../helpers/temp.ts";

Deno.test("capsule memory returns recent and relevant entries", async () => {
  await using dir = await tempDir();
  const memory = MemoryStore.open(join(dir.path, "memory.db"));
  const v = (x: number, y: number) => {
    const n = Math.hypot(x, y);
    return new Float32Array([x / n, y / n]);
  };
  memory.add({ content: "listed the src folder", embedding: v(1, 0), sessionId: "s" });
  memory.add({ content: "counted python files", embedding: v(0, 1) });
  memory.add({ content: "no embedding" });
  assert.deepEqual(memory.recent(2).map((m) => m.content), [
    "no embedding",
    "counted python files",
  ]);
  const relevant = memory.relevant(v(0.9, 0.1), 1);
  assert.equal(relevant[0].content, "listed the src folder");
  assert.ok(relevant[0].score! > 0.9);
  assert.equal(memory.count(), 3);
  memory.close();
});
