/**
 * Maps whatever an SDK throws (HTTP errors with a status, connection
 * failures, timeouts, unparsable replies) onto an `LlmError` whose message
 * says what happened and names the model or URL involved.
 */
import { PROVIDER_INFO, type ProviderConfig } from "../provider_config.ts";
import { kindForStatus, LlmError, parseRetryAfter } from "../errors.ts";

type ErrorLike = Error & {
  status?: unknown;
  headers?: unknown;
  retryAfterMs?: unknown;
  cause?: unknown;
};

function header(headers: unknown, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  if (headers && typeof headers === "object") {
    const value = (headers as Record<string, unknown>)[name];
    return typeof value === "string" ? value : undefined;
  }
  return undefined;
}

/** Gemini puts the wait in the error body (RetryInfo `retryDelay: "7s"`), not in a header. */
function bodyRetryDelayMs(message: string): number | undefined {
  const match = /"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"/.exec(message);
  return match ? Number(match[1]) * 1000 : undefined;
}

/** The provider's own error text, shortened to one line. */
function serverMessage(message: string): string {
  let text = message;
  const json = message.indexOf("{");
  if (json >= 0) {
    try {
      const body = JSON.parse(message.slice(json));
      text = body?.error?.message ?? text;
    } catch { /* not JSON: keep the text */ }
  }
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

function causeText(error: ErrorLike): string {
  const cause = error.cause instanceof Error ? error.cause.message : "";
  return serverMessage(cause || error.message);
}

/** What runtimes and SDKs say when a reply's body stops short (Deno's fetch, undici, Node). */
const TRUNCATED =
  /error reading a body from connection|unexpected end of (file|data|stream)|premature close|connection closed before message completed|incomplete (body|response|chunked)|body.*(terminated|closed)/i;

/** True when `error`, or an error it wraps, says the reply's body was cut off. */
function truncatedBody(error: ErrorLike): boolean {
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (TRUNCATED.test(current.message) || code === "ERR_STREAM_PREMATURE_CLOSE") return true;
    current = (current as ErrorLike).cause;
  }
  return false;
}

/**
 * What servers say when the model (or the server) cannot call tools natively:
 * Ollama `registry.ollama.ai/library/x does not support tools`, others "tools
 * is not supported", "tool use is not supported", "does not support function
 * calling", vLLM's "auto" tool choice needing `--enable-auto-tool-choice`,
 * OpenRouter's "No endpoints found that support tool use", Gemini's
 * "Function calling is not enabled".
 */
const TOOLS_UNSUPPORTED =
  /does not support (native )?(tools|tool use|tool calling|function calling|functions)|(tools?|tool use|tool calling|function calling|functions) (is |are )?not (supported|enabled)|enable-auto-tool-choice|support tool use/i;

/** Whether an HTTP error's text says native tool calling is not available. */
export function saysToolsUnsupported(status: number, message: string): boolean {
  return status >= 400 && status < 500 && ![401, 403, 429].includes(status) &&
    TOOLS_UNSUPPORTED.test(message);
}

/** Turns an SDK error into an `LlmError` for `config`'s provider. */
export function toLlmError(error: unknown, config: ProviderConfig): LlmError {
  if (error instanceof LlmError) return error;
  const e = (error instanceof Error ? error : new Error(String(error))) as ErrorLike;
  const provider = config.provider;
  const where = config.baseUrl || PROVIDER_INFO[provider].defaultBaseUrl;
  const status = typeof e.status === "number" ? e.status : undefined;

  if (status !== undefined) {
    const kind = kindForStatus(status);
    const retryAfterMs = parseRetryAfter(header(e.headers, "retry-after")) ??
      (typeof e.retryAfterMs === "number" ? e.retryAfterMs : undefined) ??
      bodyRetryDelayMs(e.message);
    const options = { status, retryAfterMs, cause: error };
    const detail = serverMessage(e.message);
    if (saysToolsUnsupported(status, e.message)) {
      return new LlmError(
        "tools_unsupported",
        provider,
        `${provider} model "${config.model}" at ${where} cannot call tools natively ` +
          `(HTTP ${status}): ${detail}`,
        {
          ...options,
          hint: "The agent loop falls back to JSON steps; or pick a model that supports tools.",
        },
      );
    }
    switch (kind) {
      case "auth": {
        const keyName = config.keySource || PROVIDER_INFO[provider].keyEnv || "the API key";
        return new LlmError(
          "auth",
          provider,
          `${provider} refused the key (HTTP ${status}) at ${where}.`,
          { ...options, hint: `Check ${keyName}, or run \`closed-claw setup\`.` },
        );
      }
      case "not_found":
        return new LlmError(
          "not_found",
          provider,
          `${provider} at ${where} has no model "${config.model}" (HTTP 404).`,
          {
            ...options,
            hint: "Check the model (CLOSED_CLAW_LLM_MODEL or --llm-model) and the base URL.",
          },
        );
      case "rate_limited": {
        const wait = retryAfterMs !== undefined
          ? `; it asks to wait ${Math.ceil(retryAfterMs / 1000)} s`
          : "";
        return new LlmError(
          "rate_limited",
          provider,
          `${provider} rate limit reached (HTTP 429)${wait}.`,
          options,
        );
      }
      case "server_error":
        return new LlmError(
          "server_error",
          provider,
          `${provider} server error (HTTP ${status}) at ${where}: ${detail}`,
          options,
        );
      case "timeout":
        return new LlmError(
          "timeout",
          provider,
          `${provider} timed out (HTTP ${status}).`,
          options,
        );
      default:
        return new LlmError(
          "bad_request",
          provider,
          `${provider} rejected the request (HTTP ${status}): ${detail}`,
          options,
        );
    }
  }

  const name = `${e.name} ${e.constructor?.name ?? ""}`;
  if (/timeout/i.test(name)) {
    return new LlmError("timeout", provider, `${provider} did not answer in time (${where}).`, {
      cause: error,
    });
  }
  if (/abort/i.test(name)) {
    return new LlmError("cancelled", provider, `The ${provider} call was cancelled.`, {
      cause: error,
    });
  }
  if (truncatedBody(e)) {
    return new LlmError(
      "network",
      provider,
      `${provider} at ${where}: the connection closed before the reply was complete (${
        causeText(e)
      }).`,
      { cause: error, hint: "Usually a dropped connection or a proxy cutting it; retry the run." },
    );
  }
  if (e instanceof SyntaxError || /JSON|Unexpected token|parse/i.test(e.message)) {
    return new LlmError(
      "malformed",
      provider,
      `${provider} sent a reply that could not be read: ${serverMessage(e.message)}`,
      { cause: error },
    );
  }
  return new LlmError(
    "network",
    provider,
    `Cannot reach ${provider} at ${where}: ${causeText(e)}`,
    {
      cause: error,
      hint: "Check the base URL and your network, and that the server is running.",
    },
  );
}
