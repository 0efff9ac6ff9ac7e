/**
 * The agents' memory databases this process keeps open (capsule_memory.ts
 * uses them; deleting a capsule closes its own first).
 */
import { MemoryStore } from "../store/memory.ts";

/** Most memory databases this process keeps open at once. */
const MAX_OPEN_STORES = 16;

/**
 * The memory databases this process has open, least recently used first.
 * Opening one (pragmas, migrations) and closing it (which checkpoints its WAL)
 * cost more than a run's recall and remember together, so an agent's next run
 * in a long-lived process finds its database open. Past the limit the least
 * recently used one is closed.
 */
const openStores = new Map<string, { store: MemoryStore; file: string }>();

/** The file's identity: a database deleted and made again (an agent id reused) is another file. */
function fileIdentity(path: string): string {
  try {
    const info = Deno.statSync(path);
    return `${info.dev}:${info.ino}:${info.birthtime?.getTime()}`;
  } catch {
    return "missing";
  }
}

export function storeAt(path: string): MemoryStore {
  const open = openStores.get(path);
  openStores.delete(path);
  if (open && open.file === fileIdentity(path)) {
    openStores.set(path, open);
    return open.store;
  }
  open?.store.close();
  const store = MemoryStore.open(path);
  openStores.set(path, { store, file: fileIdentity(path) });
  for (const [oldest, old] of openStores) {
    if (openStores.size <= MAX_OPEN_STORES) break;
    openStores.delete(oldest);
    old.store.close();
  }
  return store;
}

/** Closes the database at `path` if this process has it open (its capsule is being deleted). */
export function closeStoreAt(path: string): void {
  const open = openStores.get(path);
  if (!open) return;
  openStores.delete(path);
  open.store.close();
}
