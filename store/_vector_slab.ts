/**
 * The vector index's memory: every vector normalised in ONE contiguous
 * Float32Array (rows padded to a multiple of 16 floats, so cosine similarity
 * is a plain dot product over whole SIMD blocks), on a WebAssembly memory the
 * dot-product kernel reads directly. Each slot also records its agent id and
 * a small status code; slots 0..count-1 are used, with no holes.
 */
import { ClosedClawError } from "../core/errors.ts";
import { jsKernel, type Kernel, simdKernel } from "./_dot_kernel.ts";

/** Scores computed per kernel call: 4 KiB of scores stay in L1 while selected. */
export const BLOCK = 1024;
/** Row stride granularity in floats: the kernel reads 4 x v128 = 16 floats per step. */
const LANES = 16;
const PAGE = 65536;

export class VectorSlab {
  /** Floats of each vector. */
  readonly dim: number;
  /** Agent id of each used slot. */
  ids: string[] = [];
  /** Slot of each agent id. */
  slotOf: Map<string, number> = new Map();
  /** Status code of each slot, so filtering in the hot loop is one array read. */
  status: Uint16Array = new Uint16Array(0);
  /** Status name -> code. */
  readonly statusCode: Map<string, number> = new Map();
  /** Used slots. */
  count = 0;
  /** Scores written by the last {@link scoreBlock}. */
  scores!: Float32Array;

  /** Floats per row: `dim` rounded up to {@link LANES}; the padding stays zero. */
  readonly #stride: number;
  readonly #strideBytes: number;
  readonly #queryByte = 0;
  readonly #scoresByte: number;
  readonly #dataByte: number;
  readonly #memory: WebAssembly.Memory;
  readonly #kernel: Kernel;
  #capacity = 0;

  // Views over #memory; rebuilt whenever it grows (growing detaches the old buffer).
  #bytes!: Uint8Array;
  #vectors!: Float32Array;
  #query!: Float32Array;

  constructor(dim: number, kernel: "wasm" | "js" = "wasm") {
    this.dim = dim;
    this.#stride = Math.ceil(dim / LANES) * LANES;
    this.#strideBytes = this.#stride * 4;
    // Layout of the memory: [query row][BLOCK scores][rows...], all 64-byte aligned.
    this.#scoresByte = this.#strideBytes;
    this.#dataByte = this.#scoresByte + BLOCK * 4;
    this.#memory = new WebAssembly.Memory({ initial: Math.ceil(this.#dataByte / PAGE) });
    this.#refreshViews();
    this.#kernel = (kernel === "js" ? null : simdKernel(this.#memory)) ?? jsKernel(this.#memory);
  }

  /** Scores slots `base..base+n-1` (n ≤ {@link BLOCK}) against the query into {@link scores}. */
  scoreBlock(base: number, n: number): void {
    this.#kernel(
      this.#dataByte + base * this.#strideBytes,
      this.#queryByte,
      this.#scoresByte,
      n,
      this.#strideBytes,
    );
  }

  /** Sets the query row; `normalised` has `dim` floats and the padding stays zero. */
  setQuery(normalised: Float32Array): void {
    this.#query.set(normalised);
  }

  /** Forgets every slot (before a reload); status codes are kept. */
  clear(): void {
    this.count = 0;
    this.ids = [];
    this.slotOf = new Map();
  }

  /**
   * Appends a stored row: copies its BLOB and normalises it. False (and
   * nothing kept) when the BLOB holds NaN or Infinity.
   */
  appendStored(agentId: string, blob: Uint8Array, status: string): boolean {
    const slot = this.count;
    this.ensureCapacity(slot + 1); // only grows if rows appeared after the count
    // BLOBs come back at arbitrary byte offsets, so copy bytes rather than
    // aliasing a Float32Array over them (which needs 4-byte alignment).
    this.#bytes.set(blob, this.#dataByte + slot * this.#strideBytes);
    if (!this.#normaliseSlot(slot)) return false;
    this.ids.push(agentId);
    this.slotOf.set(agentId, slot);
    this.status[slot] = this.codeOf(status);
    this.count++;
    return true;
  }

  /** Inserts or replaces the (already normalised) vector of `agentId`. */
  upsert(agentId: string, vector: Float32Array, status: string): void {
    let slot = this.slotOf.get(agentId);
    if (slot === undefined) {
      slot = this.count;
      this.ensureCapacity(slot + 1);
      this.ids[slot] = agentId;
      this.slotOf.set(agentId, slot);
      this.count++;
    }
    this.#vectors.set(vector, slot * this.#stride);
    this.status[slot] = this.codeOf(status);
  }

  /** Swap-with-last keeps slots 0..count-1 dense, so search never skips holes. */
  remove(agentId: string): void {
    const slot = this.slotOf.get(agentId);
    if (slot === undefined) return;
    const stride = this.#stride;
    const last = this.count - 1;
    if (slot !== last) {
      const lastId = this.ids[last];
      this.#vectors.copyWithin(slot * stride, last * stride, (last + 1) * stride);
      this.status[slot] = this.status[last];
      this.ids[slot] = lastId;
      this.slotOf.set(lastId, slot);
    }
    this.#vectors.fill(0, last * stride, (last + 1) * stride);
    this.ids.length = last;
    this.slotOf.delete(agentId);
    this.count = last;
  }

  /** Sets the status of `agentId`'s slot; false when it has none. */
  setStatus(agentId: string, status: string): boolean {
    const slot = this.slotOf.get(agentId);
    if (slot === undefined) return false;
    this.status[slot] = this.codeOf(status);
    return true;
  }

  /** The code of a status name, allocating one for a new name. */
  codeOf(status: string): number {
    let code = this.statusCode.get(status);
    if (code === undefined) {
      code = this.statusCode.size;
      if (code > 0xffff) throw new Error("VectorIndex: more than 65536 distinct agent statuses.");
      this.statusCode.set(status, code);
    }
    return code;
  }

  /** Grows storage by doubling; the wasm memory grows in place, so rows never move. */
  ensureCapacity(needed: number): void {
    if (needed <= this.#capacity) return;
    let capacity = Math.max(64, this.#capacity);
    while (capacity < needed) capacity *= 2;
    const bytes = this.#dataByte + capacity * this.#strideBytes;
    const pages = Math.ceil(bytes / PAGE);
    const current = this.#memory.buffer.byteLength / PAGE;
    if (pages > current) {
      try {
        this.#memory.grow(pages - current);
      } catch (error) {
        throw new ClosedClawError(
          "vector_index_full",
          `The vector index cannot grow to ${capacity} vectors of dimension ${this.dim} (${bytes} bytes).`,
          { hint: "WebAssembly memory is limited to 4 GiB per index.", cause: error },
        );
      }
    }
    const status = new Uint16Array(capacity);
    status.set(this.status.subarray(0, this.count));
    this.status = status;
    this.#capacity = capacity;
    this.#refreshViews();
  }

  /** Stored vectors should already be unit length; rescale if not, reject NaN/Infinity. */
  #normaliseSlot(slot: number): boolean {
    const v = this.#vectors;
    const start = slot * this.#stride;
    const end = start + this.dim;
    let sum = 0;
    for (let i = start; i < end; i++) sum += v[i] * v[i];
    if (!Number.isFinite(sum)) return false;
    if (sum > 0 && Math.abs(sum - 1) > 1e-5) {
      const scale = 1 / Math.sqrt(sum);
      for (let i = start; i < end; i++) v[i] *= scale;
    }
    return true;
  }

  #refreshViews(): void {
    const buffer = this.#memory.buffer;
    this.#bytes = new Uint8Array(buffer);
    this.#query = new Float32Array(buffer, this.#queryByte, this.#stride);
    this.scores = new Float32Array(buffer, this.#scoresByte, BLOCK);
    this.#vectors = new Float32Array(buffer, this.#dataByte, this.#capacity * this.#stride);
  }
}
