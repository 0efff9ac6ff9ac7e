/**
 * Which model, key and base URL each provider uses, resolved from settings
 * (and per-command overrides such as `--llm-provider` / `--llm-model`).
 */
import { ClosedClawError } from "../core/errors.ts";
import { type ProviderName, PROVIDERS, type Settings } from "../core/settings.ts";

export interface ProviderInfo {
  defaultModel: string;
  defaultBaseUrl: string;
  /** The variable holding this provider's key; "" when it needs none. */
  keyEnv: string;
  keyRequired: boolean;
  /** The variable holding this provider's own base URL; "" when it has none. */
  baseUrlEnv: string;
}

export const PROVIDER_INFO: Record<ProviderName, ProviderInfo> = {
  openai: {
    defaultModel: "gpt-4o-mini",
    defaultBaseUrl: "https://api.openai.com/v1",
    keyEnv: "OPENAI_API_KEY",
    keyRequired: true,
    baseUrlEnv: "OPENAI_BASE_URL",
  },
  "openai-compatible": {
    defaultModel: "gpt-4o-mini",
    defaultBaseUrl: "",
    keyEnv: "CLOSED_CLAW_LLM_API_KEY",
    keyRequired: false,
    baseUrlEnv: "CLOSED_CLAW_LLM_BASE_URL",
  },
  ollama: {
    defaultModel: "llama3.1",
    defaultBaseUrl: "http://127.0.0.1:11434/v1",
    keyEnv: "",
    keyRequired: false,
    baseUrlEnv: "CLOSED_CLAW_LLM_BASE_URL",
  },
  claude: {
    defaultModel: "claude-3-5-haiku-latest",
    defaultBaseUrl: "https://api.anthropic.com",
    keyEnv: "ANTHROPIC_API_KEY",
    keyRequired: true,
    baseUrlEnv: "ANTHROPIC_BASE_URL",
  },
  gemini: {
    defaultModel: "gemini-2.5-flash",
    defaultBaseUrl: "https://generativelanguage.googleapis.com",
    keyEnv: "GEMINI_API_KEY",
    keyRequired: true,
    baseUrlEnv: "GEMINI_BASE_URL",
  },
  replay: {
    defaultModel: "cassette",
    defaultBaseUrl: "",
    keyEnv: "",
    keyRequired: false,
    baseUrlEnv: "",
  },
};

export interface ProviderConfig {
  provider: ProviderName;
  model: string;
  apiKey: string;
  /** Where the key came from (a variable name), or "" when there is none. */
  keySource: string;
  baseUrl: string;
  timeoutMs: number;
  maxRetries: number;
}

export interface ProviderOverrides {
  provider?: string;
  model?: string;
}

/** Validates a provider name from a flag; the error lists the valid choices. */
export function parseProviderName(name: string): ProviderName {
  const lower = name.trim().toLowerCase();
  const alias: Record<string, ProviderName> = { anthropic: "claude", google: "gemini" };
  const resolved = alias[lower] ?? lower;
  if ((PROVIDERS as readonly string[]).includes(resolved)) return resolved as ProviderName;
  throw new ClosedClawError("unknown_provider", `Unknown LLM provider "${name}".`, {
    hint: `Choose one of: ${PROVIDERS.join(", ")}.`,
    exitCode: 2,
  });
}

/** The provider-specific key and base URL settings. */
function providerSettings(s: Settings, provider: ProviderName): { key: string; baseUrl: string } {
  switch (provider) {
    case "openai":
      return { key: s.openaiApiKey, baseUrl: s.openaiBaseUrl };
    case "claude":
      return { key: s.anthropicApiKey, baseUrl: s.anthropicBaseUrl };
    case "gemini":
      return { key: s.geminiApiKey, baseUrl: s.geminiBaseUrl };
    default:
      return { key: "", baseUrl: "" };
  }
}

/**
 * Resolves the provider, model, key and base URL to use. The generic
 * CLOSED_CLAW_LLM_API_KEY wins over the provider's own key (one variable sets
 * the key for any provider), and CLOSED_CLAW_LLM_BASE_URL over the provider's
 * base URL.
 */
export function resolveProviderConfig(
  settings: Settings,
  overrides: ProviderOverrides = {},
): ProviderConfig {
  const provider = overrides.provider
    ? parseProviderName(overrides.provider)
    : settings.llmProvider;
  const info = PROVIDER_INFO[provider];
  const own = providerSettings(settings, provider);
  const generic = settings.llmApiKey;
  const apiKey = generic || own.key;
  const keySource = generic ? "CLOSED_CLAW_LLM_API_KEY" : own.key ? info.keyEnv : "";
  // The model setting belongs to the configured provider; a --llm-provider
  // switch without --llm-model uses the new provider's default.
  const modelSetting = provider === settings.llmProvider ? settings.llmModel : "";
  return {
    provider,
    model: overrides.model || modelSetting || info.defaultModel,
    apiKey,
    keySource,
    baseUrl: (settings.llmBaseUrl || own.baseUrl || info.defaultBaseUrl).replace(/\/+$/, ""),
    timeoutMs: settings.llmTimeoutSec * 1000,
    maxRetries: settings.llmMaxRetries,
  };
}

/**
 * Why `config`'s base URL cannot be used (missing for openai-compatible, or
 * not an http(s) URL), or null when it is fine. Checked before any call, so a
 * typo is one clear line instead of network errors that are retried and open
 * the circuit breaker.
 */
export function baseUrlProblem(config: ProviderConfig): ClosedClawError | null {
  if (config.provider === "replay") return null;
  if (!config.baseUrl) {
    return PROVIDER_INFO[config.provider].defaultBaseUrl ? null : new ClosedClawError(
      "llm_base_url_missing",
      `The ${config.provider} provider needs a base URL.`,
      {
        hint: "Set CLOSED_CLAW_LLM_BASE_URL (e.g. http://127.0.0.1:8000/v1), or run " +
          "`closed-claw setup`.",
      },
    );
  }
  let protocol = "";
  try {
    protocol = new URL(config.baseUrl).protocol;
  } catch { /* not a URL: reported below */ }
  if (protocol === "http:" || protocol === "https:") return null;
  // The generic variable wins over the provider's own, so either may hold the typo.
  const variables = [
    ...new Set(["CLOSED_CLAW_LLM_BASE_URL", PROVIDER_INFO[config.provider].baseUrlEnv]),
  ];
  return new ClosedClawError(
    "llm_base_url_invalid",
    `The ${config.provider} base URL "${config.baseUrl}" is not an http:// or https:// URL.`,
    { hint: `Fix ${variables.join(" or ")}, or run \`closed-claw setup\`.` },
  );
}

/** The one-line explanation of a missing key, naming what to set. */
export function missingKeyError(config: ProviderConfig): ClosedClawError {
  const info = PROVIDER_INFO[config.provider];
  return new ClosedClawError(
    "llm_key_missing",
    `No API key for ${config.provider}: set ${info.keyEnv} (or CLOSED_CLAW_LLM_API_KEY).`,
    {
      hint:
        "Run `closed-claw setup`, use a local Ollama (CLOSED_CLAW_LLM_PROVIDER=ollama), or try `deno task demo`.",
    },
  );
}
