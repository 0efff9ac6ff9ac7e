/**
 * The host's answer to one `tool_request`: the host policy first, then (for
 * a paid API host) the approval, then the caller's own decision. Everything
 * it touches is passed in, so the order and the refusals can be tested as a
 * table without starting a capsule.
 */
import type { PaidApiApproval } from "../tools/host_check.ts";
import type { ToolRefusalCode } from "../guest/protocol_types.ts";
import type { ApprovalAnswer, CapsuleEvent, CapsuleHooks, ToolDecision } from "./capsule_types.ts";
import { errorText, roundMs } from "./_format.ts";

/** One tool call as the capsule asked for it. */
export interface ToolCall {
  id: string;
  tool: string;
  args: Record<string, unknown>;
  reason: string;
}

/** The host policy's verdict: refused, or allowed with validated args (and maybe an approval to get). */
export type PolicyVerdict =
  | { allowed: false; reason: string }
  | { allowed: true; args: Record<string, unknown>; needsApproval?: PaidApiApproval };

/** What deciding a call may do. */
export interface ToolDecisionDeps {
  /** The host policy: allowlist, argument schema, path/SSRF/SQL policy, paid hosts. */
  check(tool: string, args: Record<string, unknown>): Promise<PolicyVerdict>;
  approve?: CapsuleHooks["approve"];
  decideTool?: CapsuleHooks["decideTool"];
  /** Told about every approval that was asked for, with its answer. */
  onApproval(event: Extract<CapsuleEvent, { type: "approval" }>): void;
  agentId: string;
  /** Aborted when the run stops: approvals and decisions stop waiting. */
  signal: AbortSignal;
}

/** A refusal with its protocol code. */
export function refusal(code: ToolRefusalCode, reason: string): ToolDecision {
  return { allowed: false, args: {}, reason, error_code: code };
}

/**
 * Decides one tool call: host policy, then paid-API approval, then the
 * caller's `decideTool`. Never throws for a failing hook: a throw refuses.
 *
 * @example
 * ```ts
 * const decision = await decideToolCall(
 *   { id: "tool-1", tool: "file_io", args: { op: "list", path: "." }, reason: "" },
 *   { check: () => Promise.resolve({ allowed: true, args: {} }), onApproval() {}, agentId: "a",
 *     signal: new AbortController().signal },
 * );
 * decision.allowed; // true
 * ```
 */
export async function decideToolCall(
  call: ToolCall,
  deps: ToolDecisionDeps,
): Promise<ToolDecision> {
  const checked = await deps.check(call.tool, call.args);
  if (!checked.allowed) return refusal("tool_policy", checked.reason);
  const paid = checked.needsApproval;
  // Without an `approve` hook, a caller's own decideTool is trusted to approve paid calls.
  const delegated = paid && !deps.approve && deps.decideTool ? paid : undefined;
  if (paid && !delegated) {
    const answer = await askApproval(call, checked.args, paid, deps);
    if (!answer.approved) {
      return refusal(
        "approval_denied",
        `${
          paid.provider.startsWith("mcp:") ? "MCP tool call" : "paid API call"
        } to ${paid.endpoint} was not approved (${answer.note})`,
      );
    }
  }
  if (!deps.decideTool) return { allowed: true, args: checked.args, reason: "allowed" };
  let decision: ToolDecision;
  try {
    decision = await deps.decideTool({
      tool: call.tool,
      args: checked.args,
      reason: call.reason,
      signal: deps.signal,
      paidApi: delegated,
    });
  } catch (error) {
    return refusal("decision_failed", `the host could not decide: ${errorText(error)}`);
  }
  if (decision.allowed || decision.error_code !== undefined) return decision;
  return { ...decision, error_code: "refused_by_caller" };
}

/** Asks the `approve` hook (a missing hook or a throw is a denial) and reports the answer. */
async function askApproval(
  call: ToolCall,
  args: Record<string, unknown>,
  paid: PaidApiApproval,
  deps: ToolDecisionDeps,
): Promise<ApprovalAnswer> {
  const t0 = performance.now();
  let answer: ApprovalAnswer;
  try {
    answer = deps.approve
      ? await deps.approve({
        ...paid,
        agent_id: deps.agentId,
        tool: call.tool,
        args,
        signal: deps.signal,
      })
      : { approved: false, note: "no approver is configured for paid API calls" };
  } catch (error) {
    answer = { approved: false, note: `approval failed: ${errorText(error)}` };
  }
  deps.onApproval({
    type: "approval",
    id: call.id,
    tool: call.tool,
    provider: paid.provider,
    endpoint: paid.endpoint,
    approved: answer.approved,
    note: answer.note,
    ms: roundMs(performance.now() - t0),
  });
  return answer;
}
