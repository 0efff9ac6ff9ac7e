/**
 * Picks the provider configuration a command uses. When the chosen provider
 * needs a key that is not configured, a local Ollama server (if one answers)
 * is used instead and the user is told; otherwise the one-line missing-key
 * error names the variable to set, `closed-claw setup` and `deno task demo`.
 */
import type { Settings } from "../core/settings.ts";
import {
  missingKeyError,
  PROVIDER_INFO,
  type ProviderConfig,
  type ProviderOverrides,
  resolveProviderConfig,
} from "./provider_config.ts";

export const OLLAMA_URL = "http://127.0.0.1:11434";

export interface ResolvedLlm {
  config: ProviderConfig;
  /** A line to show the user when the configuration was chosen for them. */
  notice?: string;
}

/** The model names a running Ollama server has, or null when none answers. */
export async function ollamaModels(url = OLLAMA_URL, timeoutMs = 800): Promise<string[] | null> {
  try {
    const response = await fetch(`${url}/api/tags`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) {
      await response.body?.cancel();
      return null;
    }
    const body = await response.json() as { models?: { name?: unknown }[] };
    return (body.models ?? []).map((m) => String(m.name ?? "")).filter((n) => n !== "");
  } catch {
    return null;
  }
}

/**
 * Resolves the provider, model, key and base URL for a command, falling back
 * to a local Ollama server when no key is configured.
 *
 * @example
 * ```ts
 * const { config, notice } = await resolveLlm(settings, { provider: "claude" });
 * if (notice) console.error(notice);
 * const llm = createLlmService({ settings, store, config });
 * ```
 */
export async function resolveLlm(
  settings: Settings,
  overrides: ProviderOverrides = {},
  options: { ollamaUrl?: string; timeoutMs?: number } = {},
): Promise<ResolvedLlm> {
  const config = resolveProviderConfig(settings, overrides);
  const info = PROVIDER_INFO[config.provider];
  if (!info.keyRequired || config.apiKey) return { config };
  const url = options.ollamaUrl ?? OLLAMA_URL;
  const models = await ollamaModels(url, options.timeoutMs);
  if (models === null) throw missingKeyError(config);
  const wanted = overrides.model || PROVIDER_INFO.ollama.defaultModel;
  const has = (name: string) => models.includes(name) || models.includes(`${name}:latest`);
  const model = has(wanted) || overrides.model ? wanted : models[0] ?? wanted;
  const ollama: ProviderConfig = {
    ...resolveProviderConfig(settings, { provider: "ollama", model }),
    baseUrl: `${url}/v1`,
  };
  const pull = has(model) ? "" : ` (it lists no such model: run \`ollama pull ${model}\`)`;
  return {
    config: ollama,
    notice: `No key for ${config.provider} (${info.keyEnv} is not set): using the local Ollama ` +
      `server at ${url} with model ${model}${pull}.`,
  };
}
