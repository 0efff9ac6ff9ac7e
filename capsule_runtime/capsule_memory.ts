/**
 * A capsule's memory as one run uses it: what it remembers goes into the
 * prompt before the run, what it reports goes back in after. The database
 * stays open for the process's later runs of the agent (`storeAt`). Embeddings use
 * the hashing embedder, so recall needs no model and works offline.
 */
import { join } from "node:path";
import { HashEmbedder } from "../store/hash_embedder.ts";
import { type MemoryEntry, MemoryStore } from "../store/memory.ts";
import type { FinalMessage } from "../guest/protocol_types.ts";
import { capsuleDir } from "./factory.ts";

const embedder = new HashEmbedder();

/** At most this many updates are kept from one run, each cut to `MAX_UPDATE_CHARS`. */
const MAX_UPDATES = 5;
const MAX_UPDATE_CHARS = 4000;

/** Most memory databases this process keeps open at once. */
const MAX_OPEN_STORES = 16;

/**
 * The memory databases this process has open, least recently used first.
 * Opening one (pragmas, migrations) and closing it (which checkpoints its WAL)
 * cost more than a run's recall and remember together, so an agent's next run
 * in a long-lived process finds its database open. Past the limit the least
 * recently used one is closed.
 */
const openStores = new Map<string, MemoryStore>();

function storeAt(path: string): MemoryStore {
  const open = openStores.get(path);
  if (open) {
    openStores.delete(path);
    openStores.set(path, open);
    return open;
  }
  const store = MemoryStore.open(path);
  openStores.set(path, store);
  for (const [oldest, old] of openStores) {
    if (openStores.size <= MAX_OPEN_STORES) break;
    openStores.delete(oldest);
    old.close();
  }
  return store;
}

/** The memory of one capsule (`<capsule>/memory.db`), as one run uses it. */
export class CapsuleMemory {
  private constructor(private readonly path: string) {}

  /** Opens the database now, so a missing or broken one fails before the capsule starts. */
  static open(agentsDir: string, agentId: string): CapsuleMemory {
    const path = join(capsuleDir(agentsDir, agentId), "memory.db");
    storeAt(path);
    return new CapsuleMemory(path);
  }

  /** Memories relevant to the task plus the most recent ones, without duplicates. */
  recall(task: string): MemoryEntry[] {
    const store = storeAt(this.path);
    const relevant = store.relevant(embedder.embedSync(task), 3);
    const seen = new Set(relevant.map((m) => m.id));
    return [...relevant, ...store.recent(3).filter((m) => !seen.has(m.id))];
  }

  /**
   * Stores what the capsule asked to remember, tagged with the session and
   * run. A memory the agent has among its latest already (the same task with
   * the same outcome, run again) is not stored twice: it would teach nothing
   * new, and every later recall would read it again.
   */
  remember(
    updates: FinalMessage["memory_updates"],
    tags: { sessionId?: string; runId?: string },
  ): void {
    if (!updates.length) return;
    const store = storeAt(this.path);
    for (const update of updates.slice(0, MAX_UPDATES)) {
      const content = update.content.slice(0, MAX_UPDATE_CHARS);
      if (store.hasRecent(content)) continue;
      store.add({
        content,
        kind: update.kind || "episodic",
        sessionId: tags.sessionId ?? null,
        runId: tags.runId ?? null,
        embedding: embedder.embedSync(update.content),
      });
    }
  }
}
