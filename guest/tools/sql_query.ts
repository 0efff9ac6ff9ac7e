/**
 * sql_query: one read-only SELECT/WITH query against a SQLite file.
 *
 * Three layers: the text policy (`policy/sql.ts`), a read-only open with an
 * authorizer that allows only reads, and a worker with a deadline so a
 * runaway query cannot hang the capsule. Guest-safe.
 */
import { resolve } from "../policy/node_path.ts";
import { checkPath } from "../policy/paths.ts";
import { checkReadOnlySql } from "../policy/sql.ts";
import { SQL_WORKER_SOURCE } from "./_sql_worker_source.ts";
import { describeError } from "./errors.ts";
import { defineGuestTool, type GuestToolDef } from "./tool_def.ts";
import { failure, success, type ToolContext, type ToolResult } from "./types.ts";

/** Default row cap. */
export const DEFAULT_MAX_ROWS = 1_000;
/** Default query deadline. */
export const DEFAULT_SQL_TIMEOUT_MS = 30_000;
/** Most bound parameters accepted. */
export const MAX_PARAMS = 999;

/** A value node:sqlite can bind. */
export type SqlParam = string | number | null;
/** What a query run answers. */
export type WorkerReply = { ok: true; rows: Record<string, unknown>[]; truncated: boolean } | {
  ok: false;
  error: string;
};

/** Checks and converts `params` to values node:sqlite can bind. */
function bindable(raw: unknown): SqlParam[] | string {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) return "'params' must be a list";
  if (raw.length > MAX_PARAMS) return `'params' has more than ${MAX_PARAMS} values`;
  const out: SqlParam[] = [];
  for (const [i, value] of raw.entries()) {
    if (value === null || typeof value === "string") out.push(value);
    else if (typeof value === "number" && Number.isFinite(value)) out.push(value);
    else if (typeof value === "boolean") out.push(value ? 1 : 0);
    else return `'params[${i}]' must be a string, number, boolean or null`;
  }
  return out;
}

/**
 * Runs one query in a fresh worker on a read-only connection with the
 * read-only authorizer, terminating the worker at the deadline or on abort.
 * No text policy or path policy here: callers check those first.
 */
export function executeReadOnly(
  message: { path: string; sql: string; params: SqlParam[]; maxRows: number },
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<WorkerReply> {
  if (signal?.aborted) return Promise.resolve({ ok: false, error: "query cancelled" });
  return new Promise((resolveReply) => {
    let worker: Worker;
    const url = URL.createObjectURL(new Blob([SQL_WORKER_SOURCE], { type: "text/javascript" }));
    try {
      worker = new Worker(url, { type: "module" });
    } catch (error) {
      URL.revokeObjectURL(url);
      resolveReply({ ok: false, error: describeError(error, "cannot start the query worker") });
      return;
    }
    let settled = false;
    const finish = (reply: WorkerReply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      // A query stuck inside SQLite keeps its thread busy until the capsule
      // exits; terminating still frees the guest to answer at once.
      worker.terminate();
      URL.revokeObjectURL(url);
      resolveReply(reply);
    };
    const timer = setTimeout(
      () => finish({ ok: false, error: `query timed out after ${Math.round(timeoutMs / 1000)} s` }),
      timeoutMs,
    );
    const onAbort = () => finish({ ok: false, error: "query cancelled" });
    signal?.addEventListener("abort", onAbort, { once: true });
    worker.onmessage = (event: MessageEvent<WorkerReply>) => finish(event.data);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      finish({ ok: false, error: `query worker failed: ${event.message}` });
    };
    worker.postMessage(message);
  });
}

/**
 * Runs the `sql_query` tool.
 *
 * @example
 * ```ts
 * await runSqlQuery({ db_path: "data.db", query: "SELECT * FROM t WHERE id = ?", params: [1] }, ctx);
 * ```
 */
export async function runSqlQuery(
  args: Record<string, unknown>,
  ctx: ToolContext,
): Promise<ToolResult> {
  const sql = checkReadOnlySql(args.query);
  if (!sql.ok) return failure(sql.error);
  const params = bindable(args.params);
  if (typeof params === "string") return failure(`sql_query: ${params}`);
  // A non-empty sql_paths list replaces the read roots for databases.
  const roots = ctx.sqlPaths.length > 0 ? ctx.sqlPaths : ctx.readRoots;
  const check = checkPath(args.db_path, "read", {
    workspace: ctx.workspace,
    readRoots: roots,
    writeRoots: [],
    fileWrite: false,
    denyPaths: ctx.denyPaths,
  });
  if (!check.ok) {
    return failure(ctx.sqlPaths.length > 0 ? `${check.error} (sql_paths)` : check.error);
  }
  const what = `database '${check.path}'`;
  try {
    const info = await Deno.stat(check.realPath);
    if (!info.isFile) return failure(`${what} is not a file`);
  } catch (error) {
    return failure(describeError(error, what));
  }
  const reply = await executeReadOnly(
    {
      path: resolve(check.realPath),
      sql: sql.sql,
      params,
      maxRows: ctx.limits?.maxRows ?? DEFAULT_MAX_ROWS,
    },
    ctx.limits?.sqlTimeoutMs ?? DEFAULT_SQL_TIMEOUT_MS,
    ctx.signal,
  );
  if (!reply.ok) return failure(`SQL error on ${what}: ${reply.error}`);
  return success({ rows: reply.rows, row_count: reply.rows.length, truncated: reply.truncated });
}

/** The sql_query tool: reads database files inside its roots, read-only. */
export const sqlQueryTool: GuestToolDef<"sql_query"> = defineGuestTool({
  name: "sql_query",
  aliases: { sql: "query", database: "db_path", db: "db_path" },
  maxTimeoutS: 0,
  sideEffects: "never",
  permission: "path",
  run: runSqlQuery,
});
