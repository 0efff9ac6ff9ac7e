/**
 * Builds the ProviderClient for a resolved provider configuration.
 *
 * @example
 * ```ts
 * import { createProviderClient } from "./mod.ts";
 * import { resolveProviderConfig } from "../mod.ts";
 * import { loadSettings } from "../../core/mod.ts";
 *
 * const client = createProviderClient(resolveProviderConfig(loadSettings()));
 * const reply = await client.complete({ messages: [{ role: "user", content: "hi" }] });
 * console.log(reply.text);
 * ```
 * @module
 */
import { ClosedClawError } from "../../core/errors.ts";
import { baseUrlProblem, type ProviderConfig } from "../provider_config.ts";
import type { CompletionRequest, CompletionResponse, ProviderClient } from "../types.ts";
import { createReplayClient } from "../cassette.ts";

/**
 * A client whose SDK is imported on its first call, so a process loads only
 * the SDK of the provider it uses, and none until it calls a model.
 */
function lazyClient(
  config: ProviderConfig,
  load: () => Promise<ProviderClient>,
): ProviderClient {
  let client: Promise<ProviderClient> | undefined;
  return {
    provider: config.provider,
    model: config.model,
    async complete(request: CompletionRequest): Promise<CompletionResponse> {
      client ??= load().catch((error) => {
        client = undefined; // a failed import is tried again on the next call
        throw error;
      });
      return await (await client).complete(request);
    },
  };
}

/**
 * The client for `config`; `replayCassette` is the cassette the `replay`
 * provider reads. Its provider's SDK is imported on its first call.
 */
export function createProviderClient(
  config: ProviderConfig,
  options: { replayCassette?: string } = {},
): ProviderClient {
  const badBaseUrl = baseUrlProblem(config);
  if (badBaseUrl) throw badBaseUrl;
  switch (config.provider) {
    case "openai":
    case "openai-compatible":
    case "ollama":
      return lazyClient(
        config,
        async () => (await import("./openai.ts")).createOpenAiClient(config),
      );
    case "claude":
      return lazyClient(
        config,
        async () => (await import("./anthropic.ts")).createAnthropicClient(config),
      );
    case "gemini":
      return lazyClient(
        config,
        async () => (await import("./gemini.ts")).createGeminiClient(config),
      );
    case "replay":
      if (!options.replayCassette) {
        throw new ClosedClawError("cassette_missing", "The replay provider needs a cassette.", {
          hint: "Set CLOSED_CLAW_REPLAY_CASSETTE to a cassette recorded by an earlier run.",
        });
      }
      return createReplayClient(options.replayCassette);
  }
}
