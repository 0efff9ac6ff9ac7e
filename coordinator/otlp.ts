/**
 * OpenTelemetry export of a run's trace over OTLP/HTTP with JSON bodies
 * (`POST <endpoint>/v1/traces`), configured by the standard variables:
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the full URL) or
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (the base; `/v1/traces` is added),
 * `OTEL_EXPORTER_OTLP_TRACES_HEADERS` / `OTEL_EXPORTER_OTLP_HEADERS`
 * (`key=value,key2=value2`), `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` /
 * `OTEL_EXPORTER_OTLP_TIMEOUT` (ms, default 10000), `OTEL_SERVICE_NAME`
 * (default `closed-claw`); `OTEL_SDK_DISABLED=true` or
 * `OTEL_TRACES_EXPORTER=none` turn it off. Without an endpoint nothing is sent.
 *
 * @example
 * ```ts
 * import { encodeOtlp, otlpConfig } from "./otlp.ts";
 *
 * const config = otlpConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" });
 * console.log(config?.url); // http://127.0.0.1:4318/v1/traces
 * console.log(encodeOtlp([], "closed-claw").resourceSpans.length); // 1
 * ```
 * @module
 */
import type { SpanValue, TraceSpan } from "./trace.ts";

/** Where and how to send traces. */
export interface OtlpConfig {
  url: string;
  headers: Record<string, string>;
  serviceName: string;
  timeoutMs: number;
}

/** The variables this module reads, in the order it reads them. */
export const OTEL_VARIABLES = [
  "OTEL_SDK_DISABLED",
  "OTEL_TRACES_EXPORTER",
  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
  "OTEL_EXPORTER_OTLP_HEADERS",
  "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
  "OTEL_EXPORTER_OTLP_TIMEOUT",
  "OTEL_SERVICE_NAME",
] as const;

/** The OTEL_* variables of this process; one the process may not read counts as unset. */
export function readOtelEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const name of OTEL_VARIABLES) {
    try {
      env[name] = Deno.env.get(name);
    } catch {
      env[name] = undefined;
    }
  }
  return env;
}

/** The export configuration the variables give, or null when traces are not exported. */
export function otlpConfig(env: Record<string, string | undefined>): OtlpConfig | null {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return null;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === "none") return null;
  const full = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const url = full || (base ? `${base.replace(/\/+$/, "")}/v1/traces` : "");
  if (!url) return null;
  const timeout = Number(
    env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? env.OTEL_EXPORTER_OTLP_TIMEOUT ?? 10_000,
  );
  return {
    url,
    headers: parseHeaders(
      env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS ?? "",
    ),
    serviceName: env.OTEL_SERVICE_NAME?.trim() || "closed-claw",
    timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : 10_000,
  };
}

/** `key=value,key2=value2` with percent-encoded values, as the OTLP exporter spec writes them. */
export function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of text.split(",")) {
    const at = pair.indexOf("=");
    if (at <= 0) continue;
    const key = pair.slice(0, at).trim();
    let value = pair.slice(at + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      // Not percent-encoded after all: keep it as written.
    }
    if (key) headers[key] = value;
  }
  return headers;
}

/** An OTLP `AnyValue`. */
export type OtlpValue =
  | { stringValue: string }
  | { intValue: string }
  | { doubleValue: number }
  | { boolValue: boolean }
  | { arrayValue: { values: OtlpValue[] } };

/** An OTLP attribute. */
export interface OtlpKeyValue {
  key: string;
  value: OtlpValue;
}

/** An attribute value as a typed OTLP value (whole numbers as `intValue`, int64 as text). */
export function otlpValue(value: SpanValue): OtlpValue {
  if (Array.isArray(value)) return { arrayValue: { values: value.map((v) => otlpValue(v)) } };
  if (typeof value === "boolean") return { boolValue: value };
  if (typeof value === "number") {
    return Number.isSafeInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  }
  return { stringValue: value };
}

function attributes(record: Record<string, SpanValue>): OtlpKeyValue[] {
  return Object.entries(record).map(([key, value]) => ({ key, value: otlpValue(value) }));
}

/** Epoch milliseconds (with fractions) as OTLP's decimal nanoseconds. */
export function unixNano(ms: number): string {
  const whole = Math.floor(ms);
  const fraction = Math.round((ms - whole) * 1e6);
  return (BigInt(whole) * 1_000_000n + BigInt(fraction)).toString();
}

const SPAN_KIND_INTERNAL = 1;
const SPAN_KIND_CLIENT = 3;
const STATUS = { unset: 0, ok: 1, error: 2 } as const;

/** The OTLP/JSON `ExportTraceServiceRequest` for spans of one service. */
export function encodeOtlp(spans: TraceSpan[], serviceName: string, version = "0.1.0") {
  return {
    resourceSpans: [{
      resource: {
        attributes: attributes({
          "service.name": serviceName,
          "telemetry.sdk.name": "closed-claw",
        }),
      },
      scopeSpans: [{
        scope: { name: "closed-claw", version },
        spans: spans.map((s) => ({
          traceId: s.trace_id,
          spanId: s.span_id,
          ...(s.parent_span_id ? { parentSpanId: s.parent_span_id } : {}),
          name: s.name,
          // Model calls go to another service; everything else happens in this process.
          kind: s.kind === "chat" ? SPAN_KIND_CLIENT : SPAN_KIND_INTERNAL,
          startTimeUnixNano: unixNano(s.start_ms),
          endTimeUnixNano: unixNano(s.end_ms),
          attributes: attributes({ ...s.attributes, "closed_claw.span_kind": s.kind }),
          status: {
            code: STATUS[s.status],
            ...(s.status === "error" && s.status_message ? { message: s.status_message } : {}),
          },
        })),
      }],
    }],
  };
}

/** Sends spans; throws with the reason when the collector does not answer 2xx in time. */
export async function sendOtlp(
  spans: TraceSpan[],
  config: OtlpConfig,
  fetchFn: typeof fetch = fetch,
): Promise<void> {
  const response = await fetchFn(config.url, {
    method: "POST",
    headers: { ...config.headers, "content-type": "application/json" },
    body: JSON.stringify(encodeOtlp(spans, config.serviceName)),
    signal: AbortSignal.timeout(config.timeoutMs),
  });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
}
