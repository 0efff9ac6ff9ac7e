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

/** Why the status is not "connected": what is wrong, what fixes it, and the dashboard page that does. */
export interface HealthProblem {
  check: "data" | "coordinator" | "llm" | "tool_backend";
  problem: string;
  fix: string;
  /** Dashboard path (without the base) where the fix is made. */
  href: string;
}

/** `GET /api/system/status`'s body: connected, degraded or offline, and why. */
export function systemStatusOf(deps: WebDeps) {
  const h = healthOf(deps);
  const info = PROVIDER_INFO[h.llm_provider];
  const llmOk = h.llm_key_set || !info.keyRequired;
  const coordinator = h.db_exists && h.agents_dir_exists && deps.coordinator !== null;
  const status = !h.db_exists ? "offline" : coordinator && llmOk ? "connected" : "degraded";
  const problems: HealthProblem[] = [];
  if (!h.db_exists || !h.agents_dir_exists) {
    problems.push({
      check: "data",
      problem: `The data folder ${deps.settings.homeDir} is not set up yet.`,
      fix: "Initialize it (or run any task).",
      href: "/system",
    });
  } else if (deps.coordinator === null) {
    problems.push({
      check: "coordinator",
      problem: "This dashboard was started without a coordinator, so it cannot start runs.",
      fix: "Start it with `closed-claw web`.",
      href: "/system",
    });
  }
  if (!llmOk) {
    problems.push({
      check: "llm",
      problem: `No API key for ${h.llm_provider}: ${info.keyEnv} is not set.`,
      fix: "Add the key on the Settings page (it is checked before it is saved).",
      href: "/settings",
    });
  }
  return {
    status,
    pending_approvals: deps.store.approvals.countPending(),
    checks: { coordinator, llm: llmOk, tool_backend: h.agents_dir_exists },
    problems,
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
