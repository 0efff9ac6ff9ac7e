/**
 * POSIX shell-word splitting like Python's `shlex.split`: quotes and
 * backslash escapes group words, and nothing else is interpreted — no `$VAR`,
 * `~`, globs, pipes or redirects. Guest-safe.
 */

/** The words, or an error for an unclosed quote or a trailing backslash. */
export type SplitResult = { ok: true; words: string[] } | { ok: false; error: string };

/**
 * Splits a command line into words.
 *
 * @example
 * ```ts
 * shlexSplit(`echo "a b" 'c d' e\\ f`); // { ok: true, words: ["echo", "a b", "c d", "e f"] }
 * ```
 */
export function shlexSplit(line: string): SplitResult {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return { ok: false, error: "no closing quotation (')" };
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= line.length) return { ok: false, error: 'no closing quotation (")' };
        const d = line[i];
        if (d === '"') break;
        if (d === "\\" && (line[i + 1] === '"' || line[i + 1] === "\\")) {
          word += line[i + 1];
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
      inWord = true;
      i++;
    } else if (c === "\\") {
      if (i + 1 >= line.length) return { ok: false, error: "no escaped character after '\\'" };
      word += line[i + 1];
      inWord = true;
      i += 2;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return { ok: true, words };
}
