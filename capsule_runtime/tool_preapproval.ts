/**
 * Calls the host allows ahead. When it relays a native model reply, the host
 * checks each call that reads with a built-in tool (file_io list/read,
 * sql_query) and needs no approval, up to the reply's first call that may
 * change something, exactly as it would check that call's `tool_request`, and
 * sends the allowed ones with the reply (`llm_result.preapproved`). The guest runs
 * such a call at once and tells the host with a `tool_request` marked
 * `preapproved`, which the host journals and records like any other. The mark
 * is accepted only for a call allowed ahead, once, with the very tool and args
 * the model gave; anything else is a protocol error.
 *
 * This saves one round trip per call. The one thing that changes: a call that
 * changes nothing may start before its request is journaled, so a crash in
 * between leaves no trace of it, and a resumed run simply makes it again.
 * Calls that may change something (and every call after one in the reply),
 * need an approval, reach the network, run on the host (programs, MCP tools)
 * or meet a caller's own `decideTool` still wait for the host's `tool_decision`.
 */
import {
  type PreapprovedCall,
  READ_SKILL_TOOL,
  type ToolCallWire,
} from "../guest/protocol_types.ts";
import { guestTool } from "../guest/tools/registry.ts";
import { hasSideEffects } from "../tools/catalog.ts";
import type { ToolName } from "./manifest.ts";
import type { ToolDecisionDeps } from "./tool_decision.ts";
import { toolRequestHash } from "./step_journal.ts";
import { roundMs } from "./_format.ts";

/** One call allowed ahead, until its `tool_request` claims it. */
export interface AheadCall {
  tool: string;
  /** toolRequestHash of the tool and the model's args. */
  hash: string;
  /** The args the host validated and normalised: what the guest runs. */
  args: Record<string, unknown>;
  /** How long the check took. */
  ms: number;
}

/**
 * What a reply's call means for the calls after it, judged before checking:
 * `skip` (runs nothing here or cannot change anything: read_skill, bad args,
 * a network read, which would also mean a name lookup before the reply goes
 * out), `barrier` (may change something or runs on the host: no later call is
 * allowed ahead, since its check must see what this one did), or `candidate`
 * (a built-in read, checked now).
 */
function kindOf(call: ToolCallWire): "skip" | "barrier" | "candidate" {
  if (call.args_error || call.name === READ_SKILL_TOOL) return "skip";
  const tool = guestTool(call.name);
  // Not a guest tool (an MCP tool), or a program the host runs.
  if (!tool || tool.permission === "exec" || tool.sideEffects === "always") return "barrier";
  if (tool.permission === "network") return tool.sideEffects === "never" ? "skip" : "barrier";
  return "candidate";
}

/** The tool calls of the session so far, and how many it may make. */
export interface CallBudget {
  used: number;
  limit: number;
}

/** The calls of one session allowed ahead of their requests. */
export class Preapprovals {
  private readonly ahead = new Map<string, AheadCall>();

  /**
   * Checks the reply's reads up to its first call that may change something,
   * and returns those allowed. A call whose id the reply repeats is never
   * allowed ahead (another call could claim it), nor one past the budget,
   * counting every call before it in the reply. Approvals of an earlier reply
   * that were not claimed are forgotten.
   */
  async approve(
    calls: readonly ToolCallWire[],
    check: ToolDecisionDeps["check"],
    budget: CallBudget,
  ): Promise<PreapprovedCall[]> {
    this.ahead.clear();
    const seen = new Map<string, number>();
    for (const call of calls) seen.set(call.id, (seen.get(call.id) ?? 0) + 1);
    const allowed: PreapprovedCall[] = [];
    for (const [i, call] of calls.entries()) {
      if (budget.used + i + 1 > budget.limit) break;
      const kind = kindOf(call);
      if (kind === "skip") continue;
      if (kind === "barrier") break;
      const t0 = performance.now();
      const verdict = await check(call.name, call.args);
      if (!verdict.allowed) {
        // Refused now, but asked about again when the guest gets to it: a write may be allowed
        // by then (the folder changed), so a call that may change something is a barrier still.
        if (hasSideEffects(call.name as ToolName, call.args)) break;
        continue;
      }
      if (verdict.needsApproval || hasSideEffects(call.name as ToolName, verdict.args)) break;
      if (seen.get(call.id) !== 1) continue;
      this.ahead.set(call.id, {
        tool: call.name,
        hash: toolRequestHash(call.name, call.args),
        args: verdict.args,
        ms: roundMs(performance.now() - t0),
      });
      allowed.push({ call_id: call.id, tool: call.name, args: verdict.args });
    }
    return allowed;
  }

  /** Forgets the approvals not claimed: the guest asked the model again without them. */
  clear(): void {
    this.ahead.clear();
  }

  /** Voids the approval of a call the guest asked about the usual way: it cannot also claim it. */
  drop(callId: string | undefined): void {
    if (callId !== undefined) this.ahead.delete(callId);
  }

  /** The approval a request marked `preapproved` claims, taken once; null when none matches. */
  claim(callId: string | undefined, tool: string, args: Record<string, unknown>): AheadCall | null {
    const ahead = callId === undefined ? undefined : this.ahead.get(callId);
    if (!ahead || ahead.tool !== tool || ahead.hash !== toolRequestHash(tool, args)) return null;
    this.ahead.delete(callId!);
    return ahead;
  }
}
