/**
 * Every model-call failure is an `LlmError` with a `kind` that says what
 * happened, whether retrying can help, and a message a user can act on.
 */
import { ClosedClawError } from "../core/errors.ts";

export type LlmErrorKind =
  | "key_missing" // no key configured
  | "auth" // 401/403: the key was refused
  | "not_found" // 404: unknown model or wrong base URL
  | "bad_request" // other 4xx
  | "rate_limited" // 429
  | "server_error" // 5xx
  | "network" // connection refused, DNS, reset
  | "timeout" // no answer within the time limit
  | "malformed" // the provider's reply was not valid JSON / not the expected shape
  | "invalid_output" // the model's structured output did not validate after a repair retry
  | "circuit_open" // too many recent failures: calls are paused
  | "budget_exceeded" // the run's cost or token budget is spent (or was overrun: see BUDGET_OVERRUN)
  | "replay_mismatch" // a replayed run asked something the cassette does not hold
  | "tools_unsupported" // the model or server cannot do native tool calling (the loop falls back to JSON steps)
  | "cancelled"; // the caller aborted

/**
 * The code of a `budget_exceeded` error raised because a reply reported more
 * usage than the call was allowed (the provider ignored `max_tokens`, or the
 * run's recorded spend went past its cap). Its kind stays `budget_exceeded`,
 * so everything that stops a run on a spent budget stops on it too (the run is
 * resumable with a higher budget); its code and message say it was an overrun.
 */
export const BUDGET_OVERRUN = "llm_budget_overrun";

const RETRYABLE: ReadonlySet<LlmErrorKind> = new Set([
  "rate_limited",
  "server_error",
  "network",
  "timeout",
  "malformed",
]);

export class LlmError extends ClosedClawError {
  readonly kind: LlmErrorKind;
  readonly provider: string;
  /** HTTP status, when there was one. */
  readonly status?: number;
  /** Server-requested wait before retrying (Retry-After), in ms. */
  readonly retryAfterMs?: number;
  /** The model's raw text, for `invalid_output`. */
  readonly rawText?: string;
  /** What a reply that could not be used still cost (the provider bills it): recorded with the error. */
  readonly usage?: { inputTokens: number; outputTokens: number; cachedInputTokens?: number };
  private readonly retry?: boolean;

  constructor(
    kind: LlmErrorKind,
    provider: string,
    message: string,
    options: {
      status?: number;
      retryAfterMs?: number;
      rawText?: string;
      hint?: string;
      cause?: unknown;
      /** Overrides the code (`llm_<kind>` by default), e.g. {@link BUDGET_OVERRUN}. */
      code?: string;
      usage?: LlmError["usage"];
      /** Overrides whether the kind is retried (a reply cut at its token limit would be cut again). */
      retryable?: boolean;
    } = {},
  ) {
    super(options.code ?? `llm_${kind}`, message, { hint: options.hint, cause: options.cause });
    this.name = "LlmError";
    this.kind = kind;
    this.provider = provider;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.rawText = options.rawText;
    this.usage = options.usage;
    this.retry = options.retryable;
  }

  get retryable(): boolean {
    return this.retry ?? RETRYABLE.has(this.kind);
  }
}

/** Parses a Retry-After header (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(
  value: string | null | undefined,
  now = Date.now(),
): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The error kind for an HTTP status. */
export function kindForStatus(status: number): LlmErrorKind {
  if (status === 401 || status === 403) return "auth";
  if (status === 404) return "not_found";
  if (status === 408) return "timeout";
  if (status === 429) return "rate_limited";
  if (status >= 500) return "server_error";
  return "bad_request";
}
