/**
 * A capsule's memory as one run uses it: what it remembers goes into the
 * prompt before the run, what it reports goes back in after. The database
 * stays open for the process's later runs of the agent (`storeAt`). Embeddings use
 * the hashing embedder, so recall needs no model and works offline.
 */
import { join } from "node:path";
import { HashEmbedder } from "../store/hash_embedder.ts";
import type { MemoryEntry } from "../store/memory.ts";
import { storeAt } from "./memory_stores.ts";
import type { FinalMessage } from "../guest/protocol_types.ts";
import { capsuleDir } from "./factory.ts";

const embedder = new HashEmbedder();

/** At most this many updates are kept from one run, each cut to `MAX_UPDATE_CHARS`. */
const MAX_UPDATES = 5;
const MAX_UPDATE_CHARS = 4000;

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
   * the same outcome, run again) replaces that one, so it is stored once and
   * is the newest: recall does not grow with repeated runs, and what was
   * learned last still comes first.
   */
  remember(
    updates: FinalMessage["memory_updates"],
    tags: { sessionId?: string; runId?: string },
  ): void {
    if (!updates.length) return;
    storeAt(this.path).replaceRecent(
      updates.slice(0, MAX_UPDATES).map((update) => ({
        content: update.content.slice(0, MAX_UPDATE_CHARS),
        kind: update.kind || "episodic",
        sessionId: tags.sessionId ?? null,
        runId: tags.runId ?? null,
        embedding: embedder.embedSync(update.content),
      })),
    );
  }
}
