/**
 * The shape of a tool's HOST spec: what the LLM is told about it, how its
 * arguments are validated, what the host checks before allowing a call, and
 * which Deno permissions and sandbox binds the launcher grants for it. Each
 * spec is built on the tool's guest definition (name, aliases, classes).
 */
import type { z } from "zod";
import type { Resolver } from "../../guest/policy/ssrf.ts";
import type { ToolName } from "../../guest/tools/registry.ts";
import type { GuestToolDef, ToolArgs } from "../../guest/tools/tool_def.ts";
import type { ToolContext } from "../../guest/tools/types.ts";

/** A manifest's permissions resolved against the workspace (absolute, real paths). */
export interface ResolvedPermissions {
  readRoots: string[];
  writeRoots: string[];
  fileWrite: boolean;
  networkHosts: string[];
  sqlPaths: string[];
}

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

/** A tool's own policy verdict on validated args. */
export type HostCheckOutcome =
  | { ok: true; needsApproval?: PaidApiApproval }
  | { ok: false; reason: string };

/**
 * What a granted tool adds to a capsule's launch. Paths are absolute (the
 * resolved permissions already are).
 */
export interface LaunchNeeds {
  /** Added to Deno's --allow-read. */
  denoRead?: readonly string[];
  /** Added to Deno's --allow-write. */
  denoWrite?: readonly string[];
  /** Programs for --allow-run, or "any" for a bare --allow-run. */
  run?: "any" | readonly string[];
  /** Bound read-only inside bubblewrap. */
  roBinds?: readonly string[];
  /** Bound read-write inside bubblewrap (after the read-only ones). */
  rwBinds?: readonly string[];
}

/** One tool, as the host sees it. */
export interface HostToolSpec<N extends ToolName = ToolName> {
  readonly name: N;
  readonly guest: GuestToolDef<N>;
  /** Shown to the LLM in the catalogue. */
  readonly description: string;
  /** Validates canonical args and fills in the documented defaults. */
  readonly argsSchema: z.ZodType;
  readonly riskLevel: "low" | "medium" | "high";
  /** The tool's own policy (paths, SQL, SSRF, denylist); none means schema-valid is enough. */
  readonly check?: (
    args: ToolArgs,
    options: HostCheckOptions,
  ) => HostCheckOutcome | Promise<HostCheckOutcome>;
  /** Deno permissions and sandbox binds it needs, given the resolved permissions. */
  readonly launch: (perm: ResolvedPermissions, workspace: string) => LaunchNeeds;
}

/** Builds a host spec on top of a guest definition. */
export function defineHostTool<N extends ToolName>(
  guest: GuestToolDef<N>,
  spec: Omit<HostToolSpec<N>, "name" | "guest">,
): HostToolSpec<N> {
  return Object.freeze({ name: guest.name, guest, ...spec });
}
