/**
 * Checks a provider configuration without spending tokens: lists the models
 * at the configured base URL with the configured key (setup's verification
 * and doctor's key probe). A successful probe can clear the circuit breakers
 * of the endpoints it reached.
 */
import { endpointPrefix } from "./breaker.ts";
import { baseUrlProblem, PROVIDER_INFO, type ProviderConfig } from "./provider_config.ts";

export type ProbeStatus = "ok" | "refused" | "unreachable" | "error";

export interface ProbeResult {
  status: ProbeStatus;
  /** The URL that was asked. */
  url: string;
  /** Model ids the provider lists (empty unless `ok`). */
  models: string[];
  /** One line saying what happened. */
  detail: string;
  /** What to do about it (absent when `ok`). */
  fix?: string;
  /** Open circuit breakers this probe closed (only with `breakers`, only when `ok`). */
  breakersCleared?: number;
}

/** Where breakers are cleared (BreakersRepo's `clear`). */
export interface BreakerClearer {
  clear(keys: string[], prefixes: string[]): number;
}

interface ProbeRequest {
  url: string;
  headers: Record<string, string>;
  ids: (body: unknown) => string[];
}

function idsOf(list: unknown, field: string, strip = ""): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((m) => String((m as Record<string, unknown>)?.[field] ?? ""))
    .filter((id) => id !== "")
    .map((id) => (strip && id.startsWith(strip) ? id.slice(strip.length) : id));
}

function probeRequest(config: ProviderConfig): ProbeRequest | null {
  const base = config.baseUrl || PROVIDER_INFO[config.provider].defaultBaseUrl;
  switch (config.provider) {
    case "openai":
    case "openai-compatible":
    case "ollama":
      return {
        url: `${base}/models`,
        headers: config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : {},
        ids: (b) => idsOf((b as { data?: unknown })?.data, "id"),
      };
    case "claude":
      return {
        url: `${base}/v1/models`,
        headers: { "x-api-key": config.apiKey, "anthropic-version": "2023-06-01" },
        ids: (b) => idsOf((b as { data?: unknown })?.data, "id"),
      };
    case "gemini":
      return {
        url: `${base}/v1beta/models`,
        headers: { "x-goog-api-key": config.apiKey },
        ids: (b) => idsOf((b as { models?: unknown })?.models, "name", "models/"),
      };
    case "replay":
      return null;
  }
}

/**
 * Lists the provider's models with the configured key and base URL.
 *
 * @example
 * ```ts
 * const probe = await probeProvider(resolveProviderConfig(settings));
 * console.log(probe.status, probe.detail);
 * ```
 */
export async function probeProvider(
  config: ProviderConfig,
  options: {
    timeoutMs?: number;
    /**
     * When given, an `ok` probe closes the breakers of every model at the
     * probed base URL (and an older provider-wide breaker): the endpoint
     * answered with the key, so calls may go to it again.
     */
    breakers?: BreakerClearer;
  } = {},
): Promise<ProbeResult> {
  const request = probeRequest(config);
  if (!request) {
    return { status: "ok", url: "", models: [], detail: "answers from a cassette: no key needed" };
  }
  const badBaseUrl = baseUrlProblem(config);
  if (badBaseUrl) {
    return {
      status: "error",
      url: "",
      models: [],
      detail: badBaseUrl.message,
      fix: badBaseUrl.hint,
    };
  }
  const keyName = config.keySource || PROVIDER_INFO[config.provider].keyEnv || "the API key";
  let response: Response;
  try {
    response = await fetch(request.url, {
      headers: request.headers,
      signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
    });
  } catch (error) {
    const why = error instanceof DOMException && error.name === "TimeoutError"
      ? "no answer in time"
      : error instanceof Error
      ? error.message.split("\n")[0]
      : String(error);
    return {
      status: "unreachable",
      url: request.url,
      models: [],
      detail: `cannot reach ${request.url} (${why})`,
      fix: "Check the base URL and your network, and that the server is running.",
    };
  }
  const body = await response.json().catch(() => null);
  if (response.ok) {
    const models = request.ids(body);
    const breakersCleared = options.breakers?.clear(
      [config.provider],
      [endpointPrefix(config.provider, config.baseUrl)],
    );
    return {
      status: "ok",
      url: request.url,
      models,
      detail: `the key works (${models.length} models listed at ${request.url})` +
        (breakersCleared ? `; ${breakersCleared} open circuit breaker(s) cleared` : ""),
      ...(breakersCleared !== undefined ? { breakersCleared } : {}),
    };
  }
  if (response.status === 401 || response.status === 403) {
    return {
      status: "refused",
      url: request.url,
      models: [],
      detail: `the key was refused (HTTP ${response.status}) at ${request.url}`,
      fix:
        `Check ${keyName} (a typo, a revoked key, or a key for another provider), or run \`closed-claw setup\`.`,
    };
  }
  return {
    status: "error",
    url: request.url,
    models: [],
    detail: `${request.url} answered HTTP ${response.status}`,
    fix: response.status === 404
      ? "Check the base URL: it should be the API root (e.g. ending in /v1 for OpenAI-compatible servers)."
      : "Try again later, or check the provider's status page.",
  };
}
