import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../store/mod.ts";
import { tempDir } from "../helpers/temp.ts";

const writer = new URL("../fixtures/store_writer.ts", import.meta.url).pathname;

Deno.test("two processes writing the same database at once both succeed", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "registry.db");
  const count = 1000;
  // Both start on an empty file, so they also race on creating the schema.
  const spawn = (label: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", writer, path, label, String(count)],
      stdout: "piped",
      stderr: "piped",
    }).output();
  const [a, b] = await Promise.all([spawn("a"), spawn("b")]);
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  assert.equal(a.code, 0, decode(a.stderr));
  assert.equal(b.code, 0, decode(b.stderr));
  const store = openStore(path);
  assert.equal(store.runs.count(), 2 * count);
  assert.equal(store.runs.count("ok"), 2 * count);
  assert.equal(store.audit.list({ limit: 10_000 }).length, 2 * count);
  store.close();
});
