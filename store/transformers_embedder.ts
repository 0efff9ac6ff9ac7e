/**
 * Neural sentence embeddings with transformers.js (`feature-extraction`, mean
 * pooling, L2-normalised), run on the CPU by onnxruntime-node.
 *
 * Deno needs `--allow-ffi` (onnxruntime-node and sharp are native addons that
 * transformers.js loads on import), `--allow-env` and `--allow-read`; a first
 * download also needs `--allow-net` and `--allow-write` to the model cache.
 */
import { join } from "node:path";
import type { FeatureExtractionPipeline } from "@huggingface/transformers";
import { ClosedClawError } from "../core/errors.ts";
import type { Settings } from "../core/settings.ts";

/** How a model is found. Tests pass `allowRemote: false` and their own `localModelPath`. */
export interface TransformersLoadOptions {
  /** Folder holding `<model id>/config.json`, `tokenizer.json`, `onnx/model.onnx`. Default: `settings.modelCacheDir`. */
  localModelPath?: string;
  /** Download missing files from the Hugging Face Hub. Default: true. */
  allowRemote?: boolean;
  /** Texts per model call. Default: 32. */
  batchSize?: number;
}

/** The settings this module reads. */
export type TransformersSettings = Pick<Settings, "embeddingModel" | "modelCacheDir">;

const DEFAULT_BATCH_SIZE = 32;
const MAX_CAUSE_CHARS = 400;

/**
 * Maps a bare model name to its Hub id: `all-MiniLM-L6-v2` → `Xenova/all-MiniLM-L6-v2`
 * (Xenova publishes ONNX exports under the original names). Ids with "/" are kept.
 */
export function resolveModelId(model: string): string {
  const trimmed = model.trim();
  return trimmed.includes("/") ? trimmed : `Xenova/${trimmed}`;
}

/** An `Embedder` (see `store/embedder.ts`) backed by a loaded transformers.js pipeline. */
export class TransformersEmbedder {
  /** `transformers:<model id>`. */
  readonly name: string;

  constructor(
    readonly modelId: string,
    /** Vector length, read from the model's output. */
    readonly dim: number,
    private readonly extractor: FeatureExtractionPipeline,
    private readonly batchSize: number,
  ) {
    this.name = `transformers:${modelId}`;
  }

  /** Embeds texts in batches; every vector is mean-pooled and unit length. */
  async embed(texts: string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += this.batchSize) {
      out.push(...await runBatch(this.extractor, texts.slice(start, start + this.batchSize)));
    }
    return out;
  }

  /** Releases the ONNX session. */
  async dispose(): Promise<void> {
    await this.extractor.dispose();
  }
}

/**
 * Loads the model named by `settings.embeddingModel`, caching downloads in
 * `settings.modelCacheDir`. Runs one probe text to learn the vector length and to
 * fail here, not on first use.
 *
 * @throws ClosedClawError `embedder_load_failed`, whose hint says what to do.
 */
export async function loadTransformersEmbedder(
  settings: TransformersSettings,
  options: TransformersLoadOptions = {},
): Promise<TransformersEmbedder> {
  const modelId = resolveModelId(settings.embeddingModel);
  const localModelPath = options.localModelPath ?? settings.modelCacheDir;
  const allowRemote = options.allowRemote ?? true;
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? DEFAULT_BATCH_SIZE));

  let transformers: typeof import("@huggingface/transformers");
  try {
    transformers = await import("@huggingface/transformers");
  } catch (error) {
    throw new ClosedClawError(
      "embedder_load_failed",
      `Could not start transformers.js for embedding model "${modelId}": ${oneLine(error)}.`,
      {
        hint: "It needs the native onnxruntime-node and sharp addons: run Deno with " +
          "--allow-ffi --allow-env --allow-read, or set CLOSED_CLAW_ENABLE_SENTENCE_TRANSFORMERS=false.",
        cause: error,
      },
    );
  }

  const { env, LogLevel, pipeline } = transformers;
  // `env` is global to transformers.js: loads with different paths must not overlap.
  env.cacheDir = settings.modelCacheDir;
  env.localModelPath = localModelPath;
  env.allowLocalModels = true;
  env.allowRemoteModels = allowRemote;
  // Its own warnings (e.g. "Unable to load from local path") would repeat ours.
  env.logLevel = LogLevel.ERROR;

  let extractor: FeatureExtractionPipeline | undefined;
  try {
    extractor = await pipeline("feature-extraction", modelId, {
      local_files_only: !allowRemote,
      device: "cpu",
      dtype: "fp32",
    });
    const [probe] = await runBatch(extractor, ["dimension probe"]);
    if (!probe || probe.length === 0) throw new Error("the model returned an empty vector");
    return new TransformersEmbedder(modelId, probe.length, extractor, batchSize);
  } catch (error) {
    await extractor?.dispose().catch(() => {});
    const where = join(localModelPath, modelId) + "/";
    throw new ClosedClawError(
      "embedder_load_failed",
      `Could not load embedding model "${modelId}": ${oneLine(error)}.`,
      {
        hint:
          `Put its files (config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx) in ${where}` +
          (allowRemote ? ", check that huggingface.co is reachable," : "") +
          " or set CLOSED_CLAW_ENABLE_SENTENCE_TRANSFORMERS=false.",
        cause: error,
      },
    );
  }
}

async function runBatch(
  extractor: FeatureExtractionPipeline,
  texts: string[],
): Promise<Float32Array[]> {
  if (texts.length === 0) return [];
  const output = await extractor(texts, { pooling: "mean", normalize: true });
  try {
    const dim = output.dims[output.dims.length - 1];
    const data = output.data;
    if (!(data instanceof Float32Array)) {
      throw new Error(`expected float32 output, got ${output.type}`);
    }
    // Copies, so callers never keep the whole batch buffer alive.
    return texts.map((_, row) => data.slice(row * dim, (row + 1) * dim));
  } finally {
    output.dispose();
  }
}

/** The cause on one short line: sharp's import error, for one, lists install advice for npm users. */
function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines = text.split("\n").map((line) => line.trim()).filter((line) => line.length > 0);
  const advice = lines.findIndex((line) => /^possible solutions/i.test(line));
  const kept = (advice >= 0 ? lines.slice(0, advice) : lines).join(" ").replace(/\s+/g, " ");
  const short = kept.length > MAX_CAUSE_CHARS ? kept.slice(0, MAX_CAUSE_CHARS - 1) + "…" : kept;
  return short.replace(/\.$/, "");
}
