/**
 * Source of the worker that runs one sql_query. It lives in a string and is
 * started from a blob: URL, so the capsule needs no read permission on this
 * repository's files to start it, and a runaway query can be abandoned by
 * terminating the worker without blocking the guest's event loop.
 *
 * Inside the worker the database is opened read-only, extensions are off,
 * and an authorizer allows only reads: even a query that slipped past the
 * text policy cannot write, attach or load anything.
 */
export const SQL_WORKER_SOURCE = `
import { DatabaseSync, constants as C } from "node:sqlite";

const READ_ONLY_PRAGMAS = new Set([
  "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
  "foreign_key_list", "collation_list", "function_list", "module_list", "pragma_list",
]);
const BANNED_FUNCTIONS = new Set(["load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"]);

function authorize(action, arg1, arg2) {
  switch (action) {
    case C.SQLITE_SELECT:
    case C.SQLITE_READ:
    case C.SQLITE_RECURSIVE:
      return C.SQLITE_OK;
    case C.SQLITE_FUNCTION:
      return BANNED_FUNCTIONS.has(String(arg2).toLowerCase()) ? C.SQLITE_DENY : C.SQLITE_OK;
    case C.SQLITE_PRAGMA:
      return READ_ONLY_PRAGMAS.has(String(arg1).toLowerCase()) ? C.SQLITE_OK : C.SQLITE_DENY;
    default:
      return C.SQLITE_DENY;
  }
}

function plain(value) {
  if (typeof value === "bigint") {
    const safe = value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER);
    return safe ? Number(value) : value.toString();
  }
  if (value instanceof Uint8Array) return { blob_bytes: value.byteLength };
  return value;
}

self.onmessage = (event) => {
  const { path, sql, params, maxRows } = event.data;
  let db;
  try {
    db = new DatabaseSync(path, { readOnly: true, allowExtension: false });
    db.setAuthorizer(authorize);
    const statement = db.prepare(sql);
    // Every query yields at least one column; anything else is not a read.
    if (statement.columns().length === 0) throw new Error("only queries are allowed: this statement returns no columns");
    statement.setReadBigInts(true);
    const rows = [];
    let truncated = false;
    for (const row of statement.iterate(...params)) {
      if (rows.length >= maxRows) {
        truncated = true;
        break;
      }
      const out = {};
      for (const [key, value] of Object.entries(row)) out[key] = plain(value);
      rows.push(out);
    }
    self.postMessage({ ok: true, rows, truncated });
  } catch (error) {
    self.postMessage({ ok: false, error: String(error && error.message || error) });
  } finally {
    try { db && db.close(); } catch { /* already closed */ }
  }
};
`;
