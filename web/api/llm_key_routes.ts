/**
 * The provider key routes: `POST /api/health/verify` checks the configured
 * key and `POST /api/settings/apikey` checks a new key, then saves it to
 * `.env`. Both list the provider's models instead of calling a model, so a
 * check spends no tokens. A key is never echoed back, logged or put in an
 * error message.
 */
import { Hono } from "hono";
import { join } from "node:path";
import { z } from "zod";
import { saveEnvForWeb } from "../http.ts";
import { parseDotenv, saveUserConfig } from "../../core/dotenv.ts";
import { readTrustedFile } from "../../core/trust.ts";
import { PROVIDER_INFO, type ProviderConfig, resolveProviderConfig } from "../../llm/mod.ts";
import { probeProvider, type ProbeResult } from "../../llm/mod.ts";
import type { BreakerClearer } from "../../llm/probe.ts";
import type { WebDeps } from "../deps.ts";
import { HttpError, jsonBody } from "../http.ts";

/** Longest key accepted; real provider keys are far shorter. */
const MAX_KEY_LENGTH = 512;

const ApiKeyBody = z.object({
  api_key: z.string().trim().min(1, "Paste a key first.").max(MAX_KEY_LENGTH),
}).strict();

/**
 * A key check in the verify API shape (`provider`, `model`, `verified`,
 * `message`, `latency_ms`), plus the probe's status and what to do when it failed.
 */
export interface KeyCheck {
  provider: string;
  model: string;
  verified: boolean;
  message: string;
  latency_ms: number;
  status: ProbeResult["status"];
  fix?: string;
}

async function check(
  config: ProviderConfig,
  timeoutMs: number,
  breakers?: BreakerClearer,
): Promise<KeyCheck> {
  const started = performance.now();
  // A key that works clears the endpoint's circuit breakers, as `doctor` does.
  const probe = await probeProvider(config, { timeoutMs, breakers });
  return {
    provider: config.provider,
    model: config.model,
    verified: probe.status === "ok",
    message: probe.detail,
    latency_ms: Math.round(performance.now() - started),
    status: probe.status,
    ...(probe.fix ? { fix: probe.fix } : {}),
  };
}

/** Keys are printable ASCII; whitespace or control characters would corrupt `.env`. */
function assertKeyShape(key: string): void {
  if (!/^[!-~]+$/.test(key)) {
    throw new HttpError(
      400,
      "bad_key",
      "A key is printable characters only (no spaces or line breaks): paste it again.",
    );
  }
}

export function llmKeyRoutes(deps: WebDeps): Hono {
  const app = new Hono();
  const timeoutMs = () => Math.min(deps.settings.llmTimeoutSec * 1000, 10_000);

  app.post("/health/verify", async (c) => {
    const config = resolveProviderConfig(deps.settings);
    if (config.apiKey === "" && PROVIDER_INFO[config.provider].keyRequired) {
      const keyEnv = PROVIDER_INFO[config.provider].keyEnv;
      return c.json(
        {
          provider: config.provider,
          model: config.model,
          verified: false,
          message: `No API key is set for ${config.provider}.`,
          latency_ms: 0,
          status: "refused",
          fix: `Set ${keyEnv} in Settings, or paste a key below.`,
        } satisfies KeyCheck,
      );
    }
    return c.json(await check(config, timeoutMs(), deps.store.breakers));
  });

  app.post("/settings/apikey", async (c) => {
    const { api_key: key } = await jsonBody(c, ApiKeyBody);
    assertKeyShape(key);
    const current = resolveProviderConfig(deps.settings);
    const keyEnv = PROVIDER_INFO[current.provider].keyEnv;
    if (!keyEnv) {
      throw new HttpError(
        400,
        "no_key_needed",
        `The ${current.provider} provider takes no API key; choose another provider in Settings first.`,
      );
    }
    const result = await check(
      { ...current, apiKey: key, keySource: keyEnv },
      timeoutMs(),
      deps.store.breakers,
    );
    if (!result.verified) {
      return c.json({ ...result, saved: false, error: result.message });
    }
    // Keys follow the user: saved in their config.env (read in every folder); ./.env without one.
    const target = deps.settings.userConfigFile || deps.settings.envFile ||
      join(deps.settings.cwd, ".env");
    if (target === deps.settings.userConfigFile) saveUserConfig(target, { [keyEnv]: key });
    else saveEnvForWeb(target, { [keyEnv]: key }, deps.settings.configDir);
    deps.reloadSettings?.();
    // A variable in the process environment, or the generic key, still wins over the file.
    const shadowedBy: string[] = [];
    if (Deno.env.get(keyEnv) !== undefined) shadowedBy.push(keyEnv);
    if (keyEnv !== "CLOSED_CLAW_LLM_API_KEY" && deps.settings.llmApiKey !== "") {
      shadowedBy.push("CLOSED_CLAW_LLM_API_KEY");
    }
    // An accepted project .env that sets the key wins over the user's config.env here.
    const shadowedByFiles: string[] = [];
    if (target === deps.settings.userConfigFile && deps.settings.envFile) {
      const project = readTrustedFile(deps.settings.envFile, {
        configDir: deps.settings.configDir,
      });
      if (project.state === "trusted" && keyEnv in parseDotenv(project.text)) {
        shadowedByFiles.push(deps.settings.envFile);
      }
    }
    return c.json({
      ...result,
      saved: true,
      saved_to: target,
      shadowed_by_files: shadowedByFiles,
      key_env: keyEnv,
      reloaded: deps.reloadSettings !== undefined,
      shadowed_by_environment: shadowedBy,
    });
  });

  return app;
}
