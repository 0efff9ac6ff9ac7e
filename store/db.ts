/**
 * Opening SQLite databases the same way everywhere: WAL journal, a busy
 * timeout so two processes can write at once, foreign keys on.
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { dirname } from "node:path";
import { ClosedClawError } from "../core/errors.ts";

export type { DatabaseSync, SQLInputValue };

export interface OpenOptions {
  readOnly?: boolean;
  /** Milliseconds a writer waits for another process's lock. */
  busyTimeoutMs?: number;
}

/** Opens (and creates, unless read-only) a database with the project's pragmas. */
export function openDatabase(path: string, options: OpenOptions = {}): DatabaseSync {
  if (!options.readOnly && path !== ":memory:") Deno.mkdirSync(dirname(path), { recursive: true });
  if (path !== ":memory:") refuseNonDatabase(path);
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly: options.readOnly ?? false });
  } catch (error) {
    throw new ClosedClawError("db_open_failed", `Cannot open database ${path}: ${String(error)}.`, {
      hint: "Check that the folder exists and is writable, or run `closed-claw init`.",
      cause: error,
    });
  }
  const busyMs = options.busyTimeoutMs ?? 10_000;
  db.exec(`PRAGMA busy_timeout = ${busyMs}`);
  if (!options.readOnly) {
    // Switching a new file to WAL while another process does the same can fail with
    // "database is locked" without SQLite calling the busy handler: retry it ourselves.
    retryWhileBusy(() => db.exec("PRAGMA journal_mode = WAL"), busyMs);
    db.exec("PRAGMA synchronous = NORMAL");
  }
  db.exec("PRAGMA foreign_keys = ON");
  cachePreparedStatements(db);
  return db;
}

/** Most SQL texts whose prepared statements one connection keeps. */
const STATEMENT_CACHE_SIZE = 256;

/**
 * Makes `db.prepare` hand back the statement it prepared before for the same
 * SQL text. The store prepares the same few dozen statements on every call
 * (a warm run prepared ~180), and compiling SQL costs more than running it.
 * A statement is run to completion (`run`, `get`, `all`) before another
 * `prepare` of its text can be called, so sharing one is safe; the oldest
 * text is dropped past the cache's size (SQL built with values in it).
 * So never `iterate()` a store statement: preparing the same text while the
 * iteration is open would reset it under the iterator.
 */
function cachePreparedStatements(db: DatabaseSync): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, StatementSync>();
  db.prepare = (sql: string) => {
    let statement = cache.get(sql);
    if (!statement) {
      statement = prepare(sql);
      cache.set(sql, statement);
      if (cache.size > STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    }
    return statement;
  };
}

/** The 16 bytes every SQLite database file starts with. */
const SQLITE_HEADER = "SQLite format 3\0";

/**
 * Throws `db_not_sqlite` when `path` exists but is not a SQLite database: an
 * empty file (SQLite would silently start a new, empty database in it) or one
 * with another header. The file is left as it is. A file another process is
 * creating right now is empty only for a moment, so an empty file is looked at
 * again for up to `graceMs` before it is refused.
 */
function refuseNonDatabase(path: string, graceMs = 500): void {
  const header = (): string | null => {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { read: true });
    } catch {
      return null; // missing (SQLite creates it) or unreadable (SQLite says why)
    }
    try {
      const bytes = new Uint8Array(16);
      let got = 0;
      while (got < 16) {
        const n = file.readSync(bytes.subarray(got));
        if (n === null || n === 0) break;
        got += n;
      }
      return new TextDecoder("latin1").decode(bytes.subarray(0, got));
    } finally {
      file.close();
    }
  };
  let head = header();
  for (const deadline = Date.now() + graceMs; head === "" && Date.now() < deadline;) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    head = header();
  }
  if (head === null || head === SQLITE_HEADER) return;
  const what = head === "" ? "is empty (0 bytes)" : "is not a SQLite database";
  throw new ClosedClawError(
    "db_not_sqlite",
    `The database ${path} ${what}; it was left as it is.`,
    {
      hint: `Restore it from a copy (\`closed-claw backup\` makes one), or move it away to start ` +
        "with an empty history.",
    },
  );
}

/**
 * Runs `fn` again while it fails with SQLITE_BUSY / "database is locked", for
 * up to `timeoutMs`, waiting a little longer each time; other errors, and the
 * last busy error, are thrown.
 */
export function retryWhileBusy<T>(fn: () => T, timeoutMs: number, now = Date.now): T {
  const deadline = now() + timeoutMs;
  for (let wait = 5;; wait = Math.min(wait * 2, 200)) {
    try {
      return fn();
    } catch (error) {
      if (!/database is locked|SQLITE_BUSY/i.test(String(error)) || now() + wait > deadline) {
        throw error;
      }
      // A synchronous pause: the open path is synchronous, and this is rare.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
    }
  }
}

/**
 * Runs `fn` in a write transaction. `BEGIN IMMEDIATE` takes the write lock up
 * front, so a concurrent writer waits on the busy timeout instead of failing
 * with SQLITE_BUSY when a read lock would have to be upgraded. Called inside
 * another transaction, `fn` becomes part of it.
 */
export function transaction<T>(db: DatabaseSync, fn: () => T): T {
  // Inside a caller's transaction, `fn` simply joins it (commits with it, rolls back with it).
  if (db.isTransaction) return fn();
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = fn();
    db.exec("COMMIT");
    return result;
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

/** SQLite's quick integrity check: `"ok"`, or the first problem it found. */
export function quickCheck(db: DatabaseSync): string {
  const row = db.prepare("PRAGMA quick_check").get() as { quick_check: string };
  return row.quick_check;
}

/** Current time as an ISO-8601 UTC string, the format of every timestamp column. */
export function nowIso(): string {
  return new Date().toISOString();
}

/** Parses a JSON column, falling back when it is empty or corrupt. */
export function parseJson<T>(text: unknown, fallback: T): T {
  if (typeof text !== "string" || text === "") return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}
