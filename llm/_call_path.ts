/**
 * The way one call reaches the provider: the call reserves its worst case on
 * the run's budget (which bounds its `maxTokens`), the circuit breaker admits
 * it, each attempt is bounded by a timeout, failures
 * that retrying can help are retried with jittered exponential backoff (or
 * the server's Retry-After), and every attempt is accounted. An answered call
 * is appended to the cassette being recorded, if any.
 */
import type { CircuitBreaker } from "./breaker.ts";
import type { CassetteRecorder } from "./cassette.ts";
import { LlmError } from "./errors.ts";
import type { Accounting, Reservation } from "./_accounting.ts";
import { probeProvider } from "./probe.ts";
import type { ProviderConfig } from "./provider_config.ts";
import { toLlmError } from "./providers/_errors.ts";
import type { CallMeta, CompletionRequest, CompletionResponse, ProviderClient } from "./types.ts";

/** Retry-After waits longer than this are not waited for: the call fails instead. */
const MAX_RETRY_AFTER_MS = 60_000;
export const MAX_BACKOFF_MS = 20_000;
/** Kinds that say the provider itself is unhealthy (they count for the breaker). */
const PROVIDER_FAILURES = new Set(["server_error", "network", "timeout", "malformed"]);

/** A check's verdict on a reply: the value it read from it, or why it did not validate. */
export type Verdict<V> = { ok: true; value: V } | { ok: false; error: string };

/** An answered call, with the check's verdict when a check was given. */
export interface Answer<V> {
  /** The reply, with `costUsd` set. */
  response: CompletionResponse;
  verdict?: Verdict<V>;
}

/**
 * Makes one call. A reply the check rejects is still an answer (accounted as
 * `invalid_output`); what to do about it is the caller's business.
 */
export type CallPath = <V = never>(
  request: CompletionRequest,
  meta: CallMeta,
  check?: (response: CompletionResponse) => Verdict<V>,
) => Promise<Answer<V>>;

export interface CallPathOptions {
  client: ProviderClient;
  /** Retries, and what provider errors and model listings are read against. */
  config: ProviderConfig;
  timeoutMs: number;
  retryBaseMs: number;
  breaker: CircuitBreaker;
  accounting: Accounting;
  recorder?: CassetteRecorder;
}

/**
 * How long to wait before retrying a failed attempt (`attempt` counts from
 * 0), or undefined to give up: the error is not retryable, the retries are
 * spent, or the server asked for a wait too long to sit through.
 */
export function retryWait(
  error: LlmError,
  attempt: number,
  maxRetries: number,
  baseMs: number,
): number | undefined {
  if (!error.retryable || attempt >= maxRetries) return undefined;
  if (error.retryAfterMs !== undefined) {
    return error.retryAfterMs > MAX_RETRY_AFTER_MS ? undefined : error.retryAfterMs;
  }
  const ceiling = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** Whether a failure says the provider is unhealthy, rather than the request or the key being wrong. */
export function isProviderFailure(error: LlmError): boolean {
  return PROVIDER_FAILURES.has(error.kind);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(finish, ms);
    function finish() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", finish);
      done();
    }
    signal?.addEventListener("abort", finish, { once: true });
  });
}

function cancelled(provider: string): LlmError {
  return new LlmError("cancelled", provider, `The ${provider} call was cancelled.`);
}

/** One attempt, bounded by the timeout; every failure comes back as an LlmError. */
async function attempt(
  client: ProviderClient,
  config: ProviderConfig,
  request: CompletionRequest,
  timeoutMs: number,
): Promise<CompletionResponse> {
  const timer = new AbortController();
  const signal = request.signal ? AbortSignal.any([request.signal, timer.signal]) : timer.signal;
  let timeoutId: ReturnType<typeof setTimeout> | undefined;
  // The race makes sure a client that ignores the signal cannot hang the call.
  const stopped = new Promise<never>((_, reject) => {
    timeoutId = setTimeout(() => timer.abort(), timeoutMs);
    signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
  });
  try {
    return await Promise.race([client.complete({ ...request, signal }), stopped]);
  } catch (error) {
    if (request.signal?.aborted) return Promise.reject(cancelled(client.provider));
    if (timer.signal.aborted) {
      return Promise.reject(
        new LlmError(
          "timeout",
          client.provider,
          `${client.provider} did not answer within ${timeoutMs / 1000} s.`,
          { hint: "Raise CLOSED_CLAW_LLM_TIMEOUT_SEC if the model is slow." },
        ),
      );
    }
    throw toLlmError(error, config);
  } finally {
    clearTimeout(timeoutId);
    stopped.catch(() => {}); // settled by the abort above or never: no unhandled rejection
  }
}

/** Adds the models the provider lists to a not_found error, so the user can pick one. */
async function withChoices(
  error: LlmError,
  client: ProviderClient,
  config: ProviderConfig,
): Promise<LlmError> {
  if (error.kind !== "not_found" || client.provider === "replay") return error;
  const probe = await probeProvider(config, { timeoutMs: 3000 });
  if (probe.status !== "ok" || probe.models.length === 0) return error;
  return new LlmError("not_found", error.provider, error.message, {
    status: error.status,
    hint: `Models available there: ${probe.models.slice(0, 20).join(", ")}.`,
    cause: error,
  });
}

export function createCallPath(options: CallPathOptions): CallPath {
  const { client, config, timeoutMs, retryBaseMs, breaker, accounting, recorder } = options;

  async function call<V = never>(
    request: CompletionRequest,
    meta: CallMeta,
    check?: (response: CompletionResponse) => Verdict<V>,
  ): Promise<Answer<V>> {
    // Before the breaker: a call the budget refuses must not take a half-open circuit's trial.
    const reservation = await accounting.reserve(meta, request);
    try {
      return await reserved(reservation.request, meta, reservation, check);
    } finally {
      reservation.release();
    }
  }

  async function reserved<V>(
    request: CompletionRequest,
    meta: CallMeta,
    reservation: Reservation,
    check?: (response: CompletionResponse) => Verdict<V>,
  ): Promise<Answer<V>> {
    for (let n = 0;; n++) {
      // Before the breaker: a cancelled call must not take a half-open circuit's one trial.
      if (request.signal?.aborted) throw accounting.failed(meta, cancelled(client.provider));
      // The breaker counts calls, not attempts: a call is admitted once and, if it fails
      // after its retries, is one failure (so one flaky call cannot open the circuit).
      if (n === 0) {
        try {
          breaker.admit();
        } catch (error) {
          throw accounting.failed(meta, error as LlmError);
        }
      }
      const started = performance.now();
      let response: CompletionResponse;
      try {
        response = await attempt(client, config, request, timeoutMs);
      } catch (thrown) {
        const error = thrown as LlmError;
        accounting.failed(meta, error, performance.now() - started);
        const wait = retryWait(error, n, config.maxRetries, retryBaseMs);
        if (wait === undefined) {
          if (isProviderFailure(error)) breaker.failure(error);
          throw await withChoices(error, client, config);
        }
        await sleep(wait, request.signal);
        continue;
      }
      breaker.success();
      const verdict = check?.(response);
      const problem = verdict && !verdict.ok ? verdict.error : null;
      // Throws, never retried, when the reply used more than it was allowed.
      const costUsd = accounting.answered(
        meta,
        response,
        performance.now() - started,
        problem,
        reservation,
      );
      recorder?.append(meta.purpose, client, request, response);
      return { response: { ...response, costUsd }, verdict };
    }
  }

  return call;
}
