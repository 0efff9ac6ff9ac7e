/**
 * One approval service for every gate (paid-API calls, creating or reusing an
 * agent, data crossing toward the network). Every request is a row in
 * `approvals`, so a run waiting in `web` mode can be decided from another
 * process (the dashboard); every request and decision is audited. Timeouts
 * are real: a request nobody answers is recorded as `timed_out` (and denied),
 * never as a person's deny. A request that offers a rule may be answered
 * "always": the rule is stored, audited, and answers later matching requests
 * (in `interactive` and `web` modes) without asking.
 */
import type { ApprovalMode, Settings } from "../core/settings.ts";
import { ClosedClawError } from "../core/errors.ts";
import { Redactor } from "../core/redact.ts";
import type { Store } from "../store/mod.ts";
import type { ApprovalKind, ApprovalRow, ApprovalStatus } from "../store/approvals_repo.ts";
import type {
  ApprovalRuleKind,
  ApprovalRuleRow,
  ApprovalRuleScope,
} from "../store/approval_rules_repo.ts";
import { type AgentGrant, grantCovers } from "./approval_risk.ts";
import type { AskApproval } from "./types.ts";

/** What an "always" answer to a request would store. */
export interface RuleOffer {
  kind: ApprovalRuleKind;
  scope: ApprovalRuleScope;
  /** The role tag or agent id. */
  subject: string;
  /** An agent's grant (agent_create, agent_reuse) or `{provider}` (api_call). */
  grant: Record<string, unknown>;
}

export interface ApprovalRequest {
  runId: string | null;
  kind: ApprovalKind;
  mode: ApprovalMode;
  /** The request's details (provider, endpoint, candidate...), stored and shown. */
  request: Record<string, unknown>;
  /** One line a human reads to decide. */
  summary: string;
  /** Lines shown under it: the exact grant, and what each answer does. */
  details?: string[];
  /** Offered as the "always" answer (absent: approve or deny only). */
  rule?: RuleOffer;
  /** Other rules that answer this request too (an "always" for a role covers its agent's reuse). */
  coveredBy?: RuleOffer[];
  timeoutSec: number;
  signal?: AbortSignal;
}

export interface ApprovalOutcome {
  approval_id: string;
  approved: boolean;
  operator: string;
  note: string;
  /** `timed_out` when nobody answered in time (not a person's deny). */
  status: Exclude<ApprovalStatus, "pending">;
  /** The "always" rule that answered, or that this answer created. */
  rule_id?: string;
}

/** How long a request waits for a person: `web` mode has its own, longer timeout. */
export function approvalTimeoutSec(
  settings: Pick<Settings, "apiApprovalTimeoutSec" | "webApprovalTimeoutSec">,
  mode: ApprovalMode,
): number {
  return mode === "web" ? settings.webApprovalTimeoutSec : settings.apiApprovalTimeoutSec;
}

/** Whether a stored rule answers a request's offer (same kind and subject, grant within). */
export function ruleMatches(rule: ApprovalRuleRow, offer: RuleOffer): boolean {
  if (rule.kind !== offer.kind || rule.scope !== offer.scope || rule.subject !== offer.subject) {
    return false;
  }
  if (offer.kind === "api_call") return rule.grant.provider === offer.grant.provider;
  if (offer.kind === "data_flow") return reachCovered(rule.grant, offer.grant);
  return grantCovers(rule.grant as Partial<AgentGrant>, offer.grant as unknown as AgentGrant);
}

/**
 * A data-flow rule covers a crossing only while the receiving agent reaches
 * no further than when it was approved: the same origin of the data, and no
 * network tool or host beyond the approved ones.
 */
function reachCovered(approved: Record<string, unknown>, asked: Record<string, unknown>): boolean {
  const within = (key: string) => {
    const allowed = new Set(Array.isArray(approved[key]) ? approved[key] as unknown[] : []);
    const wanted = Array.isArray(asked[key]) ? asked[key] as unknown[] : [];
    return wanted.every((v) => allowed.has(v));
  };
  return approved.origin === asked.origin && within("network_tools") && within("network_hosts");
}

/** Stores the rule an "always" answer makes, and audits it. */
export function createRule(
  store: Store,
  offer: RuleOffer,
  by: string,
  approvalId: string,
  runId: string | null,
): ApprovalRuleRow {
  const rule = store.approvalRules.create({ ...offer, createdBy: by, approvalId, runId });
  store.audit.record("approval_rule_created", { ...rule }, { runId: runId ?? undefined });
  return rule;
}

/**
 * Revokes an "always" rule and audits it; false when it is unknown or already revoked.
 *
 * @example
 * ```ts
 * revokeRule(store, "rule_0123456789abcdef", "cli_user");
 * ```
 */
export function revokeRule(store: Store, ruleId: string, by: string): boolean {
  const revoked = store.approvalRules.revoke(ruleId, by);
  if (revoked) {
    store.audit.record("approval_rule_revoked", { rule_id: ruleId, revoked_by: by });
  }
  return revoked;
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
    const request = this.redactor.value({
      ...req.request,
      summary: req.summary,
      mode: req.mode,
      ...(req.details ? { details: req.details } : {}),
      ...(req.rule ? { rule: req.rule } : {}),
    });
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
    const rule = this.standingRule(req);
    if (rule) {
      this.store.approvalRules.markUsed(rule.rule_id);
      outcome = { ...this.settle(row, true, "always_rule", `always_rule:${rule.rule_id}`) };
      outcome.rule_id = rule.rule_id;
    } else {
      outcome = await this.ask(row, req);
    }
    this.store.audit.record("approval_decision", {
      request: { approval_id: row.approval_id, kind: req.kind, ...request },
      decision: { ...outcome, timestamp: new Date().toISOString() },
    }, { runId: req.runId ?? undefined });
    this.options.onDecision?.(this.store.approvals.get(row.approval_id) ?? row, outcome);
    return outcome;
  }

  /** A stored "always" rule answering this request; rules stand in for a person only. */
  private standingRule(req: ApprovalRequest): ApprovalRuleRow | null {
    if (req.mode !== "interactive" && req.mode !== "web") return null;
    for (const offer of [...(req.rule ? [req.rule] : []), ...(req.coveredBy ?? [])]) {
      const found = this.store.approvalRules.active(offer.kind, offer.scope, offer.subject)
        .find((r) => ruleMatches(r, offer));
      if (found) return found;
    }
    return null;
  }

  private async ask(row: ApprovalRow, req: ApprovalRequest): Promise<ApprovalOutcome> {
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
    const ruleId = /^always_rule:(\S+)/.exec(current.note)?.[1] ??
      /rule (rule_\w+)/.exec(current.note)?.[1];
    return {
      approval_id: approvalId,
      approved: current.status === "approved",
      operator: current.operator ?? "",
      note: current.note,
      status: current.status,
      ...(ruleId ? { rule_id: ruleId } : {}),
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
      const text = [req.summary, ...(req.details ?? [])].join("\n");
      const asked = ask
        ? ask({
          kind: req.kind,
          text,
          timeoutSec: req.timeoutSec,
          deadline: new Date(deadline).toISOString(),
          always: req.rule !== undefined,
          signal: done,
        }).catch(() => null)
        : new Promise<null>(() => {});
      let answer: boolean | "always" | null | undefined;
      asked.then((value) => (answer = value));
      while (true) {
        const decided = this.readOutcome(row.approval_id);
        if (decided) return decided;
        if (answer === "always" && req.rule) {
          const outcome = this.settle(row, true, "terminal_user", "approved_always_via_terminal");
          // Someone else may have decided first: only this answer makes a rule.
          if (outcome.operator !== "terminal_user" || !outcome.approved) return outcome;
          const rule = createRule(
            this.store,
            req.rule,
            "terminal_user",
            row.approval_id,
            req.runId,
          );
          const note = `approved_always_via_terminal: rule ${rule.rule_id}`;
          this.store.approvals.amendNote(row.approval_id, note);
          return { ...outcome, note, rule_id: rule.rule_id };
        }
        if (answer !== undefined && answer !== null) {
          answer = answer === "always" ? true : answer;
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
 * Decides a pending approval from any process (dashboard, CLI). With
 * `always` (and an approval that offers a rule), the rule is stored too and
 * answers later matching requests. Returns false when it was already decided
 * or timed out; throws for an unknown id.
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
  always = false,
): boolean {
  const row = deps.store.approvals.get(approvalId);
  if (!row) {
    throw new ClosedClawError("approval_not_found", `No approval with id ${approvalId}.`, {
      hint: "List pending approvals in the dashboard.",
    });
  }
  const offer = row.request_data.rule as RuleOffer | undefined;
  if (approved && always && offer && row.status === "pending") {
    const decided = deps.store.approvals.decide(
      approvalId,
      "approved",
      operator,
      note || "approved_always_via_web",
    );
    if (decided) {
      const rule = createRule(deps.store, offer, operator, approvalId, row.run_id);
      deps.store.approvals.amendNote(
        approvalId,
        `${note || "approved_always_via_web"}: rule ${rule.rule_id}`,
      );
    }
    return decided;
  }
  return deps.store.approvals.decide(
    approvalId,
    approved ? "approved" : "denied",
    operator,
    note ?? (approved ? "approved_via_web" : "denied_via_web"),
  );
}

/**
 * Checks an "always" rule id (`rule_` and 16 hex digits) before it reaches the store.
 *
 * @example
 * ```ts
 * assertRuleId("rule_0123456789abcdef"); // "rule_0123456789abcdef"
 * ```
 */
export function assertRuleId(id: string): string {
  if (!/^rule_[0-9a-f]{16}$/.test(id)) {
    throw new ClosedClawError("invalid_rule_id", `"${id.slice(0, 100)}" is not a rule id.`, {
      hint: "List the rules with `closed-claw approvals rules`.",
      exitCode: 2,
    });
  }
  return id;
}
