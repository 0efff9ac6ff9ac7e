/**
 * `setup`: a wizard that asks for the provider, base URL and key, verifies
 * them live by listing the provider's models at that base URL (no tokens
 * spent), retries only the step that failed, offers the listed models, and
 * saves the answers to the user's `config.env` (every folder reads it) only
 * after success or an explicit "save anyway". Reads answers line by line, so
 * it works from a terminal and from a pipe; end of input cancels with one
 * line and saves nothing.
 */
import { join } from "node:path";
import {
  assertEnvAccepted,
  parseDotenv,
  readDotenv,
  saveAcceptedDotenv,
  saveUserConfig,
} from "../core/dotenv.ts";
import { readTrustedFile } from "../core/trust.ts";
import { type ProviderName, PROVIDERS, type Settings } from "../core/settings.ts";
import { ClosedClawError, errorMessage } from "../core/errors.ts";
import { parseProviderName, PROVIDER_INFO, type ProviderConfig } from "../llm/provider_config.ts";
import { probeProvider, type ProbeResult } from "../llm/probe.ts";
import { hereCommand } from "./invocation.ts";
import type { Command } from "./command.ts";
import { ask, askSecret } from "./prompt.ts";
import { bold, dim, green, printLine, red, yellow } from "./output.ts";

const CHOICES: ProviderName[] = PROVIDERS.filter((p) => p !== "replay");

const DESCRIPTIONS: Record<string, string> = {
  openai: "OpenAI (needs OPENAI_API_KEY)",
  "openai-compatible": "any OpenAI-compatible server: vLLM, LM Studio, OpenRouter (base URL)",
  ollama: "a local Ollama server (no key)",
  claude: "Anthropic Claude (needs ANTHROPIC_API_KEY)",
  gemini: "Google Gemini (needs GEMINI_API_KEY)",
};

const OWN_BASE_URL: Partial<Record<ProviderName, (s: Settings) => string>> = {
  openai: (s) => s.openaiBaseUrl,
  claude: (s) => s.anthropicBaseUrl,
  gemini: (s) => s.geminiBaseUrl,
};

const OWN_KEY: Partial<Record<ProviderName, (s: Settings) => string>> = {
  openai: (s) => s.openaiApiKey,
  claude: (s) => s.anthropicApiKey,
  gemini: (s) => s.geminiApiKey,
  "openai-compatible": (s) => s.llmApiKey,
};

/** End of input: the wizard stops and saves nothing. */
class Cancelled extends ClosedClawError {
  constructor() {
    super("setup_cancelled", "Setup cancelled: no more input, nothing was saved.");
  }
}

async function answer(question: string, read = ask): Promise<string> {
  const line = await read(question);
  if (line === null) throw new Cancelled();
  return line;
}

async function askProvider(current: ProviderName): Promise<ProviderName> {
  printLine("Providers:");
  CHOICES.forEach((p, i) => printLine(`  ${i + 1}. ${p.padEnd(18)} ${dim(DESCRIPTIONS[p])}`));
  const fallback = CHOICES.includes(current) ? current : "openai";
  while (true) {
    const reply = await answer(`Provider [1-${CHOICES.length}, Enter for ${fallback}]: `);
    if (reply === "") return fallback;
    const picked = /^\d+$/.test(reply) ? CHOICES[Number(reply) - 1] : undefined;
    if (picked) return picked;
    try {
      const name = parseProviderName(reply);
      if (name !== "replay") return name;
      printLine(red("replay answers from a recorded cassette: set CLOSED_CLAW_REPLAY_CASSETTE."));
    } catch {
      printLine(
        red(
          `"${reply}" is not a choice: type 1-${CHOICES.length} or one of ${CHOICES.join(", ")}.`,
        ),
      );
    }
  }
}

async function askBaseUrl(provider: ProviderName, current: string): Promise<string> {
  while (true) {
    const hint = current ? `Enter for ${current}` : "e.g. http://127.0.0.1:8000/v1";
    const reply = (await answer(`Base URL [${hint}]: `)) || current;
    if (reply === "" && provider === "openai-compatible") {
      printLine(red("An OpenAI-compatible server needs its base URL."));
      continue;
    }
    if (/^https?:\/\/[^\s]+$/.test(reply)) return reply.replace(/\/+$/, "");
    printLine(red(`"${reply}" is not a URL: it must start with http:// or https://.`));
  }
}

async function askKey(provider: ProviderName, existing: string): Promise<string> {
  const info = PROVIDER_INFO[provider];
  const keep = existing
    ? ", Enter keeps the current key"
    : info.keyRequired
    ? ""
    : ", Enter for none";
  while (true) {
    const reply = await answer(`API key (${info.keyEnv}${keep}): `, askSecret);
    if (reply !== "") return reply;
    if (existing || !info.keyRequired) return existing;
    printLine(red(`${provider} needs a key; get one from the provider's console.`));
  }
}

/** What to do after a failed check: retry the failing step, save anyway, or stop. */
async function afterFailure(step: "key" | "base URL"): Promise<"retry" | "save" | "stop"> {
  while (true) {
    const reply = (await answer(
      `Type the ${step} again? (Enter or yes; "save" saves anyway; "no" stops): `,
    )).toLowerCase();
    if (reply === "" || reply === "yes" || reply === "y") return "retry";
    if (reply === "save") return "save";
    if (reply === "no" || reply === "n") return "stop";
    printLine(red(`"${reply}" is not an answer: press Enter, or type save or no.`));
  }
}

/** Whether `model` is one of the listed ids (Ollama lists `name:latest`). */
function isListed(models: readonly string[], model: string): boolean {
  return models.some((m) => m === model || m === `${model}:latest`);
}

/** Offers the models the provider just listed (pick by number or name); any name when none were listed. */
async function askModel(models: readonly string[], current: string): Promise<string> {
  const shown = models.slice(0, 30);
  if (shown.length === 0) return (await answer(`Model [Enter for ${current}]: `)) || current;
  printLine("Models listed there:");
  shown.forEach((m, i) => printLine(`  ${String(i + 1).padStart(2)}. ${m}`));
  if (models.length > shown.length) {
    printLine(dim(`  (${models.length - shown.length} more: type a name)`));
  }
  const fallback = isListed(models, current) ? current : shown[0];
  while (true) {
    const reply = await answer(`Model [1-${shown.length} or a name, Enter for ${fallback}]: `);
    if (reply === "") return fallback;
    if (/^\d+$/.test(reply)) {
      const picked = shown[Number(reply) - 1];
      if (picked) return picked;
      printLine(red(`"${reply}" is not a choice: type 1-${shown.length} or a model name.`));
      continue;
    }
    if (isListed(models, reply)) return reply;
    printLine(yellow(`Model "${reply}" is not among the models listed there.`));
    if ((await answer(`Use "${reply}" anyway? (yes/no): `)).toLowerCase() === "yes") return reply;
  }
}

/** The check's own advice, without the "run setup" that probe messages add for other commands. */
function fixInSetup(probe: ProbeResult, keyName: string): string {
  if (probe.status === "refused") {
    return `Check ${keyName}: a typo, a revoked key, or a key for another provider.`;
  }
  return (probe.fix ?? "").replace(/,? or run `[^`]*setup`/, "");
}

/** The `.env` changes for the chosen configuration, clearing generic overrides it would lose to. */
function envChanges(
  file: Record<string, string>,
  config: ProviderConfig,
  saveKey: boolean,
): Record<string, string> {
  const provider = config.provider;
  const info = PROVIDER_INFO[provider];
  const changes: Record<string, string> = {
    CLOSED_CLAW_LLM_PROVIDER: provider,
    CLOSED_CLAW_LLM_MODEL: config.model,
  };
  if (saveKey && info.keyEnv) changes[info.keyEnv] = config.apiKey;
  const baseEnv = info.baseUrlEnv;
  if (baseEnv === "CLOSED_CLAW_LLM_BASE_URL") changes[baseEnv] = config.baseUrl;
  else if (config.baseUrl !== info.defaultBaseUrl) changes[baseEnv] = config.baseUrl;
  else if (file[baseEnv]) changes[baseEnv] = "";
  // The generic key and base URL win over a provider's own: clear stale ones.
  if (baseEnv !== "CLOSED_CLAW_LLM_BASE_URL" && file.CLOSED_CLAW_LLM_BASE_URL) {
    changes.CLOSED_CLAW_LLM_BASE_URL = "";
  }
  if (provider !== "openai-compatible" && file.CLOSED_CLAW_LLM_API_KEY) {
    changes.CLOSED_CLAW_LLM_API_KEY = "";
  }
  return changes;
}

/** A variable of the process environment, or undefined (also without --allow-env). */
function envValue(name: string): string | undefined {
  try {
    return name ? Deno.env.get(name) : undefined;
  } catch {
    return undefined;
  }
}

/** Warnings for saved values that a layer above the user config sets differently here. */
function overriddenBy(settings: Settings, changes: Record<string, string>): string[] {
  const lines: string[] = [];
  const project = settings.envFile
    ? readTrustedFile(settings.envFile, { configDir: settings.configDir })
    : { state: "missing" as const };
  const fromProject = project.state === "trusted" ? parseDotenv(project.text) : {};
  for (const [name, value] of Object.entries(changes)) {
    const env = envValue(name);
    if (env !== undefined && env !== value) {
      lines.push(`Note: ${name} is set in the environment, which wins over what was saved.`);
    } else if (name in fromProject && fromProject[name] !== value && settings.envFile !== "") {
      lines.push(`Note: ${settings.envFile} sets ${name}, which wins over what was saved here.`);
    }
  }
  return lines;
}

export const setupCommand: Command = {
  name: "setup",
  summary:
    "Choose the model provider, base URL, key and model; verify them live and save them to your user config.",
  details: [
    "Answers are read line by line, so the wizard also works with piped input, e.g.",
    "  printf 'claude\\n\\nsk-ant-...\\n\\n' | closed-claw setup",
    "Asks in this order: provider, base URL, key; then lists the provider's models to pick from.",
    "A refused key asks the key again, an unreachable server the base URL; nothing else.",
    "Saved to config.env in your config folder ($XDG_CONFIG_HOME/closed-claw, mode 0600), read",
    "by every later command in any folder; a data folder's or project's .env and the",
    "environment win over it (docs/configuration.md).",
    "Nothing is saved unless the live check (listing the provider's models, no tokens spent)",
    'succeeds or you answer "save" after a failed check.',
  ].join("\n"),
  async run(ctx) {
    const settings = ctx.settings();
    // The user's config folder follows the user to every folder; without one, ./.env.
    const target = settings.userConfigFile || settings.envFile || join(settings.cwd, ".env");
    const inConfigDir = target === settings.userConfigFile;
    // Checked before any question, so no answer is wasted on a file we would refuse.
    if (!inConfigDir) assertEnvAccepted(target, settings.configDir);
    printLine(bold("Closed Claw setup"));
    try {
      const provider = await askProvider(settings.llmProvider);
      const info = PROVIDER_INFO[provider];
      const currentModel = provider === settings.llmProvider && settings.llmModel
        ? settings.llmModel
        : info.defaultModel;
      const currentBase = info.baseUrlEnv === "CLOSED_CLAW_LLM_BASE_URL"
        ? settings.llmBaseUrl || info.defaultBaseUrl
        : OWN_BASE_URL[provider]?.(settings) || info.defaultBaseUrl;
      let baseUrl = await askBaseUrl(provider, currentBase);
      const existingKey = OWN_KEY[provider]?.(settings) ?? "";
      let apiKey = info.keyEnv ? await askKey(provider, existingKey) : "";
      const configFor = (model: string): ProviderConfig => ({
        provider,
        model,
        apiKey,
        keySource: info.keyEnv,
        baseUrl,
        timeoutMs: settings.llmTimeoutSec * 1000,
        maxRetries: settings.llmMaxRetries,
      });

      // Check, and on failure ask again only the step that failed.
      let probe: ProbeResult;
      while (true) {
        printLine(`Checking ${provider} at ${baseUrl} (listing models; no tokens are spent)...`);
        probe = await probeProvider(configFor(currentModel), { timeoutMs: 10_000 });
        if (probe.status === "ok") {
          printLine(green(`Verification: OK - ${probe.detail}`));
          break;
        }
        printLine(red(`Verification: FAILED - ${probe.detail}`));
        const fix = fixInSetup(probe, info.keyEnv || "the key");
        if (fix) printLine(`  ${fix}`);
        const step = probe.status === "refused" && info.keyEnv ? "key" : "base URL";
        const next = await afterFailure(step);
        if (next === "stop") {
          printLine("Nothing was saved.");
          return 1;
        }
        if (next === "save") break;
        if (step === "key") apiKey = await askKey(provider, "");
        else baseUrl = await askBaseUrl(provider, baseUrl);
      }
      const model = await askModel(probe.models, currentModel);
      const config = configFor(model);
      // A kept key is saved too unless the environment provides it: it may have come from a
      // project .env, and the user config must hold it for other folders.
      const saveKey = apiKey !== "" && envValue(info.keyEnv) !== apiKey;
      const changes = envChanges(readDotenv(target), config, saveKey);
      if (inConfigDir) saveUserConfig(target, changes);
      else saveAcceptedDotenv(target, changes, settings.configDir);
      printLine(green(`Saved to ${target}: ${Object.keys(changes).join(", ")}.`));
      if (inConfigDir) printLine("Every later command reads it, in any folder.");
      for (const line of overriddenBy(settings, changes)) printLine(yellow(line));
      printLine(
        `Next: ${hereCommand("`closed-claw doctor`")} checks everything, then ${
          hereCommand('`closed-claw run "your task"`')
        }.`,
      );
      return 0;
    } catch (error) {
      if (error instanceof Cancelled) {
        // A terminal already ended the prompt's line on end of input; a pipe did not.
        if (!Deno.stdin.isTerminal()) printLine();
        printLine(error.message);
        return 1;
      }
      throw error instanceof ClosedClawError ? error : new ClosedClawError(
        "setup_failed",
        `Setup failed: ${errorMessage(error)}`,
      );
    }
  },
};
