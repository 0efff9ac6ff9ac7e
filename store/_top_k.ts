/**
 * Exact top-k selection over a vector slab: the kernel scores a block of rows
 * at a time, and a bounded heap keeps the best k, so the cost is one pass over
 * the memory and no sort of all scores. Ties are broken by agent id, so
 * results equal a brute-force scan.
 */
import { BLOCK, type VectorSlab } from "./_vector_slab.ts";

/** One search result: cosine similarity in [-1, 1] of the query and the agent's vector. */
export interface VectorHit {
  agentId: string;
  score: number;
}

/** Which slots may be returned: status codes allowed, and agent ids never returned. */
export interface SlotFilter {
  /** Indexed by status code: 1 when the status is wanted. */
  allowed: Uint8Array;
  /** Agent ids to skip, or null. */
  exclude: Set<string> | null;
}

/** A top-k selector; its heap is reused across searches, grown to the largest k asked for. */
export class TopK {
  #heapScore = new Float64Array(16);
  #heapSlot = new Int32Array(16);

  /**
   * The `k` best-scoring slots that pass `filter`, best first (equal scores
   * ordered by agent id). `k` must be between 1 and the slab's count; the
   * slab's query must be set.
   */
  select(slab: VectorSlab, k: number, filter: SlotFilter): VectorHit[] {
    if (this.#heapScore.length < k) {
      this.#heapScore = new Float64Array(k);
      this.#heapSlot = new Int32Array(k);
    }
    const heapScore = this.#heapScore;
    const heapSlot = this.#heapSlot;
    const { ids, status, scores, count } = slab;
    const { allowed, exclude } = filter;
    let size = 0;
    // Scores below the worst kept hit cannot enter; -Infinity until k are kept.
    let threshold = -Infinity;

    for (let base = 0; base < count; base += BLOCK) {
      const n = Math.min(BLOCK, count - base);
      slab.scoreBlock(base, n);
      for (let i = 0; i < n; i++) {
        const score = scores[i];
        if (score < threshold) continue;
        const slot = base + i;
        if (allowed[status[slot]] === 0) continue;
        if (exclude !== null && exclude.has(ids[slot])) continue;
        if (size < k) {
          // Sift up: the root is the worst kept hit (lowest score, then highest id).
          let at = size++;
          while (at > 0) {
            const parent = (at - 1) >> 1;
            if (!worse(score, ids[slot], heapScore[parent], ids[heapSlot[parent]])) break;
            heapScore[at] = heapScore[parent];
            heapSlot[at] = heapSlot[parent];
            at = parent;
          }
          heapScore[at] = score;
          heapSlot[at] = slot;
          if (size === k) threshold = heapScore[0];
          continue;
        }
        // Equal to the worst kept score: the lower id wins the tie.
        if (score === heapScore[0] && ids[slot] > ids[heapSlot[0]]) continue;
        siftDown(heapScore, heapSlot, ids, k, score, slot);
        threshold = heapScore[0];
      }
    }
    return sortedHits(heapScore, heapSlot, ids, size);
  }
}

/** Replaces the heap's root (its worst hit) with `score`/`slot` and restores the heap. */
function siftDown(
  heapScore: Float64Array,
  heapSlot: Int32Array,
  ids: string[],
  k: number,
  score: number,
  slot: number,
): void {
  let at = 0;
  for (;;) {
    let child = 2 * at + 1;
    if (child >= k) break;
    if (
      child + 1 < k &&
      worse(
        heapScore[child + 1],
        ids[heapSlot[child + 1]],
        heapScore[child],
        ids[heapSlot[child]],
      )
    ) child++;
    if (!worse(heapScore[child], ids[heapSlot[child]], score, ids[slot])) break;
    heapScore[at] = heapScore[child];
    heapSlot[at] = heapSlot[child];
    at = child;
  }
  heapScore[at] = score;
  heapSlot[at] = slot;
}

function sortedHits(
  heapScore: Float64Array,
  heapSlot: Int32Array,
  ids: string[],
  size: number,
): VectorHit[] {
  const hits: VectorHit[] = [];
  for (let i = 0; i < size; i++) hits.push({ agentId: ids[heapSlot[i]], score: heapScore[i] });
  return hits.sort((a, b) =>
    a.score !== b.score
      ? b.score - a.score
      : a.agentId < b.agentId
      ? -1
      : a.agentId > b.agentId
      ? 1
      : 0
  );
}

/** Whether hit (sa, ia) ranks below hit (sb, ib): lower score, or same score and higher id. */
function worse(sa: number, ia: string, sb: number, ib: string): boolean {
  return sa < sb || (sa === sb && ia > ib);
}
