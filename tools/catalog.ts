/**
 * The tool catalogue (HOST side): for each of the six tools its description
 * for the LLM, zod argument schema with the seed's defaults, JSON Schema,
 * risk level, side effects and alias table; plus argument validation and the
 * seed's `tool_registry_for_allowlist`.
 *
 * Guest code must not import this file (it needs zod); the guest uses
 * `guest/tools/run.ts`, which shares the alias and coercion tables.
 */
import { z } from "zod";
import type { ToolName } from "../capsule_runtime/manifest.ts";
import { normalizeAliases, TOOL_ALIASES } from "../guest/policy/aliases.ts";
import { coerceArgs } from "../guest/policy/coerce.ts";
import { MAX_QUERY_CHARS } from "../guest/policy/sql.ts";

/** Renames the seed's aliases (`command` → `cmd`, …); see policy/aliases.ts. */
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

/** One entry of the seed's tool registry, as sent to capsules and the planner. */
export interface ToolRegistryEntry {
  name: ToolName;
  description: string;
  args_schema: Record<string, unknown>;
  risk_level: "low" | "medium" | "high";
  side_effects: boolean;
}

const timeout = (fallback: number, max: number) =>
  z.number().min(1).max(max).default(fallback).describe(
    `Timeout in seconds (default ${fallback}, max ${max}).`,
  );

const scalar = z.union([z.string(), z.number(), z.boolean()]);

const terminalArgs = z.object({
  cmd: z.string().min(1).max(10_000).describe(
    "Command line, run with `bash -c` in the workspace (pipes, &&, redirects and globs work).",
  ),
  timeout_s: timeout(15, 300),
}).strict();

const httpApiArgs = z.object({
  method: z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]).default("GET")
    .describe("HTTP method (default GET)."),
  url: z.string().min(1).max(8192).describe("Absolute http:// or https:// URL of a public host."),
  headers: z.record(z.string(), scalar).default({}).describe("Request headers."),
  json: z.unknown().optional().describe("Request body, sent as JSON."),
  params: z.record(z.string(), z.union([scalar, z.array(scalar)])).default({})
    .describe("Query-string parameters added to the URL."),
  timeout_s: timeout(20, 120),
}).strict();

const webFetchArgs = z.object({
  url: z.string().min(1).max(8192).describe("Absolute http:// or https:// URL of a public page."),
  timeout_s: timeout(20, 120),
}).strict();

const fileIoArgs = z.object({
  op: z.enum(["list", "read", "write", "append"]).describe("Operation."),
  path: z.string().min(1).max(4096).default(".").describe(
    "File or folder: relative to the workspace, absolute, or starting with $WORKSPACE.",
  ),
  content: z.string().max(5_000_000).optional().describe(
    "Text to write or append (required for write/append).",
  ),
  recursive: z.boolean().default(false).describe("list: include sub-folders."),
  max_entries: z.number().int().min(1).max(2000).default(200).describe(
    "list: most entries returned (1..2000).",
  ),
}).strict().superRefine((value, context) => {
  if ((value.op === "write" || value.op === "append") && value.content === undefined) {
    context.addIssue({ code: "custom", path: ["content"], message: `required for op=${value.op}` });
  }
});

const pythonExecArgs = z.object({
  code: z.string().min(1).max(30_000).describe("Python 3 source, run with `python3 -c`."),
  timeout_s: timeout(15, 300),
}).strict();

const sqlQueryArgs = z.object({
  db_path: z.string().min(1).max(4096).describe(
    "SQLite file: relative to the workspace, or absolute.",
  ),
  query: z.string().min(1).max(MAX_QUERY_CHARS).describe("One SELECT or WITH … SELECT statement."),
  params: z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])).max(999).default([])
    .describe("Values bound to `?` placeholders, in order."),
}).strict();

const DESCRIPTIONS: Record<ToolName, string> = {
  terminal:
    "Run a shell command line with bash in the workspace and return {returncode, stdout, stderr}. " +
    "Pipes, &&, redirects, globs and $VAR work; every call is a fresh shell (cd does not carry over). " +
    "Standard input is closed, so nothing interactive works. " +
    "Output is cut at 50,000 characters per stream; default timeout 15 s (max 300), then the process is killed. " +
    "Obviously destructive commands (rm -rf, mkfs, dd of=…) are refused.",
  http_api:
    "Make an HTTP request to a public http(s) API and return {status_code, headers, text}. " +
    "`json` is sent as a JSON body, `params` are added to the query string. Private, loopback, link-local " +
    "and cloud-metadata addresses are refused, and so are credentials in the URL. Redirects are followed " +
    "(max 5) only for GET and HEAD. The response text is cut at 10,000 characters; only a few response " +
    "headers are returned. Default timeout 20 s (max 120). Success means status 200–399.",
  web_fetch:
    "Fetch a public web page with GET and return its readable text as {status_code, text, " +
    "content_type, raw_length}. HTML is converted to plain text (scripts, styles and markup removed) and cut " +
    "at 8,000 characters; other text is cut at 10,000. Private and local addresses are refused; redirects " +
    "are followed (max 5). Default timeout 20 s (max 120).",
  file_io:
    "List, read, write or append files inside this agent's allowed folders. Paths are relative to " +
    "the workspace (or absolute inside an allowed folder; $WORKSPACE is replaced; ~ is NOT expanded). " +
    "list → {path, recursive, truncated, entries[{path, name, kind, size_bytes}]} (max_entries 1..2000, " +
    "default 200); read → {content, size_bytes, truncated} (UTF-8 text only, cut at 1 MiB); write → " +
    "{written, path, bytes} (creates folders); append → {appended, path, bytes}. Writing needs write permission.",
  python_exec:
    "Run a Python 3 snippet (`python3 -c code`, at most 30,000 characters) in the workspace and " +
    "return {returncode, stdout, stderr}. Standard input is closed: input() gets EOF, so put data in the " +
    "code. Print what you need to see; output is cut at 50,000 characters per stream. Default timeout " +
    "15 s (max 300), then the process is killed.",
  sql_query:
    "Run ONE read-only SELECT (or WITH … SELECT) query on a SQLite file and return {rows, " +
    "row_count, truncated}, each row an object keyed by column name. Use `?` placeholders with `params`. " +
    "Writes, PRAGMA, ATTACH and several statements are refused; the database is opened read-only. At most " +
    "1,000 rows are returned; BLOBs appear as {blob_bytes: n}.",
};

function spec(
  name: ToolName,
  argsSchema: z.ZodType,
  riskLevel: ToolSpec["riskLevel"],
  sideEffects: boolean,
): ToolSpec {
  return {
    name,
    description: DESCRIPTIONS[name],
    argsSchema,
    jsonSchema: z.toJSONSchema(argsSchema, { io: "input" }) as Record<string, unknown>,
    riskLevel,
    sideEffects,
    aliases: { ...TOOL_ALIASES[name] },
  };
}

/** The six tools, in the seed's order. */
export const TOOL_CATALOG: readonly ToolSpec[] = Object.freeze([
  spec("terminal", terminalArgs, "high", true),
  spec("http_api", httpApiArgs, "medium", true),
  spec("web_fetch", webFetchArgs, "low", false),
  spec("file_io", fileIoArgs, "medium", true),
  spec("python_exec", pythonExecArgs, "high", true),
  spec("sql_query", sqlQueryArgs, "low", false),
]);

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
 * names only, each once (seed `tool_registry_for_allowlist`).
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
 */
export function hasSideEffects(tool: ToolName, args: Record<string, unknown>): boolean {
  const normalized = normalizeAliases(tool, args ?? {}).args;
  switch (tool) {
    case "terminal":
    case "python_exec":
      return true;
    case "file_io": {
      const op = typeof normalized.op === "string" ? normalized.op.trim().toLowerCase() : "";
      // Anything not clearly a read is treated as a write.
      return op !== "list" && op !== "read";
    }
    case "http_api": {
      const method = typeof normalized.method === "string"
        ? normalized.method.trim().toUpperCase()
        : "GET";
      return method !== "GET" && method !== "HEAD";
    }
    case "web_fetch":
    case "sql_query":
      return false;
    default:
      return true;
  }
}
