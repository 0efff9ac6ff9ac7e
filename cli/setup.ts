/**
 * `setup`: a wizard that asks for the provider, model, key and base URL,
 * verifies them live by listing the provider's models at that base URL (no
 * tokens spent), and saves them to `.env` only after success or an explicit
 * "save anyway". Reads answers line by line, so it works from a terminal and
 * from a pipe; end of input cancels with one line and saves nothing.
 */
import { join } from "node:path";
import { assertEnvAccepted, readDotenv, saveAcceptedDotenv } from "../core/dotenv.ts";
import { type ProviderName, PROVIDERS, type Settings } from "../core/settings.ts";
import { ClosedClawError, errorMessage } from "../core/errors.ts";
import { parseProviderName, PROVIDER_INFO, type ProviderConfig } from "../llm/provider_config.ts";
import { probeProvider } from "../llm/probe.ts";
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

/** The `.env` changes for the chosen configuration, clearing generic overrides it would lose to. */
function envChanges(
  file: Record<string, string>,
  config: ProviderConfig,
  typedKey: boolean,
): Record<string, string> {
  const provider = config.provider;
  const info = PROVIDER_INFO[provider];
  const changes: Record<string, string> = {
    CLOSED_CLAW_LLM_PROVIDER: provider,
    CLOSED_CLAW_LLM_MODEL: config.model,
  };
  if (typedKey && info.keyEnv) changes[info.keyEnv] = config.apiKey;
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

export const setupCommand: Command = {
  name: "setup",
  summary: "Choose the model provider, model and key; verify them live and save them to .env.",
  details: [
    "Answers are read line by line, so the wizard also works with piped input, e.g.",
    "  printf 'claude\\n\\nsk-ant-...\\n\\n' | closed-claw setup",
    "Nothing is saved unless the live check (listing the provider's models, no tokens spent)",
    'succeeds or you answer yes to "Save anyway?".',
  ].join("\n"),
  async run(ctx) {
    const settings = ctx.settings();
    const envPath = settings.envFile || join(settings.cwd, ".env");
    // Checked before any question, so no answer is wasted on a file we would refuse.
    assertEnvAccepted(envPath, settings.configDir);
    printLine(bold("Closed Claw setup"));
    try {
      const provider = await askProvider(settings.llmProvider);
      const info = PROVIDER_INFO[provider];
      const currentModel = provider === settings.llmProvider && settings.llmModel
        ? settings.llmModel
        : info.defaultModel;
      const model = (await answer(`Model [Enter for ${currentModel}]: `)) || currentModel;
      const existingKey = OWN_KEY[provider]?.(settings) ?? "";
      const apiKey = info.keyEnv ? await askKey(provider, existingKey) : "";
      const currentBase = info.baseUrlEnv === "CLOSED_CLAW_LLM_BASE_URL"
        ? settings.llmBaseUrl || info.defaultBaseUrl
        : OWN_BASE_URL[provider]?.(settings) || info.defaultBaseUrl;
      const baseUrl = await askBaseUrl(provider, currentBase);
      const config: ProviderConfig = {
        provider,
        model,
        apiKey,
        keySource: info.keyEnv,
        baseUrl,
        timeoutMs: settings.llmTimeoutSec * 1000,
        maxRetries: settings.llmMaxRetries,
      };

      printLine(`Checking ${provider} at ${baseUrl} (listing models; no tokens are spent)...`);
      const probe = await probeProvider(config, { timeoutMs: 10_000 });
      let verified = probe.status === "ok";
      if (verified) {
        printLine(green(`Verification: OK - ${probe.detail}`));
        const listed = probe.models.some((m) => m === model || m === `${model}:latest`);
        if (probe.models.length > 0 && !listed) {
          verified = false;
          printLine(yellow(
            `Model "${model}" is not among the models listed there: ${
              probe.models.slice(0, 15).join(", ")
            }.`,
          ));
        }
      } else {
        printLine(red(`Verification: FAILED - ${probe.detail}`));
        if (probe.fix) printLine(`  ${probe.fix}`);
      }
      if (!verified && (await answer("Save anyway? (yes/no): ")).toLowerCase() !== "yes") {
        printLine("Nothing was saved.");
        return 1;
      }
      const typedKey = apiKey !== "" && apiKey !== existingKey;
      const changes = envChanges(readDotenv(envPath), config, typedKey);
      saveAcceptedDotenv(envPath, changes, settings.configDir);
      printLine(green(`Saved to ${envPath}: ${Object.keys(changes).join(", ")}.`));
      printLine("Next: `closed-claw doctor` to check everything, then run a task.");
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
