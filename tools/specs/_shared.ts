/**
 * Pieces several host specs share: the timeout argument, JSON scalars, the
 * path policy built from a tool context, and the network (SSRF + paid-API) check.
 */
import { existsSync } from "node:fs";
import { z } from "zod";
import type { PathPolicy } from "../../guest/policy/paths.ts";
import { paidProviderFor } from "../../guest/policy/paid_api.ts";
import { checkUrl, checkUrlStatic, systemResolver } from "../../guest/policy/ssrf.ts";
import type { ToolContext } from "../../guest/tools/types.ts";
import type { HostCheckOptions, HostCheckOutcome } from "./types.ts";

/** `timeout_s` in seconds, with the tool's default and maximum. */
export const timeoutArg = (fallback: number, max: number) =>
  z.number().min(1).max(max).default(fallback).describe(
    `Timeout in seconds (default ${fallback}, max ${max}).`,
  );

/** A JSON scalar other than null. */
export const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** The path policy for a tool context, optionally with other read roots. */
export function pathPolicy(ctx: ToolContext, readRoots = ctx.readRoots): PathPolicy {
  return {
    workspace: ctx.workspace,
    readRoots,
    writeRoots: ctx.writeRoots,
    fileWrite: ctx.fileWrite,
    denyPaths: ctx.denyPaths,
    exists: existsSync,
  };
}

/**
 * The SSRF check of a network call's first hop; a call to a paid API host
 * comes back allowed but needing approval.
 */
export async function checkNetworkCall(
  tool: string,
  url: unknown,
  method: string,
  options: HostCheckOptions,
): Promise<HostCheckOutcome> {
  const urlOptions = { networkHosts: options.ctx.networkHosts };
  const check = options.skipDns
    ? checkUrlStatic(url, urlOptions)
    : await checkUrl(url, options.resolver ?? systemResolver, urlOptions);
  if (!check.ok) return { ok: false, reason: check.error };
  const provider = paidProviderFor(check.host, options.paidApiProviders ?? []);
  if (!provider) return { ok: true };
  return {
    ok: true,
    needsApproval: {
      provider,
      endpoint: `${method} ${check.url.origin}${check.url.pathname}`,
      reason: `${tool} call to the paid API host ${check.host} (${provider})`,
    },
  };
}
