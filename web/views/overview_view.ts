/** The overview page's figures: the last 24 hours of runs, today's spend and what is live. */
import { refreshInterruptedRuns } from "../../coordinator/cancel.ts";
import type { WebDeps } from "../deps.ts";
import { systemStatusOf } from "./health.ts";
import { liveSnapshot } from "./live_snapshot.ts";
import { listRunsFiltered } from "./runs_view.ts";

function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Runs per hour over the last 24 hours, failures highlighted. */
export function hourlyBars(runs: { created_at: string; status: string }[]) {
  const now = Date.now();
  const bars = Array.from({ length: 24 }, (_, i) => {
    const start = new Date(now - (23 - i) * 3_600_000);
    return { label: `${String(start.getUTCHours()).padStart(2, "0")}:00`, value: 0, alert: 0 };
  });
  for (const r of runs) {
    const age = Math.floor((now - Date.parse(r.created_at)) / 3_600_000);
    if (age < 0 || age > 23) continue;
    const bar = bars[23 - age];
    bar.value++;
    if (r.status === "error" || r.status === "interrupted") bar.alert++;
  }
  return bars;
}

/** Everything the overview shows; runs whose process died are marked interrupted first. */
export function overviewView(deps: WebDeps) {
  refreshInterruptedRuns(deps.store);
  const day = listRunsFiltered(deps, { limit: 10_000, range: "24h" });
  const finished = day.filter((r) => r.status !== "running");
  const errors = finished.filter((r) => r.status === "error" || r.status === "interrupted");
  const p95 = percentile(
    finished.map((r) => r.latency_ms).filter((v): v is number => v !== null),
    95,
  );
  const since = new Date();
  since.setUTCHours(0, 0, 0, 0);
  const spend = deps.store.llmCalls.totals({ since: since.toISOString() });
  return {
    day,
    finished: finished.length,
    errors: errors.length,
    p95,
    spend,
    status: systemStatusOf(deps),
    live: liveSnapshot(deps),
  };
}

/** One model's or agent's tokens and cost per hour over the last 24 hours. */
export interface UsageSeries {
  key: string;
  tokens: number;
  cost_usd: number;
  bars: { label: string; value: number }[];
}

/**
 * Tokens and cost over the last 24 hours, by model or by agent: one series per key (the
 * `limit` biggest by tokens), 24 hourly bars of tokens each, the hour's cost in the label.
 */
export function usageSeries(deps: WebDeps, by: "model" | "agent", limit = 4): UsageSeries[] {
  const now = Date.now();
  const hours = Array.from({ length: 24 }, (_, i) => new Date(now - (23 - i) * 3_600_000));
  const since = new Date(hours[0]);
  since.setUTCMinutes(0, 0, 0);
  const rows = deps.store.llmCalls.usageByHour(since.toISOString(), by);
  const byKey = new Map<string, typeof rows>();
  for (const r of rows) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
  return [...byKey.entries()].map(([key, list]) => {
    const at = new Map(list.map((r) => [r.hour, r]));
    return {
      key,
      tokens: list.reduce((n, r) => n + r.tokens, 0),
      cost_usd: list.reduce((n, r) => n + r.cost_usd, 0),
      bars: hours.map((h) => {
        const r = at.get(h.toISOString().slice(0, 13));
        const label = `${String(h.getUTCHours()).padStart(2, "0")}:00`;
        return {
          label: r ? `${label} ($${r.cost_usd.toFixed(4)})` : label,
          value: r?.tokens ?? 0,
        };
      }),
    };
  }).toSorted((a, b) => b.tokens - a.tokens).slice(0, limit);
}
