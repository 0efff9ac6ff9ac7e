/** What the health, status and stats endpoints report, also shown on the pages. */
import { PROVIDER_INFO, resolveProviderConfig } from "../../llm/provider_config.ts";
import { type OpenBreaker, openBreakers } from "../../llm/breaker.ts";
import type { WebDeps } from "../deps.ts";

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

/** The circuit breakers that are open or half-open: one per endpoint, with when each resets. */
export function breakersOf(deps: WebDeps, now: number = Date.now()): OpenBreaker[] {
  return openBreakers(deps.store.breakers.listOpen(), deps.settings.circuitBreakerResetSec, now);
}
