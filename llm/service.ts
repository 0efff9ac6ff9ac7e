/**
 * `createLlmService`: one configured provider wrapped with a per-call
 * timeout, retries (jittered exponential backoff, honouring Retry-After), a
 * persisted circuit breaker per endpoint (provider, base URL and model), hard
 * run budgets (each call reserves its worst case and is bounded by
 * `max_tokens`), accounting of every attempt in llm_calls, structured output with one repair retry, and
 * record/replay.
 *
 * @example
 * ```ts
 * const llm = createLlmService({ settings, store });
 * const reply = await llm.complete(
 *   { messages: [{ role: "user", content: "Say hi" }] },
 *   { runId, purpose: "synthesize" },
 * );
 * ```
 * @module
 */
import { resolve } from "node:path";
import type { Settings } from "../core/settings.ts";
import type { Store } from "../store/mod.ts";
import { createAccounting } from "./_accounting.ts";
import { createCallPath } from "./_call_path.ts";
import { callStructured } from "./_structured.ts";
import { CircuitBreaker, endpointKey, MemoryBreakers } from "./breaker.ts";
import { CassetteRecorder } from "./cassette.ts";
import {
  missingKeyError,
  PROVIDER_INFO,
  type ProviderConfig,
  type ProviderOverrides,
  resolveProviderConfig,
} from "./provider_config.ts";
import { createProviderClient } from "./providers/mod.ts";
import type { LlmService, ProviderClient } from "./types.ts";

export interface LlmServiceOptions {
  settings: Settings;
  /** Where llm_calls and the circuit breaker live; without it both are kept in memory. */
  store?: Store;
  /** `--llm-provider` / `--llm-model`. */
  overrides?: ProviderOverrides;
  /** An already resolved configuration (e.g. from `resolveLlm`); wins over `overrides`. */
  config?: ProviderConfig;
  /** Cassette path to record every answered call to. */
  record?: string;
  /** Cassette path to answer from (the `replay` provider). */
  replay?: string;
  /** Per-run limits; each field wins over its setting. 0 means no limit. */
  budget?: { maxCostUsd?: number; maxTokens?: number };
  /** A provider client to use instead of building one (tests). */
  client?: ProviderClient;
  /** Timing knobs (tests use small values). */
  timing?: { timeoutMs?: number; retryBaseMs?: number; breakerResetSec?: number };
  /** Told once per model that has no price (its calls count as $0). */
  onWarning?: (line: string) => void;
  /**
   * The one run this service serves, when it serves one (the coordinator
   * makes a service per run): its spend is read from the store once, then kept.
   */
  run?: string;
}

/** The provider client the options ask for: the given one, the replay cassette, or the configured provider. */
function clientFor(options: LlmServiceOptions, config: ProviderConfig): ProviderClient {
  const { settings } = options;
  const replayPath = options.replay ??
    (settings.replayCassette ? resolve(settings.cwd, settings.replayCassette) : undefined);
  const replaying = options.replay !== undefined || config.provider === "replay";
  if (
    !options.client && !replaying && PROVIDER_INFO[config.provider].keyRequired && !config.apiKey
  ) {
    throw missingKeyError(config);
  }
  return options.client ??
    createProviderClient(replaying ? { ...config, provider: "replay" } : config, {
      replayCassette: replayPath,
    });
}

/** Creates the service every model call of the product goes through. */
export function createLlmService(options: LlmServiceOptions): LlmService {
  const { settings, store } = options;
  const config = options.config ?? resolveProviderConfig(settings, options.overrides);
  const client = clientFor(options, config);
  const accounting = createAccounting({
    store,
    provider: client.provider,
    model: client.model,
    maxCostUsd: options.budget?.maxCostUsd ?? settings.maxCostUsdPerRun,
    maxTokens: options.budget?.maxTokens ?? settings.maxTokensPerRun,
    onWarning: options.onWarning,
    run: options.run,
  });
  const call = createCallPath({
    client,
    config,
    timeoutMs: options.timing?.timeoutMs ?? config.timeoutMs,
    retryBaseMs: options.timing?.retryBaseMs ?? 500,
    breaker: new CircuitBreaker(
      store?.breakers ?? new MemoryBreakers(),
      endpointKey(client.provider, config.baseUrl, client.model),
      settings.circuitBreakerFailures,
      options.timing?.breakerResetSec ?? settings.circuitBreakerResetSec,
    ),
    accounting,
    recorder: options.record ? new CassetteRecorder(options.record) : undefined,
  });
  return {
    provider: client.provider,
    model: client.model,
    complete: async (request, meta) => (await call(request, meta)).response,
    structured: (schema, request, meta) =>
      callStructured(call, client.provider, schema, request, meta),
    runUsage: accounting.runUsage,
  };
}
