/**
 * The calls of the last native reply the host allowed ahead
 * (`llm_result.preapproved`, see capsule_runtime/tool_preapproval.ts), as the
 * guest keeps them: by the model's call id, with the args object of that very
 * call. A call id the reply repeats is left out (the other call could take
 * its approval), and a new reply's approvals replace the last one's.
 */
import type { LlmResultMessage, PreapprovedCall } from "./protocol_types.ts";

export class AheadCalls {
  private ahead = new Map<string, { approved: PreapprovedCall; args: unknown }>();

  /** Keeps the approvals of a new reply; those of the last one lapse. */
  take(reply: LlmResultMessage): void {
    const calls = reply.tool_calls ?? [];
    const once = (id: string) => calls.filter((c) => c.id === id).length === 1;
    this.ahead = new Map(
      (reply.preapproved ?? []).filter((p) => once(p.call_id)).map((p) => [
        p.call_id,
        { approved: p, args: calls.find((c) => c.id === p.call_id)!.args },
      ]),
    );
  }

  /**
   * The approval of this very call (its tool, and the args object of the
   * reply's call), taken once; null when the host did not allow it ahead.
   */
  claim(tool: string, args: unknown, callId?: string): PreapprovedCall | null {
    const entry = callId === undefined ? undefined : this.ahead.get(callId);
    if (!entry || entry.approved.tool !== tool || entry.args !== args) return null;
    this.ahead.delete(callId!);
    return entry.approved;
  }
}
