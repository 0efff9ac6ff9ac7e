/**
 * Read-only SQL policy for sql_query, shared by host and guest.
 *
 * A small SQLite tokenizer (strings, quoted identifiers, comments) lets us
 * accept exactly one SELECT or WITH statement — a `;` inside a string is
 * fine, a second statement is not — and refuse keywords that could attach
 * files, change settings or write. This is the first layer only: the guest
 * also opens the database read-only and installs an authorizer. Guest-safe.
 */

/** Longest query text accepted. */
export const MAX_QUERY_CHARS = 100_000;

/** The outcome of a SQL check; `sql` is the statement without a trailing `;`. */
export type SqlCheck = { ok: true; sql: string } | { ok: false; error: string };

/** One significant token: a bare word or a punctuation character. */
export interface SqlToken {
  kind: "word" | "punct" | "string" | "ident";
  text: string;
  /** Offset of the token in the source. */
  start: number;
}

const FORBIDDEN = new Map<string, string>([
  ["ATTACH", "ATTACH can open other files"],
  ["DETACH", "DETACH is not a query"],
  ["PRAGMA", "PRAGMA can change database settings"],
  ["VACUUM", "VACUUM can write a copy of the database"],
  ["INSERT", "write statements are not allowed"],
  ["UPDATE", "write statements are not allowed"],
  ["DELETE", "write statements are not allowed"],
  ["CREATE", "schema changes are not allowed"],
  ["DROP", "schema changes are not allowed"],
  ["ALTER", "schema changes are not allowed"],
  ["LOAD_EXTENSION", "load_extension is not allowed"],
]);

function refusal(word: string, why: string): string {
  return `SQL refused: '${word}': ${why} (a column with this name must be quoted: "${word}")`;
}

/**
 * Splits SQL into significant tokens, skipping whitespace and comments.
 * Returns an error for an unterminated string or quoted identifier.
 */
export function tokenizeSql(
  sql: string,
): { ok: true; tokens: SqlToken[] } | { ok: false; error: string } {
  const tokens: SqlToken[] = [];
  let i = 0;
  const n = sql.length;
  const quoted = (close: string, kind: SqlToken["kind"], doubled: boolean) => {
    const start = i;
    i++;
    for (;;) {
      const end = sql.indexOf(close, i);
      if (end < 0) return false;
      if (doubled && sql[end + 1] === close) {
        i = end + 2;
        continue;
      }
      i = end + 1;
      tokens.push({ kind, text: sql.slice(start, i), start });
      return true;
    }
  };
  while (i < n) {
    const c = sql[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? n : end + 1;
    } else if (c === "/" && sql[i + 1] === "*") {
      // SQLite lets a block comment run to the end of input.
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === "'") {
      if (!quoted("'", "string", true)) return { ok: false, error: "unterminated string literal" };
    } else if (c === '"' || c === "`") {
      if (!quoted(c, "ident", true)) return { ok: false, error: "unterminated quoted identifier" };
    } else if (c === "[") {
      if (!quoted("]", "ident", false)) return { ok: false, error: "unterminated [identifier]" };
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      const start = i;
      while (i < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[i])) i++;
      tokens.push({ kind: "word", text: sql.slice(start, i), start });
    } else if (/[0-9]/.test(c)) {
      const start = i;
      while (i < n && /[0-9A-Za-z_.]/.test(sql[i])) i++;
      tokens.push({ kind: "word", text: sql.slice(start, i), start });
    } else {
      tokens.push({ kind: "punct", text: c, start: i });
      i++;
    }
  }
  return { ok: true, tokens };
}

/**
 * Accepts one read-only SELECT/WITH statement.
 *
 * @example
 * ```ts
 * checkReadOnlySql("SELECT 'a;b' AS x;").ok; // true
 * checkReadOnlySql("SELECT 1; DROP TABLE t").ok; // false
 * ```
 */
export function checkReadOnlySql(query: unknown): SqlCheck {
  if (typeof query !== "string" || query.trim() === "") {
    return { ok: false, error: "query must be a non-empty string" };
  }
  if (query.length > MAX_QUERY_CHARS) {
    return { ok: false, error: `query is longer than ${MAX_QUERY_CHARS} characters` };
  }
  if (query.includes("\0")) return { ok: false, error: "query contains a NUL character" };
  const lexed = tokenizeSql(query);
  if (!lexed.ok) return { ok: false, error: `SQL refused: ${lexed.error}` };
  const { tokens } = lexed;
  if (tokens.length === 0) return { ok: false, error: "query has no statement" };
  const first = tokens[0];
  const firstWord = first.kind === "word" ? first.text.toUpperCase() : "";
  if (firstWord !== "SELECT" && firstWord !== "WITH") {
    return {
      ok: false,
      error: `only SELECT or WITH queries are allowed (query starts with '${first.text}')`,
    };
  }
  const semicolon = tokens.findIndex((t) => t.kind === "punct" && t.text === ";");
  if (semicolon >= 0 && semicolon < tokens.length - 1) {
    return { ok: false, error: "only one statement is allowed (found text after ';')" };
  }
  for (let k = 0; k < tokens.length; k++) {
    const token = tokens[k];
    if (token.kind !== "word") continue;
    const word = token.text.toUpperCase();
    const why = FORBIDDEN.get(word);
    if (why) return { ok: false, error: refusal(token.text, why) };
    // REPLACE is also a string function; only REPLACE INTO is a write.
    if (word === "REPLACE" && tokens[k + 1]?.text !== "(") {
      return { ok: false, error: refusal(token.text, "write statements are not allowed") };
    }
  }
  const end = semicolon >= 0 ? tokens[semicolon].start : query.length;
  return { ok: true, sql: query.slice(0, end).trim() };
}
