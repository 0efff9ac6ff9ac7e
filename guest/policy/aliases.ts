/**
 * The alias table: common LLM mistakes (`command` for `cmd`, `body`
 * for `json`, …) are renamed before validation. Each tool declares its own
 * aliases in its definition. Guest-safe.
 */
import { GUEST_TOOLS, guestTool, type ToolName } from "../tools/registry.ts";

/** alias → canonical arg name, per tool. */
export const TOOL_ALIASES: Readonly<Record<ToolName, Readonly<Record<string, string>>>> = Object
  .freeze(
    Object.fromEntries(GUEST_TOOLS.map((tool) => [tool.name, tool.aliases])) as Record<
      ToolName,
      Readonly<Record<string, string>>
    >,
  );

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
  const table = guestTool(tool)?.aliases ?? {};
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
