/**
 * The host's half of the double check: before answering `tool_decision`,
 * the host runs the same policies the guest will run again under its own
 * Deno permissions — allowlist, argument schema, path policy, SQL policy,
 * SSRF (first hop) and the terminal courtesy denylist.
 */
import type { ToolName } from "../capsule_runtime/manifest.ts";
import { validateToolArgs } from "./catalog.ts";
import { checkPath, type PathPolicy } from "../guest/policy/paths.ts";
import { checkReadOnlySql } from "../guest/policy/sql.ts";
import { checkUrl, checkUrlStatic, type Resolver, systemResolver } from "../guest/policy/ssrf.ts";
import { isToolName } from "../guest/policy/tool_names.ts";
import { paidProviderFor } from "../guest/policy/paid_api.ts";
import { deniedCommand } from "../guest/tools/terminal.ts";
import type { ToolContext } from "../guest/tools/types.ts";

/** What the host knows when it checks a call. */
export interface HostCheckOptions {
  /** The agent's `tools_allowlist`. */
  allowlist: readonly string[];
  /** The same context the guest will receive. */
  ctx: ToolContext;
  /** DNS resolver for the SSRF check (tests inject one). */
  resolver?: Resolver;
  /** Skip the host-side DNS lookup for http tools (the guest always does it). */
  skipDns?: boolean;
  /** CLOSED_CLAW_PAID_API_PROVIDERS: calls to these hosts come back with `needsApproval`. */
  paidApiProviders?: readonly string[];
}

/** A paid-API call the host must get approved before it answers `tool_decision`. */
export interface PaidApiApproval {
  /** The CLOSED_CLAW_PAID_API_PROVIDERS entry the URL's host falls under. */
  provider: string;
  /** Method and URL without the query string (which may hold keys), e.g. `POST https://api.x.com/v1/charges`. */
  endpoint: string;
  /** One line for the person or policy deciding. */
  reason: string;
}

/** The host's answer: allowed with normalised args, or refused with one line. */
export type ToolDecision =
  | {
    allowed: true;
    tool: ToolName;
    args: Record<string, unknown>;
    warnings: string[];
    /** Set for a call to a paid API host: allowed only once this is approved. */
    needsApproval?: PaidApiApproval;
  }
  | { allowed: false; reason: string };

function pathPolicy(ctx: ToolContext, readRoots = ctx.readRoots): PathPolicy {
  return {
    workspace: ctx.workspace,
    readRoots,
    writeRoots: ctx.writeRoots,
    fileWrite: ctx.fileWrite,
    denyPaths: ctx.denyPaths,
  };
}

/**
 * Checks one tool call for the host. Never throws.
 *
 * @example
 * ```ts
 * const decision = await checkToolCall("file_io", { op: "read", path: "../.env" }, { allowlist: ["file_io"], ctx });
 * decision.allowed; // false
 * ```
 */
export async function checkToolCall(
  tool: string,
  rawArgs: unknown,
  options: HostCheckOptions,
): Promise<ToolDecision> {
  if (!isToolName(tool)) return { allowed: false, reason: `unknown tool '${tool}'` };
  if (!options.allowlist.includes(tool)) {
    return { allowed: false, reason: `tool '${tool}' is not allowed for this agent` };
  }
  const validated = validateToolArgs(tool, rawArgs);
  if (!validated.ok) return { allowed: false, reason: validated.error };
  const { args, warnings } = validated;
  const allow: ToolDecision = { allowed: true, tool, args, warnings };
  try {
    switch (tool) {
      case "file_io": {
        const mode = args.op === "write" || args.op === "append" ? "write" : "read";
        const check = await checkPath(args.path, mode, pathPolicy(options.ctx));
        return check.ok ? allow : { allowed: false, reason: check.error };
      }
      case "sql_query": {
        const sql = checkReadOnlySql(args.query);
        if (!sql.ok) return { allowed: false, reason: sql.error };
        const roots = options.ctx.sqlPaths.length > 0
          ? options.ctx.sqlPaths
          : options.ctx.readRoots;
        const check = await checkPath(args.db_path, "read", pathPolicy(options.ctx, roots));
        return check.ok ? allow : { allowed: false, reason: check.error };
      }
      case "http_api":
      case "web_fetch": {
        const urlOptions = { networkHosts: options.ctx.networkHosts };
        const check = options.skipDns
          ? checkUrlStatic(args.url, urlOptions)
          : await checkUrl(args.url, options.resolver ?? systemResolver, urlOptions);
        if (!check.ok) return { allowed: false, reason: check.error };
        const provider = paidProviderFor(check.host, options.paidApiProviders ?? []);
        if (!provider) return allow;
        const method = tool === "http_api" ? String(args.method ?? "GET") : "GET";
        const endpoint = `${method} ${check.url.origin}${check.url.pathname}`;
        return {
          ...allow,
          needsApproval: {
            provider,
            endpoint,
            reason: `${tool} call to the paid API host ${check.host} (${provider})`,
          },
        };
      }
      case "terminal": {
        const denied = deniedCommand(String(args.cmd));
        return denied
          ? {
            allowed: false,
            reason: `command refused by the destructive-command denylist (${denied})`,
          }
          : allow;
      }
      case "python_exec":
        return allow;
    }
  } catch (error) {
    return {
      allowed: false,
      reason: `${tool}: policy check failed: ${(error as Error)?.message ?? error}`,
    };
  }
}
