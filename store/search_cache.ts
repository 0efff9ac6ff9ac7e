/**
 * The embedder and vector index a process searches agents with, shared by
 * everything in it (the coordinator's runs, a library user's registered
 * capsules): loading a neural model is slow, so it happens once per set of
 * embedding settings, and each database gets one index per vector size.
 */
import type { DatabaseSync } from "./db.ts";
import { createEmbedder, type Embedder, type EmbedderSettings } from "./embedder.ts";
import { VectorIndex } from "./vector_index.ts";

/** What routing searches with. */
export interface Search {
  /** Turns descriptions and subtasks into vectors. */
  embedder: Embedder;
  /** The agents' vectors in the database asked for. */
  index: VectorIndex;
  /** Why neural embeddings are not in use although asked for, or null. */
  warning: string | null;
}

interface LoadedEmbedder {
  embedder: Embedder;
  warning: string | null;
}

interface EmbedderEntry {
  loaded: Promise<LoadedEmbedder>;
  /** Databases that searched with it; it is disposed once all of them are released. */
  users: Set<DatabaseSync>;
}

const embedders = new Map<string, EmbedderEntry>();
/** Per database, one index per vector dimension. */
const indexes = new WeakMap<DatabaseSync, Map<number, VectorIndex>>();

/** Only these settings change the embedder; anything else may differ and still share it. */
function keyOf(settings: EmbedderSettings): string {
  return JSON.stringify([
    settings.enableTransformersEmbeddings,
    settings.embeddingModel,
    settings.embeddingDim,
    settings.modelCacheDir,
  ]);
}

function embedderFor(settings: EmbedderSettings): EmbedderEntry {
  const key = keyOf(settings);
  const cached = embedders.get(key);
  if (cached) return cached;
  let warning: string | null = null;
  const loaded = createEmbedder(settings, { onWarning: (line) => (warning = line) }).then(
    (embedder) => ({ embedder, warning }),
    (error) => {
      // A failed load is not kept: the next caller tries again.
      if (embedders.get(key) === entry) embedders.delete(key);
      throw error;
    },
  );
  const entry: EmbedderEntry = { loaded, users: new Set() };
  embedders.set(key, entry);
  return entry;
}

function indexFor(db: DatabaseSync, dim: number): VectorIndex {
  let byDim = indexes.get(db);
  if (!byDim) indexes.set(db, byDim = new Map());
  let index = byDim.get(dim);
  if (!index) byDim.set(dim, index = new VectorIndex(db, dim));
  return index;
}

/**
 * The embedder the settings ask for and the vector index of `db` for it,
 * loaded on first use and shared afterwards. A fallback warning (neural
 * embeddings asked for but unavailable) is returned, not printed, so each
 * caller can report it where it belongs (a run's log, say).
 *
 * @example
 * ```ts
 * const { embedder, index, warning } = await sharedSearch(settings, store.db);
 * const [query] = await embedder.embed(["count python files"]);
 * console.log(index.search(query, 5), warning);
 * ```
 */
export async function sharedSearch(
  settings: EmbedderSettings,
  db: DatabaseSync,
): Promise<Search> {
  const entry = embedderFor(settings);
  entry.users.add(db);
  const { embedder, warning } = await entry.loaded;
  return { embedder, index: indexFor(db, embedder.dim), warning };
}

/**
 * Forgets `db` (call it before closing the database) and disposes the
 * embedders no other database uses any more.
 */
export async function releaseSearch(db: DatabaseSync): Promise<void> {
  indexes.delete(db);
  const unused: EmbedderEntry[] = [];
  for (const [key, entry] of embedders) {
    if (!entry.users.delete(db) || entry.users.size > 0) continue;
    embedders.delete(key);
    unused.push(entry);
  }
  await Promise.all(unused.map(async (entry) => {
    try {
      await (await entry.loaded).embedder.dispose?.();
    } catch {
      // It never loaded, or it is already gone: nothing to release.
    }
  }));
}
