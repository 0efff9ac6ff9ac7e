/**
 * Append-only records: tool events, model calls and audit events. Payloads
 * are expected to be redacted by the caller before they get here.
 */
import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import { nowIso, parseJson } from "./db.ts";

type Raw = Record<string, unknown>;

export interface ToolEvent {
  id: number;
  run_id: string | null;
  task_id: string | null;
  agent_id: string | null;
  attempt: number | null;
  tool: string;
  args: Record<string, unknown>;
  allowed: boolean;
  ok: boolean;
  reason: string;
  error: string;
  result: unknown;
  latency_ms: number | null;
  created_at: string;
}
export type NewToolEvent = Omit<ToolEvent, "id" | "created_at">;

export class ToolEventsRepo {
  constructor(private readonly db: DatabaseSync) {}

  insert(e: NewToolEvent): number {
    const info = this.db.prepare(
      `INSERT INTO tool_events (run_id, task_id, agent_id, attempt, tool, args_json, allowed, ok,
         reason, error, result_json, latency_ms, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
    ).run(
      e.run_id,
      e.task_id,
      e.agent_id,
      e.attempt,
      e.tool,
      JSON.stringify(e.args),
      e.allowed ? 1 : 0,
      e.ok ? 1 : 0,
      e.reason,
      e.error,
      JSON.stringify(e.result ?? null),
      e.latency_ms,
      nowIso(),
    );
    return Number(info.lastInsertRowid);
  }

  listForRun(runId: string, limit = 1000): ToolEvent[] {
    return this.db.prepare("SELECT * FROM tool_events WHERE run_id = ? ORDER BY id LIMIT ?")
      .all(runId, limit).map(shapeToolEvent);
  }

  /** The calls of one subtask of a run (every attempt), oldest first. */
  listForTask(runId: string, taskId: string, limit = 10_000): ToolEvent[] {
    return this.db.prepare(
      "SELECT * FROM tool_events WHERE run_id = ? AND task_id = ? ORDER BY id LIMIT ?",
    ).all(runId, taskId, limit).map(shapeToolEvent);
  }

  listForAgent(agentId: string, limit = 200): ToolEvent[] {
    return this.db.prepare(
      "SELECT * FROM tool_events WHERE agent_id = ? ORDER BY id DESC LIMIT ?",
    ).all(agentId, limit).map(shapeToolEvent);
  }
}

function shapeToolEvent(r: unknown): ToolEvent {
  const row = r as Raw;
  return {
    id: Number(row.id),
    run_id: (row.run_id as string | null) ?? null,
    task_id: (row.task_id as string | null) ?? null,
    agent_id: (row.agent_id as string | null) ?? null,
    attempt: row.attempt === null ? null : Number(row.attempt),
    tool: String(row.tool),
    args: parseJson(row.args_json, {}),
    allowed: Number(row.allowed) === 1,
    ok: Number(row.ok) === 1,
    reason: String(row.reason),
    error: String(row.error),
    result: parseJson(row.result_json, null),
    latency_ms: row.latency_ms === null ? null : Number(row.latency_ms),
    created_at: String(row.created_at),
  };
}

export interface LlmCall {
  id: number;
  run_id: string | null;
  task_id: string | null;
  agent_id: string | null;
  purpose: string;
  provider: string;
  model: string;
  input_tokens: number;
  output_tokens: number;
  /** Of the input tokens, those read from the provider's prompt cache (0 when unknown). */
  cached_input_tokens?: number;
  cost_usd: number;
  latency_ms: number;
  /** `ok`, or the failure kind (`timeout`, `rate_limited`, `http_error`, `invalid_output`, ...). */
  outcome: string;
  error: string;
  created_at: string;
}
export type NewLlmCall = Omit<LlmCall, "id" | "created_at">;

export interface UsageTotals {
  calls: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
}

export class LlmCallsRepo {
  constructor(private readonly db: DatabaseSync) {}

  insert(c: NewLlmCall): number {
    const info = this.db.prepare(
      `INSERT INTO llm_calls (run_id, task_id, agent_id, purpose, provider, model, input_tokens,
         output_tokens, cached_input_tokens, cost_usd, latency_ms, outcome, error, created_at)
       VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
    ).run(
      c.run_id,
      c.task_id,
      c.agent_id,
      c.purpose,
      c.provider,
      c.model,
      c.input_tokens,
      c.output_tokens,
      c.cached_input_tokens ?? 0,
      c.cost_usd,
      c.latency_ms,
      c.outcome,
      c.error,
      nowIso(),
    );
    return Number(info.lastInsertRowid);
  }

  listForRun(runId: string): LlmCall[] {
    return this.db.prepare("SELECT * FROM llm_calls WHERE run_id = ? ORDER BY id").all(runId)
      .map((r) => ({ ...(r as unknown as LlmCall) }));
  }

  /**
   * Tokens and cost per UTC hour (`YYYY-MM-DDTHH`) and per model (`provider/model`) or per
   * agent (`coordinator` for calls outside any agent), for every call since `since` (ISO time).
   */
  usageByHour(since: string, by: "model" | "agent"): HourlyUsage[] {
    const key = by === "model"
      ? "provider || '/' || model"
      : "COALESCE(NULLIF(agent_id, ''), 'coordinator')";
    return this.db.prepare(
      `SELECT substr(created_at, 1, 13) AS hour, ${key} AS key, COUNT(*) AS calls,
         COALESCE(SUM(input_tokens + output_tokens), 0) AS tokens,
         COALESCE(SUM(cost_usd), 0) AS cost_usd
       FROM llm_calls WHERE created_at >= ? GROUP BY hour, key ORDER BY hour, key`,
    ).all(since).map((r) => {
      const row = r as Raw;
      return {
        hour: String(row.hour),
        key: String(row.key),
        calls: Number(row.calls),
        tokens: Number(row.tokens),
        cost_usd: Number(row.cost_usd),
      };
    });
  }

  /** Totals for one run, or for every call since `since` (ISO time). */
  totals(filter: { runId?: string; since?: string }): UsageTotals {
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (filter.runId) (where.push("run_id = ?"), params.push(filter.runId));
    if (filter.since) (where.push("created_at >= ?"), params.push(filter.since));
    const row = this.db.prepare(
      `SELECT COUNT(*) AS calls, COALESCE(SUM(input_tokens),0) AS input_tokens,
         COALESCE(SUM(output_tokens),0) AS output_tokens, COALESCE(SUM(cost_usd),0) AS cost_usd
       FROM llm_calls ${where.length ? `WHERE ${where.join(" AND ")}` : ""}`,
    ).get(...params) as Raw;
    return {
      calls: Number(row.calls),
      input_tokens: Number(row.input_tokens),
      output_tokens: Number(row.output_tokens),
      cost_usd: Number(row.cost_usd),
    };
  }
}

/** One hour's model usage for one model or agent (see `LlmCallsRepo.usageByHour`). */
export interface HourlyUsage {
  hour: string;
  key: string;
  calls: number;
  tokens: number;
  cost_usd: number;
}

export interface AuditEvent {
  id: number;
  event_type: string;
  run_id: string | null;
  agent_id: string | null;
  created_at: string;
  payload: unknown;
}

export class AuditRepo {
  constructor(private readonly db: DatabaseSync) {}

  record(eventType: string, payload: unknown, ids: { runId?: string; agentId?: string } = {}) {
    this.db.prepare(
      "INSERT INTO audit_events (event_type, run_id, agent_id, payload_json, created_at) VALUES (?,?,?,?,?)",
    ).run(eventType, ids.runId ?? null, ids.agentId ?? null, JSON.stringify(payload), nowIso());
  }

  /** Newest first, in the shape `audit` listings show. */
  list(options: { limit?: number; runId?: string } = {}): AuditEvent[] {
    const rows = options.runId
      ? this.db.prepare("SELECT * FROM audit_events WHERE run_id = ? ORDER BY id DESC LIMIT ?")
        .all(options.runId, options.limit ?? 20)
      : this.db.prepare("SELECT * FROM audit_events ORDER BY id DESC LIMIT ?").all(
        options.limit ?? 20,
      );
    return rows.map((r) => {
      const row = r as Raw;
      return {
        id: Number(row.id),
        event_type: String(row.event_type),
        run_id: (row.run_id as string | null) ?? null,
        agent_id: (row.agent_id as string | null) ?? null,
        created_at: String(row.created_at),
        payload: parseJson(row.payload_json, {}),
      };
    });
  }
}
