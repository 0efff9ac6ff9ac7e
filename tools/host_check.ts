/**
 * The host's half of the double check: before answering `tool_decision`,
 * the host runs the same policies the guest will run again under its own
 * Deno permissions — allowlist, argument schema, then the tool's own check
 * from its spec (path policy, SQL policy, SSRF first hop, the terminal
 * courtesy denylist).
 */
import type { ToolName } from "../guest/tools/registry.ts";
import { isToolName } from "../guest/tools/registry.ts";
import { validateToolArgs } from "./catalog.ts";
import { hostToolSpec } from "./specs/registry.ts";
import type { HostCheckOptions, PaidApiApproval } from "./specs/types.ts";

export type { HostCheckOptions, PaidApiApproval } from "./specs/types.ts";

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
    const check = hostToolSpec(tool)?.check;
    const outcome = check ? await check(args, options) : { ok: true as const };
    if (!outcome.ok) return { allowed: false, reason: outcome.reason };
    return outcome.needsApproval ? { ...allow, needsApproval: outcome.needsApproval } : allow;
  } catch (error) {
    return {
      allowed: false,
      reason: `${tool}: policy check failed: ${(error as Error)?.message ?? error}`,
    };
  }
}
