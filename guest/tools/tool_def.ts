/**
 * What the guest knows about one tool: its name, the argument aliases LLMs
 * use, its lenient coercions, which class of side effects and permissions
 * it has, and the function that runs it. One definition per tool, listed in
 * `registry.ts`; the host builds its specs on top of these. Guest-safe.
 */
import type { ToolContext, ToolResult } from "./types.ts";

/** A tool call's arguments, as received (after aliasing and coercion when run). */
export type ToolArgs = Record<string, unknown>;

/**
 * The kind of access a tool needs, which decides how the launcher treats it:
 * `exec` starts programs (needs the OS sandbox, never shares a capsule with
 * the network), `network` reaches hosts, `path` reads roots through Deno's
 * --allow-read (refused when the symlink scan is incomplete), `none` needs
 * nothing beyond the capsule itself.
 */
export type PermissionClass = "exec" | "network" | "path" | "none";

/**
 * Whether calls must never be silently re-run: `never`, `always`, or
 * `depends` on the call (decided by `hasSideEffects`).
 */
export type SideEffectClass = "never" | "always" | "depends";

/** One tool as the guest sees it. */
export interface GuestToolDef<N extends string = string> {
  readonly name: N;
  /** alias → canonical argument name (`command` → `cmd`, …). */
  readonly aliases: Readonly<Record<string, string>>;
  /** Upper bound for `timeout_s` in seconds; 0 when the tool takes no timeout. */
  readonly maxTimeoutS: number;
  /** Tool-specific lenient coercions: rewrites `args` in place, reports clamps in `warnings`. */
  readonly coerce?: (args: ToolArgs, warnings: string[]) => void;
  readonly sideEffects: SideEffectClass;
  /** For `depends`: whether this call (aliases applied) has side effects. */
  readonly hasSideEffects?: (args: ToolArgs) => boolean;
  readonly permission: PermissionClass;
  /** Runs the call inside the capsule; may throw (runTool turns that into a failure). */
  readonly run: (args: ToolArgs, ctx: ToolContext) => Promise<ToolResult>;
}

/**
 * Declares a tool, keeping its name as a literal type.
 *
 * @example
 * ```ts
 * export const echoTool = defineGuestTool({
 *   name: "echo", aliases: {}, maxTimeoutS: 0, sideEffects: "never", permission: "none",
 *   run: (args) => Promise.resolve({ ok: true, result: args, error: "" }),
 * });
 * ```
 */
export function defineGuestTool<const N extends string>(def: GuestToolDef<N>): GuestToolDef<N> {
  return Object.freeze({ ...def, aliases: Object.freeze({ ...def.aliases }) });
}

/** A string argument trimmed and lower-cased, or "" when it is not a string. */
export function lowerArg(value: unknown): string {
  return typeof value === "string" ? value.trim().toLowerCase() : "";
}

/** `"30"` → 30; anything else unchanged (LLMs often quote numbers). */
export function numberLike(value: unknown): unknown {
  if (typeof value === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return value;
}

/** `"true"`/`"false"` → booleans; anything else unchanged. */
export function booleanLike(value: unknown): unknown {
  if (typeof value === "string") {
    const v = value.trim().toLowerCase();
    if (v === "true") return true;
    if (v === "false") return false;
  }
  return value;
}
