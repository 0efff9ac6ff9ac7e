/**
 * The seed's alias table: common LLM mistakes (`command` for `cmd`, `body`
 * for `json`, …) are renamed before validation. Guest-safe.
 */
import type { ToolName } from "./tool_names.ts";

/** alias → canonical arg name, per tool (seed §5.2 "Alias normalisation"). */
export const TOOL_ALIASES: Readonly<Record<ToolName, Readonly<Record<string, string>>>> = {
  terminal: { command: "cmd", shell: "cmd", run: "cmd", exec: "cmd", timeout: "timeout_s" },
  http_api: { body: "json", data: "json", timeout: "timeout_s" },
  web_fetch: { timeout: "timeout_s", link: "url" },
  file_io: {
    operation: "op",
    action: "op",
    file: "path",
    file_path: "path",
    filepath: "path",
    data: "content",
    text: "content",
  },
  python_exec: { script: "code", python: "code", snippet: "code", timeout: "timeout_s" },
  sql_query: { sql: "query", database: "db_path", db: "db_path" },
};

/**
 * Renames aliases to their canonical names. A canonical key given explicitly
 * wins; among aliases the first one wins; every dropped key yields a warning.
 *
 * @example
 * ```ts
 * normalizeAliases("terminal", { command: "ls" }).args; // { cmd: "ls" }
 * ```
 */
export function normalizeAliases(
  tool: ToolName,
  args: Record<string, unknown>,
): { args: Record<string, unknown>; warnings: string[] } {
  const table = TOOL_ALIASES[tool] ?? {};
  const out: Record<string, unknown> = {};
  const warnings: string[] = [];
  // Canonical (non-alias) keys first, so an explicit `cmd` beats `command`.
  for (const [key, value] of Object.entries(args)) {
    if (!Object.hasOwn(table, key)) out[key] = value;
  }
  for (const [key, value] of Object.entries(args)) {
    if (!Object.hasOwn(table, key)) continue;
    const canonical = table[key];
    if (Object.hasOwn(out, canonical)) {
      warnings.push(`dropped alias '${key}': '${canonical}' is already set`);
      continue;
    }
    out[canonical] = value;
  }
  return { args: out, warnings };
}
