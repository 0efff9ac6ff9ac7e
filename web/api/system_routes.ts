/** Health, system, stats, init, settings and cassettes routes. */
import { Hono } from "hono";
import { join } from "node:path";
import { z } from "zod";
import { saveEnvForWeb } from "../http.ts";
import { ensureDataDirs, SETTING_DEFS, validateSettingValue } from "../../core/settings.ts";
import { resolveProviderConfig } from "../../llm/provider_config.ts";
import { probeBubblewrap } from "../../capsule_runtime/bwrap_probe.ts";
import type { WebDeps } from "../deps.ts";
import { HttpError, jsonBody } from "../http.ts";
import { healthOf, statsOf, systemStatusOf } from "../views/health.ts";
import { workersOf } from "../views/workers_view.ts";
import { settingsView } from "../views/settings_view.ts";

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

  app.get("/workers", async (c) => c.json(await workersOf(deps.settings)));

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
        throw new HttpError(
          400,
          "bad_value",
          `${key}: a value cannot contain a line break.`,
          key,
        );
      }
      const problem = validateSettingValue(key, value);
      if (problem) throw new HttpError(400, "bad_value", problem, key);
    }
    const envFile = deps.settings.envFile || join(deps.settings.cwd, ".env");
    saveEnvForWeb(envFile, Object.fromEntries(entries), deps.settings.configDir);
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
