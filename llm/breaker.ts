/**
 * The per-provider circuit breaker the service consults before each attempt:
 * closed → open after N consecutive provider failures → half-open (one trial
 * call) after the reset window → closed on the trial's success. State lives in
 * provider_circuit_breakers when a store is given, so every process sees it.
 */
import type { BreakerRow, BreakersRepo, BreakerState } from "../store/breakers_repo.ts";
import { LlmError } from "./errors.ts";

/** The part of BreakersRepo the breaker needs. */
export type BreakerBackend = Pick<
  BreakersRepo,
  "get" | "state" | "claimTrial" | "recordFailure" | "recordSuccess"
>;

/** The same state machine in memory, for services without a store. */
export class MemoryBreakers implements BreakerBackend {
  private readonly rows = new Map<string, BreakerRow>();

  get(provider: string): BreakerRow {
    return this.rows.get(provider) ??
      { provider, failure_count: 0, opened_at: null, last_failure_at: null, last_error: "" };
  }

  state(provider: string, resetSec: number, now: number = Date.now()): BreakerState {
    const row = this.get(provider);
    if (!row.opened_at) return "closed";
    return Date.parse(row.opened_at) + resetSec * 1000 <= now ? "half_open" : "open";
  }

  claimTrial(provider: string, resetSec: number, now: number = Date.now()): boolean {
    if (this.state(provider, resetSec, now) !== "half_open") return false;
    this.rows.set(provider, { ...this.get(provider), opened_at: new Date(now).toISOString() });
    return true;
  }

  recordFailure(provider: string, error: string, threshold: number): BreakerRow {
    const row = this.get(provider);
    const now = new Date().toISOString();
    const count = row.failure_count + 1;
    const next = {
      provider,
      failure_count: count,
      opened_at: count >= threshold ? now : row.opened_at,
      last_failure_at: now,
      last_error: error.slice(0, 500),
    };
    this.rows.set(provider, next);
    return next;
  }

  recordSuccess(provider: string): void {
    this.rows.set(provider, { ...this.get(provider), failure_count: 0, opened_at: null });
  }
}

/** One provider's breaker with its threshold and reset window. */
export class CircuitBreaker {
  constructor(
    private readonly backend: BreakerBackend,
    readonly provider: string,
    readonly threshold: number,
    readonly resetSec: number,
  ) {}

  /** Lets a call through, or throws `circuit_open` saying when calls resume. */
  admit(now: number = Date.now()): void {
    const state = this.backend.state(this.provider, this.resetSec, now);
    if (state === "closed") return;
    if (state === "half_open" && this.backend.claimTrial(this.provider, this.resetSec, now)) return;
    const row = this.backend.get(this.provider);
    const opened = row.opened_at ? Date.parse(row.opened_at) : now;
    const resumes = new Date(opened + this.resetSec * 1000);
    const inSec = Math.max(1, Math.ceil((resumes.getTime() - now) / 1000));
    throw new LlmError(
      "circuit_open",
      this.provider,
      `Calls to ${this.provider} are paused after ${row.failure_count} consecutive failures ` +
        `(last: ${row.last_error || "unknown"}); the next trial call is allowed at ` +
        `${resumes.toISOString()} (in ${inSec} s).`,
      { hint: "Wait, or check the provider with `closed-claw doctor`." },
    );
  }

  /** A provider failure; opens the circuit at the threshold. */
  failure(error: LlmError): void {
    this.backend.recordFailure(this.provider, error.message, this.threshold);
  }

  /** A success closes the circuit. */
  success(): void {
    this.backend.recordSuccess(this.provider);
  }
}
