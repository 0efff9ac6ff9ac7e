import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../store/mod.ts";
import { tempDir } from "../helpers/temp.ts";

Deno.test("a circuit opens at the threshold, half-opens after the window and grants one trial", async () => {
  await using dir = await tempDir();
  const store = openStore(join(dir.path, "r.db"));
  const t0 = Date.now();
  store.breakers.recordFailure("openai", "500", 3);
  store.breakers.recordFailure("openai", "500", 3);
  assert.equal(store.breakers.state("openai", 60, t0), "closed");
  store.breakers.recordFailure("openai", "500", 3);
  assert.equal(store.breakers.state("openai", 60, t0 + 1000), "open");
  assert.equal(store.breakers.claimTrial("openai", 60, t0 + 1000), false);
  const later = t0 + 61_000;
  assert.equal(store.breakers.state("openai", 60, later), "half_open");
  assert.equal(store.breakers.claimTrial("openai", 60, later), true);
  assert.equal(store.breakers.claimTrial("openai", 60, later), false, "only one trial");
  store.breakers.recordSuccess("openai");
  assert.equal(store.breakers.state("openai", 60, later), "closed");
  assert.equal(store.breakers.get("openai").failure_count, 0);
  // A success on a clear circuit writes nothing (every model call records one).
  const changes = () => (store.db.prepare("SELECT total_changes() AS n").get() as { n: number }).n;
  const before = changes();
  store.breakers.recordSuccess("openai");
  assert.equal(changes(), before);
  store.close();
});
