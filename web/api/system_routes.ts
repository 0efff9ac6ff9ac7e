/** Health, system, stats, init, settings and cassettes routes. */
import { Hono } from "hono";
import { join } from "node:path";
import { z } from "zod";
import { upsertDotenv } from "../../core/dotenv.ts";
import {
  ensureDataDirs,
  SETTING_DEFS,
  settingsCatalogue,
  validateSettingValue,
} from "../../core/settings.ts";
import { PROVIDER_INFO, resolveProviderConfig } from "../../llm/provider_config.ts";
import { probeBubblewrap } from "../../capsule_runtime/bwrap_probe.ts";
import type { WebDeps } from "../deps.ts";
import { HttpError, jsonBody } from "../http.ts";

const SECRET_ENVS = new Set<string>(
  SETTING_DEFS.filter((d) => d.kind === "secret").map((d) => d.env),
);

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** `GET /api/health`'s body. */
export function healthOf(deps: WebDeps) {
  const s = deps.settings;
  const llm = resolveProviderConfig(s);
  return {
    db_exists: exists(s.dbPath),
    agents_dir_exists: exists(s.agentsDir),
    run_logs_dir_exists: exists(s.runLogsDir),
    llm_provider: llm.provider,
    llm_model: llm.model,
    llm_key_set: llm.apiKey !== "",
    require_sqlite_vec: s.requireSqliteVec,
    // The vector index is built in, so there is no extension that could be missing.
    sqlite_vec_ok: true,
    coordinator_ok: deps.coordinator !== null,
    embedding_model: s.embeddingModel,
    embedding_dim: s.embeddingDim,
    openai_key_set: s.openaiApiKey !== "",
    gemini_key_set: s.geminiApiKey !== "",
    anthropic_key_set: s.anthropicApiKey !== "",
    compatible_key_set: s.llmApiKey !== "",
  };
}

/** `GET /api/system/status`'s body: connected, degraded or offline. */
export function systemStatusOf(deps: WebDeps) {
  const h = healthOf(deps);
  const llmOk = h.llm_key_set || !PROVIDER_INFO[h.llm_provider].keyRequired;
  const coordinator = h.db_exists && h.agents_dir_exists && deps.coordinator !== null;
  const status = !h.db_exists ? "offline" : coordinator && llmOk ? "connected" : "degraded";
  return {
    status,
    pending_approvals: deps.store.approvals.countPending(),
    checks: { coordinator, llm: llmOk, tool_backend: h.agents_dir_exists },
  };
}

/** `GET /api/stats`'s body. */
export function statsOf(deps: WebDeps) {
  const runs = deps.store.runs.count();
  const ok = deps.store.runs.count("ok");
  let runLogs = 0;
  try {
    for (const e of Deno.readDirSync(deps.settings.runLogsDir)) {
      if (e.name.endsWith(".jsonl")) runLogs++;
    }
  } catch {
    // No runs folder yet.
  }
  return {
    agents: deps.store.agents.count(),
    runs,
    success_rate: runs ? Math.round((ok / runs) * 1000) / 10 : 0,
    run_logs: runLogs,
  };
}

/** Settings with their current values; secrets only say whether they are set. */
export function settingsView(deps: WebDeps) {
  const values = deps.settings as unknown as Record<string, unknown>;
  return settingsCatalogue().map((info) => {
    const value = values[info.key];
    const text = Array.isArray(value) ? value.join(",") : String(value ?? "");
    return SECRET_ENVS.has(info.env)
      ? { ...info, value: "", is_set: text !== "" }
      : { ...info, value: text };
  });
}

const SettingsChanges = z.object({
  changes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
}).strict();

const CASSETTE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Cassette files (recorded model replies) in the data dir. */
export function listCassettes(dir: string) {
  const out: { name: string; size: number; modified: string | null }[] = [];
  try {
    for (const e of Deno.readDirSync(dir)) {
      if (!e.isFile || !CASSETTE_NAME.test(e.name)) continue;
      const info = Deno.statSync(join(dir, e.name));
      out.push({ name: e.name, size: info.size, modified: info.mtime?.toISOString() ?? null });
    }
  } catch {
    // No cassettes folder yet.
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export function systemRoutes(deps: WebDeps): Hono {
  const app = new Hono();

  app.get("/health", (c) => c.json(healthOf(deps)));
  app.get("/system/status", (c) => c.json(systemStatusOf(deps)));
  app.get("/stats", (c) => c.json(statsOf(deps)));

  app.get("/system", async (c) => {
    const s = deps.settings;
    const bwrap = await probeBubblewrap();
    const llm = resolveProviderConfig(s);
    return c.json({
      deno_version: Deno.version.deno,
      v8_version: Deno.version.v8,
      typescript_version: Deno.version.typescript,
      platform: `${Deno.build.os}-${Deno.build.arch}`,
      llm_provider: llm.provider,
      llm_model: llm.model,
      active_key_set: llm.apiKey !== "",
      embedding_model: s.embeddingModel,
      embedding_dim: s.embeddingDim,
      db_path: s.dbPath,
      agents_dir: s.agentsDir,
      run_logs_dir: s.runLogsDir,
      workspace: s.workspace,
      agent_count: deps.store.agents.count(),
      run_count: deps.store.runs.count(),
      sandbox: bwrap.works ? "bwrap" : "deno-only",
      sandbox_detail: bwrap.works ? "" : bwrap.error,
    });
  });

  app.post("/init", (c) => {
    ensureDataDirs(deps.settings);
    return c.json({ ok: true, data_dir: deps.settings.homeDir });
  });

  app.get("/settings", (c) => c.json(settingsView(deps)));

  app.post("/settings", async (c) => {
    const body = await jsonBody(c, SettingsChanges);
    const entries = Object.entries(body.changes).map(([k, v]) => [k, String(v)] as const);
    if (entries.length === 0) return c.json({ saved: 0, keys: [] });
    const known = new Set(SETTING_DEFS.map((d) => d.env as string));
    const unknown = entries.filter(([k]) => !known.has(k)).map(([k]) => k);
    if (unknown.length) {
      throw new HttpError(400, "unknown_setting", `Unknown setting(s): ${unknown.join(", ")}.`);
    }
    for (const [key, value] of entries) {
      if (/[\r\n\0]/.test(value)) {
        throw new HttpError(400, "bad_value", `${key}: a value cannot contain a line break.`);
      }
      const problem = validateSettingValue(key, value);
      if (problem) throw new HttpError(400, "bad_value", problem);
    }
    const envFile = deps.settings.envFile || join(deps.settings.cwd, ".env");
    upsertDotenv(envFile, Object.fromEntries(entries));
    deps.reloadSettings?.();
    // A variable set in the process environment still wins over .env: say so.
    const shadowed = entries.map(([k]) => k).filter((k) => Deno.env.get(k) !== undefined);
    return c.json({
      saved: entries.length,
      keys: entries.map(([k]) => k),
      reloaded: deps.reloadSettings !== undefined,
      shadowed_by_environment: shadowed,
    });
  });

  app.get("/cassettes", (c) => c.json(listCassettes(deps.settings.cassettesDir)));

  return app;
}
