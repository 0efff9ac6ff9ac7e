/** Host spec of `sql_query`: one read-only SELECT on a SQLite file. */
import { z } from "zod";
import { checkPath } from "../../guest/policy/paths.ts";
import { checkReadOnlySql, MAX_QUERY_CHARS } from "../../guest/policy/sql.ts";
import { MAX_PARAMS, sqlQueryTool } from "../../guest/tools/sql_query.ts";
import { pathPolicy } from "./_shared.ts";
import { defineHostTool, type HostToolSpec } from "./types.ts";

export const sqlQuerySpec: HostToolSpec<"sql_query"> = defineHostTool(sqlQueryTool, {
  description:
    "Run ONE read-only SELECT (or WITH … SELECT) query on a SQLite file and return {rows, " +
    "row_count, truncated}, each row an object keyed by column name. Use `?` placeholders with `params`. " +
    "Writes, PRAGMA, ATTACH and several statements are refused; the database is opened read-only. At most " +
    "1,000 rows are returned; BLOBs appear as {blob_bytes: n}.",
  argsSchema: z.object({
    db_path: z.string().min(1).max(4096).describe(
      "SQLite file: relative to the workspace, or absolute.",
    ),
    query: z.string().min(1).max(MAX_QUERY_CHARS).describe(
      "One SELECT or WITH … SELECT statement.",
    ),
    params: z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])).max(MAX_PARAMS)
      .default([]).describe("Values bound to `?` placeholders, in order."),
  }).strict(),
  riskLevel: "low",
  check: (args, options) => {
    const sql = checkReadOnlySql(args.query);
    if (!sql.ok) return { ok: false, reason: sql.error };
    // A non-empty sql_paths list replaces the read roots for databases.
    const { ctx } = options;
    const roots = ctx.sqlPaths.length > 0 ? ctx.sqlPaths : ctx.readRoots;
    const check = checkPath(args.db_path, "read", pathPolicy(ctx, roots));
    return check.ok ? { ok: true } : { ok: false, reason: check.error };
  },
  launch: (perm) => ({ denoRead: perm.sqlPaths, roBinds: perm.sqlPaths }),
});
