/**
 * Persisted circuit-breaker state per model endpoint. The `provider` column
 * holds the breaker's key: since breakers are per endpoint it is the
 * endpoint key `provider base-url model` (llm/breaker.ts builds and parses
 * it); rows from older versions hold a bare provider name. Closed → open after N
 * consecutive failures → half-open once the reset window has passed, when
 * exactly one process wins the trial call; its success closes the circuit,
 * its failure re-opens it for another window.
 */
import type { DatabaseSync } from "node:sqlite";
import { nowIso } from "./db.ts";

export type BreakerState = "closed" | "open" | "half_open";

export interface BreakerRow {
  provider: string;
  failure_count: number;
  opened_at: string | null;
  last_failure_at: string | null;
  last_error: string;
}

export class BreakersRepo {
  constructor(private readonly db: DatabaseSync) {}

  get(provider: string): BreakerRow {
    const row = this.db.prepare("SELECT * FROM provider_circuit_breakers WHERE provider = ?").get(
      provider,
    ) as BreakerRow | undefined;
    return row
      ? { ...row, failure_count: Number(row.failure_count) }
      : { provider, failure_count: 0, opened_at: null, last_failure_at: null, last_error: "" };
  }

  list(): BreakerRow[] {
    return this.db.prepare("SELECT * FROM provider_circuit_breakers ORDER BY provider")
      .all() as unknown as BreakerRow[];
  }

  state(provider: string, resetSec: number, now: number = Date.now()): BreakerState {
    const row = this.get(provider);
    if (!row.opened_at) return "closed";
    return Date.parse(row.opened_at) + resetSec * 1000 <= now ? "half_open" : "open";
  }

  /**
   * Claims the single trial call of a half-open circuit by moving `opened_at`
   * to now; true only for the caller whose UPDATE matched.
   */
  claimTrial(provider: string, resetSec: number, now: number = Date.now()): boolean {
    const cutoff = new Date(now - resetSec * 1000).toISOString();
    const info = this.db.prepare(
      `UPDATE provider_circuit_breakers SET opened_at = ?
       WHERE provider = ? AND opened_at IS NOT NULL AND opened_at <= ?`,
    ).run(new Date(now).toISOString(), provider, cutoff);
    return Number(info.changes) > 0;
  }

  /** Counts a failure; opens (or re-opens) the circuit at `threshold`. Returns the new row. */
  recordFailure(provider: string, error: string, threshold: number): BreakerRow {
    const now = nowIso();
    this.db.prepare(
      `INSERT INTO provider_circuit_breakers (provider, failure_count, opened_at, last_failure_at, last_error)
       VALUES (?1, 1, CASE WHEN 1 >= ?2 THEN ?3 END, ?3, ?4)
       ON CONFLICT(provider) DO UPDATE SET
         failure_count = failure_count + 1,
         opened_at = CASE WHEN failure_count + 1 >= ?2 THEN ?3 ELSE opened_at END,
         last_failure_at = ?3, last_error = ?4`,
    ).run(provider, threshold, now, error.slice(0, 500));
    return this.get(provider);
  }

  /** The rows whose circuit is open or half-open. */
  listOpen(): BreakerRow[] {
    return this.list().filter((r) => r.opened_at !== null);
  }

  /**
   * Closes every circuit whose key is one of `keys` or starts with one of
   * `prefixes` (e.g. every model at a base URL a probe just reached);
   * returns how many were open.
   */
  clear(keys: string[], prefixes: string[] = []): number {
    let opened = 0;
    const close = this.db.prepare(
      "UPDATE provider_circuit_breakers SET failure_count = 0, opened_at = NULL WHERE provider = ?",
    );
    for (const row of this.list()) {
      if (!keys.includes(row.provider) && !prefixes.some((p) => row.provider.startsWith(p))) {
        continue;
      }
      if (row.opened_at) opened++;
      close.run(row.provider);
    }
    return opened;
  }

  /** A success closes the circuit and clears the count (no write when both are clear already). */
  recordSuccess(provider: string): void {
    // Read first: a write that changes nothing still costs a write transaction, on every call.
    const row = this.db.prepare(
      "SELECT failure_count, opened_at FROM provider_circuit_breakers WHERE provider = ?",
    ).get(provider) as { failure_count: number; opened_at: string | null } | undefined;
    if (!row || (Number(row.failure_count) === 0 && row.opened_at === null)) return;
    this.db.prepare(
      "UPDATE provider_circuit_breakers SET failure_count = 0, opened_at = NULL " +
        "WHERE provider = ? AND (failure_count != 0 OR opened_at IS NOT NULL)",
    ).run(provider);
  }
}
