/**
 * A capsule's memory as one run uses it: what it remembers goes into the
 * prompt before the run, what it reports goes back in after. Embeddings use
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

/** The memory of one capsule (`<capsule>/memory.db`), open for one run. */
export class CapsuleMemory {
  private constructor(private readonly store: MemoryStore) {}

  static open(agentsDir: string, agentId: string): CapsuleMemory {
    return new CapsuleMemory(MemoryStore.open(join(capsuleDir(agentsDir, agentId), "memory.db")));
  }

  /** Memories relevant to the task plus the most recent ones, without duplicates. */
  recall(task: string): MemoryEntry[] {
    const relevant = this.store.relevant(embedder.embedSync(task), 3);
    const seen = new Set(relevant.map((m) => m.id));
    return [...relevant, ...this.store.recent(3).filter((m) => !seen.has(m.id))];
  }

  /** Stores what the capsule asked to remember, tagged with the session and run. */
  remember(
    updates: FinalMessage["memory_updates"],
    tags: { sessionId?: string; runId?: string },
  ): void {
    for (const update of updates.slice(0, MAX_UPDATES)) {
      this.store.add({
        content: update.content.slice(0, MAX_UPDATE_CHARS),
        kind: update.kind || "episodic",
        sessionId: tags.sessionId ?? null,
        runId: tags.runId ?? null,
        embedding: embedder.embedSync(update.content),
      });
    }
  }

  close(): void {
    this.store.close();
  }
}
