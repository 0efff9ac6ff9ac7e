/**
 * Sending a finished run's trace to an OpenTelemetry collector, when the
 * standard `OTEL_EXPORTER_OTLP_*` variables name one (see otlp.ts). An export
 * that fails never fails the run: it costs one warning line on stderr.
 */
import type { Store } from "../store/mod.ts";
import { otlpConfig, readOtelEnv, sendOtlp } from "./otlp.ts";
import { runLogPath } from "./run_log.ts";
import { loadRunTrace, type RunTrace, type TraceSpan } from "./trace.ts";

/** How an export is done; tests pass their own. */
export interface TraceExportOptions {
  env?: Record<string, string | undefined>;
  fetch?: typeof fetch;
  warn?: (line: string) => void;
}

/**
 * The spans a run's latest export sends. A resumed run's earlier export sent
 * the spans that ended before it was resumed; they are not sent again (the
 * root `run` span is, with its end moved).
 */
export function spansToExport(trace: RunTrace, resumedAtMs: number | null): TraceSpan[] {
  if (resumedAtMs === null) return trace.spans;
  return trace.spans.filter((s) => s.kind === "run" || s.end_ms >= resumedAtMs);
}

/** Exports a finished run's trace when OTLP is configured; never throws. Returns spans sent. */
export async function exportRunTrace(
  store: Store,
  runLogsDir: string,
  runId: string,
  options: TraceExportOptions = {},
): Promise<number> {
  const config = otlpConfig(options.env ?? readOtelEnv());
  if (!config) return 0;
  const warn = options.warn ?? ((line: string) => console.warn(line));
  try {
    const trace = await loadRunTrace(store, runLogPath(runLogsDir, runId), runId);
    if (!trace) return 0;
    const resumedAt = Date.parse(String(trace.spans[0].attributes["closed_claw.resumed_at"] ?? ""));
    const spans = spansToExport(trace, Number.isFinite(resumedAt) ? resumedAt : null);
    await sendOtlp(spans, config, options.fetch);
    return spans.length;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    warn(`warning: the trace of run ${runId} was not exported to ${config.url}: ${reason}`);
    return 0;
  }
}
