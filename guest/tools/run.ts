/**
 * The guest's single entry point for tools: `runTool(name, args, ctx)`.
 * It renames aliases, applies the lenient coercions, dispatches, and turns
 * anything thrown into `{ ok: false }`, so a tool can never crash the capsule.
 * Guest-safe: imports only `node:` built-ins, Deno APIs and relative files.
 */
import { normalizeAliases } from "../policy/aliases.ts";
import { coerceArgs } from "../policy/coerce.ts";
import { isToolName, TOOL_NAME_LIST } from "../policy/tool_names.ts";
import { firstLine } from "./errors.ts";
import { runFileIo } from "./file_io.ts";
import { runHttpApi, runWebFetch } from "./http.ts";
import { runPythonExec } from "./python_exec.ts";
import { runSqlQuery } from "./sql_query.ts";
import { runTerminal } from "./terminal.ts";
import { failure, type ToolContext, type ToolResult } from "./types.ts";

export type { ToolContext, ToolResult } from "./types.ts";

const RUNNERS = {
  terminal: runTerminal,
  http_api: runHttpApi,
  web_fetch: runWebFetch,
  file_io: runFileIo,
  python_exec: runPythonExec,
  sql_query: runSqlQuery,
} as const;

/**
 * Runs one tool call inside the capsule. Never throws.
 *
 * @example
 * ```ts
 * const result = await runTool("file_io", { op: "list", path: "." }, {
 *   workspace: Deno.cwd(), readRoots: ["."], writeRoots: [], fileWrite: false,
 *   sqlPaths: [], networkHosts: [],
 * });
 * ```
 */
export async function runTool(name: string, args: unknown, ctx: ToolContext): Promise<ToolResult> {
  if (!isToolName(name)) {
    return failure(`unknown tool '${name}': expected one of ${TOOL_NAME_LIST.join(", ")}`);
  }
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    return failure(`${name}: args must be a JSON object`);
  }
  try {
    const aliased = normalizeAliases(name, args as Record<string, unknown>);
    const coerced = coerceArgs(name, aliased.args);
    const result = await RUNNERS[name](coerced.args, ctx);
    const warnings = [...aliased.warnings, ...coerced.warnings];
    return warnings.length > 0 ? { ...result, result: { ...result.result, warnings } } : result;
  } catch (error) {
    return failure(`${name} failed: ${firstLine(error)}`);
  }
}
