/**
 * Creates a capsule and makes it routable: embeds it, writes the registry row
 * and the vector index entry, and rebuilds `registry.json`. The coordinator
 * (new agents), `init` (built-in agents) and `claw.registerCapsule` all add
 * agents this one way.
 */
import type { Embedder } from "../store/embedder.ts";
import type { Store } from "../store/mod.ts";
import type { VectorIndex } from "../store/vector_index.ts";
import { type CapsuleInput, createCapsule, syncRegistryIndex } from "./factory.ts";
import type { Manifest } from "./manifest.ts";

/** Where a new capsule is registered. */
export interface CapsuleRegistry {
  agentsDir: string;
  store: Store;
  embedder: Embedder;
  index: VectorIndex;
}

/**
 * Creates and registers a capsule. Routing matches subtasks against the
 * embedding of `embedText` (default: the description).
 *
 * @example
 * ```ts
 * const manifest = await registerCapsule(registry, {
 *   name: "Reader", description: "Reads text files", tools_allowlist: ["file_io"],
 * });
 * ```
 */
export async function registerCapsule(
  registry: CapsuleRegistry,
  input: Omit<CapsuleInput, "embedding_model" | "embedding_vector">,
  embedText: string = input.description,
): Promise<Manifest> {
  const [vector] = await registry.embedder.embed([embedText]);
  const manifest = createCapsule(registry.agentsDir, {
    ...input,
    embedding_model: registry.embedder.name,
    embedding_vector: Array.from(vector),
  });
  registry.store.agents.upsertManifest(manifest);
  registry.index.upsert(manifest.agent_id, vector);
  syncRegistryIndex(registry.agentsDir);
  return manifest;
}
