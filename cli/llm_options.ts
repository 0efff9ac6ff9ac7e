/**
 * `--llm-provider` and `--llm-model`, for every command that calls a model.
 *
 * @example
 * ```ts
 * export const runCommand: Command = { ..., options: { ...LLM_OPTIONS }, run: async (ctx) => {
 *   const overrides = llmOverrides(ctx);
 * } };
 * ```
 */
import { type ProviderName, PROVIDERS } from "../core/settings.ts";
import { parseProviderName, type ProviderOverrides } from "../llm/provider_config.ts";
import { UsageError } from "../core/errors.ts";
import type { CommandContext, OptionHelp } from "./command.ts";

export const LLM_OPTIONS: Record<string, OptionHelp> = {
  "llm-provider": {
    type: "string",
    value: "name",
    description: `Model provider for this command: ${PROVIDERS.join(", ")}.`,
  },
  "llm-model": {
    type: "string",
    value: "id",
    description: "Model id for this command (default: the provider's default model).",
  },
};

/** Reads the two options; an unknown provider lists the valid ones, an alias is resolved. */
export function llmOverrides(
  ctx: Pick<CommandContext, "options">,
): ProviderOverrides & { provider?: ProviderName } {
  const provider = ctx.options["llm-provider"];
  const model = ctx.options["llm-model"];
  const overrides: ProviderOverrides & { provider?: ProviderName } = {};
  if (typeof provider === "string") overrides.provider = parseProviderName(provider);
  if (typeof model === "string") {
    if (model.trim() === "" || /\s/.test(model.trim())) {
      throw new UsageError(`--llm-model needs a model id, not "${model}".`);
    }
    overrides.model = model.trim();
  }
  return overrides;
}
