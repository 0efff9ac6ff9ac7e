/**
 * The guest's single entry point for tools: `runTool(name, args, ctx)`.
 * It renames aliases, applies the lenient coercions, dispatches to the
 * tool's definition, and turns anything thrown into `{ ok: false }`, so a
 * tool can never crash the capsule.
 * Guest-safe: imports only `node:` built-ins, Deno APIs and relative files.
 */
import { normalizeAliases } from "../policy/aliases.ts";
import { coerceArgs } from "../policy/coerce.ts";
import { firstLine } from "./errors.ts";
import { guestTool, TOOL_NAME_LIST } from "./registry.ts";
import { failure, type ToolContext, type ToolResult } from "./types.ts";

export type { ToolContext, ToolResult } from "./types.ts";

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
  const tool = guestTool(name);
  if (!tool) {
    return failure(`unknown tool '${name}': expected one of ${TOOL_NAME_LIST.join(", ")}`);
  }
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    return failure(`${name}: args must be a JSON object`);
  }
  try {
    const aliased = normalizeAliases(tool.name, args as Record<string, unknown>);
    const coerced = coerceArgs(tool.name, aliased.args);
    const result = await tool.run(coerced.args, ctx);
    const warnings = [...aliased.warnings, ...coerced.warnings];
    return warnings.length > 0 ? { ...result, result: { ...result.result, warnings } } : result;
  } catch (error) {
    return failure(`${name} failed: ${firstLine(error)}`);
  }
}
