/**
 * Input that works the same from a terminal and from a pipe. One shared
 * reader pulls stdin only when asked (never ahead), so a menu can mix
 * line answers with raw key presses, and piped answers that arrive together
 * in one chunk are never lost.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads the next chunk of bytes; null at end of input. */
type ChunkSource = () => Promise<Uint8Array | null>;

class InputReader {
  private buffer = "";
  private ended = false;

  constructor(private readonly read: ChunkSource) {}

  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    const chunk = await this.read();
    if (chunk === null) {
      this.ended = true;
      return false;
    }
    this.buffer += decoder.decode(chunk, { stream: true });
    return true;
  }

  /** The next line without its newline, or null at end of input. */
  async nextLine(): Promise<string | null> {
    while (true) {
      const newline = this.buffer.indexOf("\n");
      if (newline >= 0) {
        const line = this.buffer.slice(0, newline).replace(/\r$/, "");
        this.buffer = this.buffer.slice(newline + 1);
        return line;
      }
      if (!(await this.fill())) {
        if (this.buffer === "") return null;
        const rest = this.buffer;
        this.buffer = "";
        return rest;
      }
    }
  }

  /** Whatever arrived next (a key press in raw mode), or null at end of input. */
  async nextChunk(): Promise<string | null> {
    if (this.buffer === "" && !(await this.fill())) return null;
    const chunk = this.buffer;
    this.buffer = "";
    return chunk;
  }
}

function stdinSource(): ChunkSource {
  const buf = new Uint8Array(4096);
  return async () => {
    const n = await Deno.stdin.read(buf);
    return n === null ? null : buf.slice(0, n);
  };
}

let stdinReader: InputReader | null = null;
const stdin = () => (stdinReader ??= new InputReader(stdinSource()));

/** Reads one line from stdin; null at end of input. */
export function readStdinLine(): Promise<string | null> {
  return stdin().nextLine();
}

/**
 * Reads one key press from a terminal in raw mode (arrows arrive as escape
 * sequences such as "\x1b[A"); null at end of input.
 */
export async function readKey(): Promise<string | null> {
  Deno.stdin.setRaw(true);
  try {
    return await stdin().nextChunk();
  } finally {
    Deno.stdin.setRaw(false);
  }
}

/** Shows `question` and reads the answer; null at end of input. */
export async function ask(question: string): Promise<string | null> {
  await Deno.stdout.write(encoder.encode(question));
  const answer = await readStdinLine();
  if (answer === null && Deno.stdin.isTerminal()) await Deno.stdout.write(encoder.encode("\n"));
  return answer === null ? null : answer.trim();
}

/**
 * Asks for a secret (an API key): in a terminal the answer is read in raw
 * mode and shown as one `*` per character; from a pipe it is read like any
 * line. Backspace edits, Ctrl-C exits with 130; null at end of input.
 */
export async function askSecret(question: string): Promise<string | null> {
  if (!Deno.stdin.isTerminal()) return await ask(question);
  await Deno.stdout.write(encoder.encode(question));
  let secret = "";
  while (true) {
    const chunk = await readKey();
    if (chunk === null) return null;
    for (const char of chunk) {
      if (char === "\r" || char === "\n") {
        await Deno.stdout.write(encoder.encode("\n"));
        return secret.trim();
      }
      if (char === "\x03") {
        await Deno.stdout.write(encoder.encode("\n"));
        Deno.exit(130);
      }
      if (char === "\x04" && secret === "") {
        await Deno.stdout.write(encoder.encode("\n"));
        return null;
      }
      if (char === "\x7f" || char === "\b") {
        if (secret) {
          secret = secret.slice(0, -1);
          await Deno.stdout.write(encoder.encode("\b \b"));
        }
      } else if (char >= " ") {
        secret += char;
        await Deno.stdout.write(encoder.encode("*"));
      }
    }
  }
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
  const reader = stream.getReader();
  const input = new InputReader(async () => {
    const { value, done } = await reader.read();
    return done ? null : value;
  });
  return { next: () => input.nextLine() };
}
