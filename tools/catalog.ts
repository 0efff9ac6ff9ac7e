/**
 * The tool catalogue (HOST side): for each tool its description for the LLM,
 * zod argument schema with its defaults, JSON Schema, risk level, side
 * effects and alias table, all read from the tool specs (tools/specs/); plus
 * argument validation and the registry entries for an agent's allowlist.
 *
 * Guest code must not import this file (it needs zod); the guest uses
 * `guest/tools/run.ts`, which reads the same tool definitions.
 */
import { z } from "zod";
import type { ToolName } from "../guest/tools/registry.ts";
import { normalizeAliases } from "../guest/policy/aliases.ts";
import { coerceArgs } from "../guest/policy/coerce.ts";
import { guestTool } from "../guest/tools/registry.ts";
import { HOST_TOOL_SPECS } from "./specs/registry.ts";
import type { HostToolSpec } from "./specs/types.ts";

/** Renames common argument aliases (`command` → `cmd`, …); see policy/aliases.ts. */
export { normalizeAliases } from "../guest/policy/aliases.ts";

/** Everything the host and the LLM need to know about one tool. */
export interface ToolSpec {
  name: ToolName;
  description: string;
  argsSchema: z.ZodType;
  jsonSchema: Record<string, unknown>;
  riskLevel: "low" | "medium" | "high";
  sideEffects: boolean;
  aliases: Record<string, string>;
}

/** One tool registry entry, as sent to capsules and the planner. */
export interface ToolRegistryEntry {
  name: ToolName;
  description: string;
  args_schema: Record<string, unknown>;
  risk_level: "low" | "medium" | "high";
  side_effects: boolean;
}

function catalogEntry(spec: HostToolSpec): ToolSpec {
  return {
    name: spec.name,
    description: spec.description,
    argsSchema: spec.argsSchema,
    jsonSchema: z.toJSONSchema(spec.argsSchema, { io: "input" }) as Record<string, unknown>,
    riskLevel: spec.riskLevel,
    sideEffects: spec.guest.sideEffects !== "never",
    aliases: { ...spec.guest.aliases },
  };
}

/** Every tool, in the tool registry's order. */
export const TOOL_CATALOG: readonly ToolSpec[] = Object.freeze(HOST_TOOL_SPECS.map(catalogEntry));

/** The spec for `name`, or `undefined` for an unknown tool. */
export function toolSpec(name: string): ToolSpec | undefined {
  return TOOL_CATALOG.find((tool) => tool.name === name);
}

function valueAt(args: Record<string, unknown>, path: readonly PropertyKey[]): unknown {
  let value: unknown = args;
  for (const key of path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function describeIssue(
  tool: ToolName,
  issue: z.core.$ZodIssue,
  allowed: string[],
  args: Record<string, unknown>,
): string {
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((k) => `'${k}'`).join(", ");
    return `${tool}: unknown field ${keys} (allowed: ${allowed.join(", ")})`;
  }
  const field = issue.path.length > 0 ? issue.path.join(".") : "args";
  if (issue.code === "invalid_type" && valueAt(args, issue.path) === undefined) {
    return `${tool}: field '${field}' is required`;
  }
  return `${tool}: field '${field}': ${issue.message}`;
}

/**
 * Validates a tool call's arguments: aliases, lenient coercions, then the zod
 * schema (which fills defaults). The error is one line naming the bad field.
 *
 * @example
 * ```ts
 * validateToolArgs("terminal", { command: "ls" }); // { ok: true, args: { cmd: "ls", timeout_s: 15 }, warnings: [] }
 * ```
 */
export function validateToolArgs(
  tool: ToolName,
  rawArgs: unknown,
): { ok: true; args: Record<string, unknown>; warnings: string[] } | { ok: false; error: string } {
  const found = toolSpec(tool);
  if (!found) return { ok: false, error: `unknown tool '${tool}'` };
  if (typeof rawArgs !== "object" || rawArgs === null || Array.isArray(rawArgs)) {
    return { ok: false, error: `${tool}: args must be a JSON object` };
  }
  const aliased = normalizeAliases(tool, rawArgs as Record<string, unknown>);
  const coerced = coerceArgs(tool, aliased.args);
  const parsed = found.argsSchema.safeParse(coerced.args);
  if (!parsed.success) {
    const allowed = Object.keys((found.jsonSchema as { properties?: object }).properties ?? {});
    const issues = parsed.error.issues;
    const more = issues.length > 1
      ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? "s" : ""})`
      : "";
    return { ok: false, error: describeIssue(tool, issues[0], allowed, coerced.args) + more };
  }
  return {
    ok: true,
    args: parsed.data as Record<string, unknown>,
    warnings: [...aliased.warnings, ...coerced.warnings],
  };
}

/**
 * The registry entries for an agent's allowlist, in allowlist order, known
 * names only, each once.
 */
export function toolRegistryForAllowlist(allowlist: readonly string[]): ToolRegistryEntry[] {
  const seen = new Set<string>();
  const out: ToolRegistryEntry[] = [];
  for (const name of allowlist) {
    const found = toolSpec(name);
    if (!found || seen.has(name)) continue;
    seen.add(name);
    out.push({
      name: found.name,
      description: found.description,
      args_schema: found.jsonSchema,
      risk_level: found.riskLevel,
      side_effects: found.sideEffects,
    });
  }
  return out;
}

/**
 * Whether a call has side effects that must never be silently re-run
 * (terminal, python_exec, file_io write/append, http_api non-GET/HEAD).
 * Aliases are applied first, so `{ action: "write" }` counts as a write.
 * An unknown tool counts as having side effects.
 */
export function hasSideEffects(tool: ToolName, args: Record<string, unknown>): boolean {
  const def = guestTool(tool);
  if (!def) return true;
  if (def.sideEffects !== "depends") return def.sideEffects === "always";
  return def.hasSideEffects?.(normalizeAliases(tool, args ?? {}).args) ?? true;
}

/**
 * The tools of an allowlist for a planning prompt, one line each: the name,
 * whether it can change things, and the first sentence of its description
 * without what it returns (the planner chooses tools; the agent gets the
 * full declaration).
 */
export function toolSummaries(allowlist: readonly string[]): string {
  return toolRegistryForAllowlist(allowlist).map((t) => {
    const first = /^[\s\S]*?[.!?](?=\s|$)/.exec(t.description)?.[0] ?? t.description;
    const sentence = first.replace(/ and returns? [\s\S]*(?=[.!?]$)/, "");
    return `- ${t.name} (${t.side_effects ? "may change things" : "read-only"}): ${sentence}`;
  }).join("\n");
}
