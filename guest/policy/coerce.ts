/**
 * Lenient coercions applied after aliasing and before validation: LLMs often
 * send `"30"` for a number or `"true"` for a boolean. Out-of-range numbers
 * that have a natural clamp are clamped with a warning instead of failing the
 * call. The shared `timeout_s` clamp is here; each tool adds its own in its
 * definition. Guest-safe.
 */
import { GUEST_TOOLS, guestTool, type ToolName } from "../tools/registry.ts";
import { numberLike } from "../tools/tool_def.ts";

/** Upper bounds for `timeout_s` per tool (seconds; 0 = the tool takes no timeout). */
export const MAX_TIMEOUT_S: Readonly<Record<ToolName, number>> = Object.freeze(
  Object.fromEntries(GUEST_TOOLS.map((tool) => [tool.name, tool.maxTimeoutS])) as Record<
    ToolName,
    number
  >,
);

export { MAX_ENTRIES_RANGE } from "../tools/file_io.ts";

/**
 * Returns a copy of `args` with the lenient coercions applied.
 *
 * @example
 * ```ts
 * coerceArgs("terminal", { cmd: "ls", timeout_s: "999" }).args.timeout_s; // 300
 * ```
 */
export function coerceArgs(
  tool: ToolName,
  args: Record<string, unknown>,
): { args: Record<string, unknown>; warnings: string[] } {
  const out = { ...args };
  const warnings: string[] = [];
  const def = guestTool(tool);
  if ("timeout_s" in out) {
    out.timeout_s = numberLike(out.timeout_s);
    const max = def?.maxTimeoutS ?? 0;
    if (max > 0 && typeof out.timeout_s === "number" && out.timeout_s > max) {
      warnings.push(`timeout_s ${out.timeout_s} clamped to ${max}`);
      out.timeout_s = max;
    }
  }
  def?.coerce?.(out, warnings);
  return { args: out, warnings };
}
