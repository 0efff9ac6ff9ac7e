/**
 * Lenient coercions applied after aliasing and before validation: LLMs often
 * send `"30"` for a number or `"true"` for a boolean. Out-of-range numbers
 * that have a natural clamp are clamped with a warning instead of failing the
 * call. Guest-safe.
 */
import type { ToolName } from "./tool_names.ts";

/** Upper bounds for `timeout_s` per tool (seconds). */
export const MAX_TIMEOUT_S: Readonly<Record<ToolName, number>> = {
  terminal: 300,
  python_exec: 300,
  http_api: 120,
  web_fetch: 120,
  file_io: 0,
  sql_query: 0,
};

/** `file_io` list's `max_entries` range (seed: clamped 1..2000). */
export const MAX_ENTRIES_RANGE = { min: 1, max: 2000 } as const;

function numberLike(value: unknown): unknown {
  if (typeof value === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return value;
}

function booleanLike(value: unknown): unknown {
  if (typeof value === "string") {
    const v = value.trim().toLowerCase();
    if (v === "true") return true;
    if (v === "false") return false;
  }
  return value;
}

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
  if ("timeout_s" in out) {
    out.timeout_s = numberLike(out.timeout_s);
    const max = MAX_TIMEOUT_S[tool];
    if (max > 0 && typeof out.timeout_s === "number" && out.timeout_s > max) {
      warnings.push(`timeout_s ${out.timeout_s} clamped to ${max}`);
      out.timeout_s = max;
    }
  }
  if (tool === "file_io") {
    if (typeof out.op === "string") out.op = out.op.trim().toLowerCase();
    if ("recursive" in out) out.recursive = booleanLike(out.recursive);
    if ("max_entries" in out) {
      out.max_entries = numberLike(out.max_entries);
      if (typeof out.max_entries === "number" && Number.isFinite(out.max_entries)) {
        const clamped = Math.min(
          MAX_ENTRIES_RANGE.max,
          Math.max(MAX_ENTRIES_RANGE.min, Math.trunc(out.max_entries)),
        );
        if (clamped !== out.max_entries) {
          warnings.push(`max_entries ${out.max_entries} clamped to ${clamped}`);
        }
        out.max_entries = clamped;
      }
    }
  }
  if (tool === "http_api" && typeof out.method === "string") {
    out.method = out.method.trim().toUpperCase();
  }
  return { args: out, warnings };
}
