/**
 * The per-endpoint circuit breaker the service consults before each attempt:
 * closed → open after N consecutive provider failures → half-open (one trial
 * call) after the reset window → closed on the trial's success. An endpoint
 * is a provider, a base URL and a model ({@link endpointKey}), so a failing
 * server never pauses calls to another server of the same provider. State
 * lives in provider_circuit_breakers when a store is given (the key column
 * holds the endpoint key), so every process sees it; a successful key probe
 * (`doctor`) clears the endpoints it reached.
 */
import type { BreakerRow, BreakersRepo, BreakerState } from "../store/breakers_repo.ts";
import { LlmError } from "./errors.ts";
import { PROVIDER_INFO } from "./provider_config.ts";
import type { ProviderName } from "../core/settings.ts";

/** What a breaker guards: one model at one base URL of one provider. */
export interface Endpoint {
  provider: string;
  /** "" for keys written before breakers were per endpoint (they named only the provider). */
  baseUrl: string;
  model: string;
}

/** The base URL calls really go to: the configured one, or the provider's default; no trailing `/`. */
function effectiveBaseUrl(provider: string, baseUrl: string): string {
  const info = PROVIDER_INFO[provider as ProviderName];
  return (baseUrl || info?.defaultBaseUrl || "").replace(/\/+$/, "");
}

/**
 * The breaker key of an endpoint: `provider base-url model`, separated by
 * spaces (neither a URL nor a model name holds one).
 *
 * @example
 * ```ts
 * endpointKey("openai", "", "gpt-4o-mini"); // "openai https://api.openai.com/v1 gpt-4o-mini"
 * ```
 */
export function endpointKey(provider: string, baseUrl: string, model: string): string {
  return `${provider} ${effectiveBaseUrl(provider, baseUrl) || "-"} ${model}`;
}

/** The prefix shared by the keys of every model at one base URL (what a probe clears). */
export function endpointPrefix(provider: string, baseUrl: string): string {
  return `${provider} ${effectiveBaseUrl(provider, baseUrl) || "-"} `;
}

/** Reads a breaker key back; an old provider-only key gives an empty base URL and model. */
export function parseEndpointKey(key: string): Endpoint {
  const [provider, baseUrl = "", ...model] = key.split(" ");
  return { provider, baseUrl: baseUrl === "-" ? "" : baseUrl, model: model.join(" ") };
}

/** An endpoint as one readable phrase: `openai gpt-4o-mini at https://…`. */
function describeEndpoint(key: string): string {
  const e = parseEndpointKey(key);
  if (!e.model && !e.baseUrl) return `${e.provider} (every endpoint: recorded by an older version)`;
  return `${e.provider} ${e.model}${e.baseUrl ? ` at ${e.baseUrl}` : ""}`;
}

/** An open (or half-open) breaker, as doctor and the dashboard show it. */
export interface OpenBreaker {
  key: string;
  endpoint: Endpoint;
  /** `describeEndpoint(key)`. */
  label: string;
  state: Exclude<BreakerState, "closed">;
  failures: number;
  lastError: string;
  openedAt: string;
  /** When the next trial call is allowed (ISO). */
  resetsAt: string;
  /** Seconds until then (0 once half-open). */
  resetsInSec: number;
}

/** The breakers among `rows` that are not closed, with when each lets a trial call through. */
export function openBreakers(
  rows: BreakerRow[],
  resetSec: number,
  now: number = Date.now(),
): OpenBreaker[] {
  return rows.filter((r) => r.opened_at).map((r) => {
    const resets = Date.parse(r.opened_at!) + resetSec * 1000;
    return {
      key: r.provider,
      endpoint: parseEndpointKey(r.provider),
      label: describeEndpoint(r.provider),
      state: resets <= now ? "half_open" as const : "open" as const,
      failures: Number(r.failure_count),
      lastError: r.last_error,
      openedAt: r.opened_at!,
      resetsAt: new Date(resets).toISOString(),
      resetsInSec: Math.max(0, Math.ceil((resets - now) / 1000)),
    };
  });
}

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

/** One endpoint's breaker with its threshold and reset window. */
export class CircuitBreaker {
  /** The provider part of the key (what errors name as their provider). */
  readonly provider: string;

  /** `key` is an {@link endpointKey} (a bare provider name still works: one breaker for all of it). */
  constructor(
    private readonly backend: BreakerBackend,
    readonly key: string,
    readonly threshold: number,
    readonly resetSec: number,
  ) {
    this.provider = parseEndpointKey(key).provider;
  }

  /** Lets a call through, or throws `circuit_open` saying when calls resume. */
  admit(now: number = Date.now()): void {
    const state = this.backend.state(this.key, this.resetSec, now);
    if (state === "closed") return;
    if (state === "half_open" && this.backend.claimTrial(this.key, this.resetSec, now)) return;
    const row = this.backend.get(this.key);
    const opened = row.opened_at ? Date.parse(row.opened_at) : now;
    const resumes = new Date(opened + this.resetSec * 1000);
    const inSec = Math.max(1, Math.ceil((resumes.getTime() - now) / 1000));
    throw new LlmError(
      "circuit_open",
      this.provider,
      `Calls to ${
        describeEndpoint(this.key)
      } are paused after ${row.failure_count} consecutive failures ` +
        `(last: ${row.last_error || "unknown"}); the next trial call is allowed at ` +
        `${resumes.toISOString()} (in ${inSec} s).`,
      { hint: "Wait, or run `closed-claw doctor`: a successful key probe clears it." },
    );
  }

  /** A provider failure; opens the circuit at the threshold. */
  failure(error: LlmError): void {
    this.backend.recordFailure(this.key, error.message, this.threshold);
  }

  /** A success closes the circuit. */
  success(): void {
    this.backend.recordSuccess(this.key);
  }
}
