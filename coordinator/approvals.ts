/**
 * One approval service for both gates (paid-API calls and agent creation).
 * Every request is a row in `approvals`, so a run waiting in `web` mode can be
 * decided from another process (the dashboard); every request and decision is
 * audited. Timeouts are real and deny by default.
 */
import type { ApprovalMode } from "../core/settings.ts";
import { ClosedClawError } from "../core/errors.ts";
import { Redactor } from "../core/redact.ts";
import type { Store } from "../store/mod.ts";
import type { ApprovalKind, ApprovalRow } from "../store/approvals_repo.ts";
import type { AskApproval } from "./types.ts";

export interface ApprovalRequest {
  runId: string | null;
  kind: ApprovalKind;
  mode: ApprovalMode;
  /** The request's details (provider, endpoint, candidate...), stored and shown. */
  request: Record<string, unknown>;
  /** One line a human reads to decide. */
  summary: string;
  timeoutSec: number;
  signal?: AbortSignal;
}

export interface ApprovalOutcome {
  approval_id: string;
  approved: boolean;
  operator: string;
  note: string;
}

export interface ApprovalServiceOptions {
  /** Terminal prompt for `interactive`; without it interactive requests are refused. */
  ask?: AskApproval;
  /** How often a waiting request re-reads its row (ms). */
  pollMs?: number;
  redactor?: Redactor;
  /** Called when a request starts waiting and when it is decided (run log, live view). */
  onRequest?(row: ApprovalRow): void;
  onDecision?(row: ApprovalRow, outcome: ApprovalOutcome): void;
}

/** Asks, waits and records; never throws for a missing human, it denies. */
export class ApprovalService {
  private readonly pollMs: number;
  private readonly redactor: Redactor;

  constructor(private readonly store: Store, private readonly options: ApprovalServiceOptions) {
    this.pollMs = options.pollMs ?? 150;
    this.redactor = options.redactor ?? new Redactor();
  }

  async request(req: ApprovalRequest): Promise<ApprovalOutcome> {
    const request = this.redactor.value({ ...req.request, summary: req.summary, mode: req.mode });
    const row = this.store.approvals.create({
      runId: req.runId,
      kind: req.kind,
      request,
      timeoutSec: req.timeoutSec,
    });
    this.store.audit.record("approval_request", { approval_id: row.approval_id, ...request }, {
      runId: req.runId ?? undefined,
    });
    this.options.onRequest?.(row);
    let outcome: ApprovalOutcome;
    switch (req.mode) {
      case "approve":
        outcome = this.settle(row, true, "policy", "auto_approved_by_policy");
        break;
      case "deny":
        outcome = this.settle(row, false, "policy", "auto_denied_by_policy");
        break;
      case "web":
        outcome = await this.waitForDecision(row, req, null);
        break;
      case "interactive":
        outcome = this.options.ask
          ? await this.waitForDecision(row, req, this.options.ask)
          : this.settle(row, false, "policy", "no_terminal_default_deny");
        break;
    }
    this.store.audit.record("approval_decision", {
      request: { approval_id: row.approval_id, kind: req.kind, ...request },
      decision: { ...outcome, timestamp: new Date().toISOString() },
    }, { runId: req.runId ?? undefined });
    this.options.onDecision?.(this.store.approvals.get(row.approval_id) ?? row, outcome);
    return outcome;
  }

  /** Decides the row unless someone else already did; returns what the row says. */
  private settle(
    row: ApprovalRow,
    approved: boolean,
    operator: string,
    note: string,
    status: "approved" | "denied" | "timed_out" = approved ? "approved" : "denied",
  ): ApprovalOutcome {
    this.store.approvals.decide(row.approval_id, status, operator, note);
    return this.readOutcome(row.approval_id)!;
  }

  private readOutcome(approvalId: string): ApprovalOutcome | null {
    const current = this.store.approvals.get(approvalId);
    if (!current || current.status === "pending") return null;
    return {
      approval_id: approvalId,
      approved: current.status === "approved",
      operator: current.operator ?? "",
      note: current.note,
    };
  }

  /**
   * Waits for whichever comes first: a decision written to the row (by the
   * dashboard or `decideApproval`), the terminal's answer, the timeout, or
   * cancellation of the run.
   */
  private async waitForDecision(
    row: ApprovalRow,
    req: ApprovalRequest,
    ask: AskApproval | null,
  ): Promise<ApprovalOutcome> {
    const stop = new AbortController();
    const signals = [stop.signal, ...(req.signal ? [req.signal] : [])];
    const done = AbortSignal.any(signals);
    const deadline = Date.now() + req.timeoutSec * 1000;
    try {
      const asked = ask
        ? ask({ kind: req.kind, text: req.summary, timeoutSec: req.timeoutSec, signal: done })
          .catch(() => null)
        : new Promise<null>(() => {});
      let answer: boolean | null | undefined;
      asked.then((value) => (answer = value));
      while (true) {
        const decided = this.readOutcome(row.approval_id);
        if (decided) return decided;
        if (answer !== undefined && answer !== null) {
          return this.settle(
            row,
            answer,
            "terminal_user",
            answer ? "approved_via_terminal" : "denied_via_terminal",
          );
        }
        if (answer === null) {
          return this.settle(row, false, "terminal", "input_error_default_deny");
        }
        if (req.signal?.aborted) {
          return this.settle(row, false, "coordinator", "run_cancelled_default_deny");
        }
        if (Date.now() >= deadline) {
          return this.settle(
            row,
            false,
            ask ? "interactive_timeout" : "web_timeout",
            "timed_out_default_deny",
            "timed_out",
          );
        }
        await sleep(Math.min(this.pollMs, Math.max(1, deadline - Date.now())), done);
      }
    } finally {
      stop.abort();
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Decides a pending approval from any process (dashboard, CLI). Returns false
 * when it was already decided or timed out; throws for an unknown id.
 *
 * @example
 * ```ts
 * decideApproval({ store }, approvalId, true, "looks fine", "web_user");
 * ```
 */
export function decideApproval(
  deps: { store: Store },
  approvalId: string,
  approved: boolean,
  note?: string,
  operator = "web_user",
): boolean {
  const row = deps.store.approvals.get(approvalId);
  if (!row) {
    throw new ClosedClawError("approval_not_found", `No approval with id ${approvalId}.`, {
      hint: "List pending approvals in the dashboard.",
    });
  }
  return deps.store.approvals.decide(
    approvalId,
    approved ? "approved" : "denied",
    operator,
    note ?? (approved ? "approved_via_web" : "denied_via_web"),
  );
}

/**
 * The line a person reads before a new agent is created: the best existing
 * match (and that denying reuses it), and the hosts the new agent's
 * programs and network tools would reach.
 *
 * @example
 * ```ts
 * agentCreateSummary({ title: "Clone", best: null, effective: 0, threshold: 0.62, networkHosts: ["github.com"] });
 * // 'Create a new agent for "Clone"? It would reach only these hosts: github.com (...). No existing agent fits; denying fails the subtask.'
 * ```
 */
export function agentCreateSummary(input: {
  title: string;
  best: string | null;
  effective: number;
  threshold: number;
  networkHosts: readonly string[];
}): string {
  const hosts = input.networkHosts.length
    ? ` It would reach only these hosts: ${
      input.networkHosts.join(", ")
    } (its programs through the egress proxy).`
    : "";
  const match = input.best
    ? ` The best existing match, ${input.best}, scores ${input.effective} (threshold ${input.threshold}). Denying reuses it.`
    : " No existing agent fits; denying fails the subtask.";
  return `Create a new agent for "${input.title}"?${hosts}${match}`;
}
