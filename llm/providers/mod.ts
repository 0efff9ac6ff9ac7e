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
import type { ProviderClient } from "../types.ts";
import { createReplayClient } from "../cassette.ts";
import { createAnthropicClient } from "./anthropic.ts";
import { createGeminiClient } from "./gemini.ts";
import { createOpenAiClient } from "./openai.ts";

/** The client for `config`; `replayCassette` is the cassette the `replay` provider reads. */
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
      return createOpenAiClient(config);
    case "claude":
      return createAnthropicClient(config);
    case "gemini":
      return createGeminiClient(config);
    case "replay":
      if (!options.replayCassette) {
        throw new ClosedClawError("cassette_missing", "The replay provider needs a cassette.", {
          hint: "Set CLOSED_CLAW_REPLAY_CASSETTE to a cassette recorded by an earlier run.",
        });
      }
      return createReplayClient(options.replayCassette);
  }
}
