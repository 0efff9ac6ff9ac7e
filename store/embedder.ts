/**
 * Text embeddings for the registry: the `Embedder` interface, the factory that
 * picks one from the settings, and vector helpers.
 *
 * The hashing embedder is the default and always works offline. The
 * transformers.js embedder is opt-in (`CLOSED_CLAW_ENABLE_SENTENCE_TRANSFORMERS`)
 * and is imported lazily, so runs that do not use it never load onnxruntime.
 */
import type { Settings } from "../core/settings.ts";
import { errorMessage } from "../core/errors.ts";
import { HashEmbedder } from "./hash_embedder.ts";
import type { TransformersLoadOptions } from "./transformers_embedder.ts";

export { HashEmbedder } from "./hash_embedder.ts";
export type { TransformersLoadOptions } from "./transformers_embedder.ts";

/** Turns texts into unit-length vectors; similar texts get a high dot product. */
export interface Embedder {
  /** Identifies the vector space, e.g. `hash-ngram-v1` or `transformers:Xenova/all-MiniLM-L6-v2`. */
  readonly name: string;
  /** Length of every vector. */
  readonly dim: number;
  /** One L2-normalised vector per text, in input order. */
  embed(texts: string[]): Promise<Float32Array[]>;
  /** Releases native resources, if the embedder holds any. */
  dispose?(): Promise<void>;
}

/** The settings `createEmbedder` reads. */
export type EmbedderSettings = Pick<
  Settings,
  "embeddingDim" | "embeddingModel" | "enableTransformersEmbeddings" | "modelCacheDir"
>;

/** Options of {@link createEmbedder}. */
export interface CreateEmbedderOptions {
  /** Receives one line when neural embeddings were asked for but could not load. Default: `console.warn`. */
  onWarning?: (line: string) => void;
  /** Where and how transformers.js looks for the model (tests pass `allowRemote: false`). */
  transformers?: TransformersLoadOptions;
}

/**
 * Returns the embedder the settings ask for. When transformers.js is enabled but
 * its model cannot be loaded, reports one warning line and falls back to the
 * hashing embedder, so a missing model never stops a run.
 *
 * @example
 * ```ts
 * const embedder = await createEmbedder(settings, { onWarning: (line) => log.warn(line) });
 * const [vector] = await embedder.embed(["count python files"]);
 * ```
 */
export async function createEmbedder(
  settings: EmbedderSettings,
  options: CreateEmbedderOptions = {},
): Promise<Embedder> {
  const hash = () => new HashEmbedder(settings.embeddingDim);
  if (!settings.enableTransformersEmbeddings) return hash();
  try {
    const { loadTransformersEmbedder } = await import("./transformers_embedder.ts");
    return await loadTransformersEmbedder(settings, options.transformers);
  } catch (error) {
    const fallback = hash();
    const warn = options.onWarning ?? ((line: string) => console.warn(line));
    const reason = errorMessage(error).replace(/\s+/g, " ").trim();
    warn(`Neural embeddings unavailable, using the built-in ${fallback.name} embedder: ${reason}`);
    return fallback;
  }
}

/** Dot product; equals the cosine for unit-length vectors such as an `Embedder`'s. */
export function dot(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) {
    throw new RangeError(`Vector lengths differ: ${a.length} vs ${b.length}.`);
  }
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** Cosine similarity of any two vectors; 0 when either is all zeros. */
export function cosine(a: Float32Array, b: Float32Array): number {
  const denominator = Math.sqrt(dot(a, a) * dot(b, b));
  return denominator === 0 ? 0 : dot(a, b) / denominator;
}
