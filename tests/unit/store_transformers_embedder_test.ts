/**
 * Loads a generated tiny BERT with the real transformers.js + onnxruntime-node,
 * offline. Needs `--allow-ffi` (native addons); `deno test -A` gives it.
 */
import assert from "node:assert/strict";
import { ClosedClawError } from "../../core/errors.ts";
import { loadSettings, type Settings } from "../../core/settings.ts";
import { createEmbedder, dot, type Embedder, HashEmbedder } from "../../store/embedder.ts";
import { loadTransformersEmbedder, resolveModelId } from "../../store/transformers_embedder.ts";
import { TINY_BERT_HIDDEN, writeTinyBert } from "../fixtures/tiny_bert.ts";

function settingsFor(home: string, model: string, enabled = true): Settings {
  return loadSettings({
    cwd: home,
    envFile: false,
    env: {
      CLOSED_CLAW_HOME: home,
      CLOSED_CLAW_EMBEDDING_MODEL: model,
      CLOSED_CLAW_ENABLE_SENTENCE_TRANSFORMERS: String(enabled),
      CLOSED_CLAW_EMBEDDING_DIM: "96",
    },
  });
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "transformers_embedder_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function disposeOf(embedder: Embedder): Promise<void> {
  await embedder.dispose?.();
}

Deno.test("resolveModelId: bare names go to Xenova/, full ids are kept", () => {
  assert.equal(resolveModelId("all-MiniLM-L6-v2"), "Xenova/all-MiniLM-L6-v2");
  assert.equal(resolveModelId(" BAAI/bge-small-en-v1.5 "), "BAAI/bge-small-en-v1.5");
});

Deno.test("transformers embedder: loads the generated tiny BERT offline and embeds sensibly", async () => {
  await withTempDir(async (dir) => {
    const fixture = await writeTinyBert(dir);
    const settings = settingsFor(dir, fixture.modelId);
    // batchSize 2 with 5 texts exercises batching and padding.
    const embedder = await loadTransformersEmbedder(settings, {
      localModelPath: fixture.localModelPath,
      allowRemote: false,
      batchSize: 2,
    });
    try {
      assert.equal(embedder.dim, fixture.hidden);
      assert.equal(embedder.dim, TINY_BERT_HIDDEN);
      assert.equal(embedder.name, `transformers:${fixture.modelId}`);
      const texts = [
        "list the files in the project folder",
        "show the files in the project folder please",
        "bake a chocolate cake",
        "the weather is sunny today",
        "",
      ];
      const vectors = await embedder.embed(texts);
      assert.equal(vectors.length, texts.length);
      for (const v of vectors) {
        assert.equal(v.length, fixture.hidden);
        assert.ok(Math.abs(Math.sqrt(dot(v, v)) - 1) < 1e-4);
      }
      const [files, filesAgain, cake, weather] = vectors;
      const shared = dot(files, filesAgain);
      assert.ok(shared > dot(files, cake) + 0.3, `shared ${shared} vs cake ${dot(files, cake)}`);
      assert.ok(
        shared > dot(files, weather) + 0.3,
        `shared ${shared} vs weather ${dot(files, weather)}`,
      );
      // Padding in a batch must not change a text's vector.
      const [alone] = await embedder.embed([texts[2]]);
      assert.ok(dot(alone, cake) > 0.9999);
      assert.deepEqual(await embedder.embed([]), []);
    } finally {
      await embedder.dispose();
    }
  });
});

Deno.test("createEmbedder: uses transformers.js when enabled and the model is there", async () => {
  await withTempDir(async (dir) => {
    const fixture = await writeTinyBert(dir);
    const warnings: string[] = [];
    const embedder = await createEmbedder(settingsFor(dir, fixture.modelId), {
      onWarning: (line) => warnings.push(line),
      transformers: { localModelPath: fixture.localModelPath, allowRemote: false },
    });
    try {
      assert.deepEqual(warnings, []);
      assert.equal(embedder.name, `transformers:${fixture.modelId}`);
      assert.equal(embedder.dim, fixture.hidden);
    } finally {
      await disposeOf(embedder);
    }
  });
});

Deno.test("createEmbedder: a missing model falls back to hashing with exactly one warning line", async () => {
  await withTempDir(async (dir) => {
    const settings = settingsFor(dir, "closed-claw-test/missing-model");
    const warnings: string[] = [];
    const embedder = await createEmbedder(settings, {
      onWarning: (line) => warnings.push(line),
      transformers: { allowRemote: false },
    });
    assert.ok(embedder instanceof HashEmbedder);
    assert.equal(embedder.dim, 96);
    assert.equal(warnings.length, 1);
    const [line] = warnings;
    assert.ok(!line.includes("\n"), line);
    assert.match(line, /closed-claw-test\/missing-model/);
    assert.ok(line.includes(settings.modelCacheDir), line);
    assert.match(line, /CLOSED_CLAW_ENABLE_SENTENCE_TRANSFORMERS=false/);
    assert.equal((await embedder.embed(["still works"]))[0].length, 96);
  });
});

Deno.test("createEmbedder: disabled means the hashing embedder, without loading anything", async () => {
  const warnings: string[] = [];
  const embedder = await createEmbedder(settingsFor("/nonexistent", "ignored", false), {
    onWarning: (line) => warnings.push(line),
  });
  assert.ok(embedder instanceof HashEmbedder);
  assert.equal(embedder.dim, 96);
  assert.deepEqual(warnings, []);
});

Deno.test("loadTransformersEmbedder: a missing model throws embedder_load_failed with a hint", async () => {
  await withTempDir(async (dir) => {
    const error = await loadTransformersEmbedder(settingsFor(dir, "nothing-here"), {
      allowRemote: false,
    })
      .then(() => null, (e: unknown) => e);
    assert.ok(error instanceof ClosedClawError, String(error));
    assert.equal(error.code, "embedder_load_failed");
    assert.match(error.message, /Xenova\/nothing-here/);
    assert.match(error.hint ?? "", /onnx\/model\.onnx/);
  });
});
