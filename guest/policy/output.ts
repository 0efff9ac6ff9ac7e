/**
 * Output caps shared by every tool: nothing a tool returns is unbounded.
 * Guest-safe (no npm, no import-map names).
 */

/** The visible marker appended to any cut text: `… [truncated, N total chars]`. */
export function truncationMark(totalChars: number): string {
  return `… [truncated, ${totalChars} total chars]`;
}

/** A text cut to a cap, with the facts a caller needs to report it. */
export interface CappedText {
  text: string;
  truncated: boolean;
  totalChars: number;
}

/** Index at which to cut `text` so a surrogate pair is never split. */
function safeCut(text: string, maxChars: number): number {
  if (maxChars <= 0) return 0;
  const code = text.charCodeAt(maxChars - 1);
  return code >= 0xd800 && code <= 0xdbff ? maxChars - 1 : maxChars;
}

/**
 * Cuts `text` to `maxChars` and appends the truncation marker when cut.
 *
 * @example
 * ```ts
 * truncateText("abcdef", 3).text; // "abc… [truncated, 6 total chars]"
 * ```
 */
export function truncateText(text: string, maxChars: number): CappedText {
  if (text.length <= maxChars) return { text, truncated: false, totalChars: text.length };
  return {
    text: text.slice(0, safeCut(text, maxChars)) + truncationMark(text.length),
    truncated: true,
    totalChars: text.length,
  };
}

/**
 * Decodes a byte stream as UTF-8 while keeping only the first `maxChars`
 * characters; the rest is decoded only to be counted, so memory stays bounded
 * however much a child process writes.
 */
export class TextCapper {
  #decoder = new TextDecoder();
  #kept = "";
  #total = 0;
  readonly maxChars: number;

  constructor(maxChars: number) {
    this.maxChars = maxChars;
  }

  /** Adds a chunk of bytes. */
  push(chunk: Uint8Array): void {
    this.#add(this.#decoder.decode(chunk, { stream: true }));
  }

  #add(text: string): void {
    this.#total += text.length;
    const room = this.maxChars - this.#kept.length;
    if (room > 0) this.#kept += text.slice(0, room);
  }

  /** Flushes the decoder and returns the capped text with the marker if cut. */
  finish(): CappedText {
    this.#add(this.#decoder.decode());
    if (this.#total <= this.maxChars) {
      return { text: this.#kept, truncated: false, totalChars: this.#total };
    }
    const kept = this.#kept.slice(0, safeCut(this.#kept, this.maxChars));
    return { text: kept + truncationMark(this.#total), truncated: true, totalChars: this.#total };
  }
}
