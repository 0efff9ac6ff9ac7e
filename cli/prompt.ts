/**
 * Line input that works the same from a terminal and from a pipe. One shared
 * reader buffers stdin, so a menu reading several answers from piped input
 * never loses the lines that arrived together in one chunk.
 */

const encoder = new TextEncoder();

class LineReader {
  private buffer = "";
  private reader: ReadableStreamDefaultReader<string> | null = null;
  private ended = false;

  constructor(private readonly source: () => ReadableStream<Uint8Array>) {}

  /** The next line without its newline, or null at end of input. */
  async next(): Promise<string | null> {
    while (true) {
      const newline = this.buffer.indexOf("\n");
      if (newline >= 0) {
        const line = this.buffer.slice(0, newline).replace(/\r$/, "");
        this.buffer = this.buffer.slice(newline + 1);
        return line;
      }
      if (this.ended) {
        if (this.buffer === "") return null;
        const rest = this.buffer;
        this.buffer = "";
        return rest;
      }
      this.reader ??= this.source().pipeThrough(new TextDecoderStream()).getReader();
      const { value, done } = await this.reader.read();
      if (done) this.ended = true;
      else this.buffer += value;
    }
  }
}

let stdinReader: LineReader | null = null;

/** Reads one line from stdin; null at end of input. */
export function readStdinLine(): Promise<string | null> {
  stdinReader ??= new LineReader(() => Deno.stdin.readable);
  return stdinReader.next();
}

/** Shows `question` and reads the answer; null at end of input. */
export async function ask(question: string): Promise<string | null> {
  await Deno.stdout.write(encoder.encode(question));
  const answer = await readStdinLine();
  if (answer === null && Deno.stdin.isTerminal()) await Deno.stdout.write(encoder.encode("\n"));
  return answer === null ? null : answer.trim();
}

/**
 * Asks for a confirmation word; true only when the answer matches. "yes" is
 * matched in any case; other words (like "DELETE ALL") exactly.
 */
export async function confirm(question: string, word = "yes"): Promise<boolean> {
  const answer = await ask(question);
  if (answer === null) return false;
  return word === "yes" ? answer.toLowerCase() === "yes" : answer === word;
}

/** A line reader over any byte stream (tests use it with in-memory input). */
export function lineReader(stream: ReadableStream<Uint8Array>): { next(): Promise<string | null> } {
  return new LineReader(() => stream);
}
