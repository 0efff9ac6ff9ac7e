import assert from "node:assert/strict";
import { join } from "node:path";
import { parseContextJson } from "../../cli/run.ts";
import { tempDir } from "../helpers/temp.ts";

Deno.test("--context-json takes an inline object or a file, and refuses anything else in one line", async () => {
  await using dir = await tempDir();
  assert.deepEqual(parseContextJson(undefined, dir.path), {});
  assert.deepEqual(parseContextJson(' {"a": 1}', dir.path), { a: 1 });
  await Deno.writeTextFile(join(dir.path, "ctx.json"), '{"from": "file"}');
  assert.deepEqual(parseContextJson("ctx.json", dir.path), { from: "file" });
  assert.throws(
    () => parseContextJson("[1]", dir.path),
    /neither a JSON object nor a readable file/,
  );
  assert.throws(() => parseContextJson("{nope", dir.path), /not valid JSON/);
  await Deno.writeTextFile(join(dir.path, "list.json"), "[1, 2]");
  assert.throws(() => parseContextJson("list.json", dir.path), /must decode to a JSON object/);
});
