/**
 * http_api and web_fetch, both sent through the SSRF-pinned client.
 * Guest-safe.
 */
import { truncateText } from "../policy/output.ts";
import { ArgError, optionalNumber, optionalRecord, requireString } from "./args.ts";
import { htmlToText } from "./html_text.ts";
import { DEFAULT_MAX_BODY_BYTES, type PinnedDeps, pinnedFetch } from "./pinned_fetch.ts";
import { failure, type ToolContext, type ToolResult } from "./types.ts";

/** Text cap for http_api and for non-HTML web_fetch bodies: 10,000 characters. */
export const MAX_TEXT_CHARS = 10_000;
/** Text cap for HTML converted to text: 8,000 characters. */
export const MAX_HTML_TEXT_CHARS = 8_000;
/** Methods http_api accepts. */
export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

const USER_AGENT = "ClosedClaw/0.1 (local agent; +https://github.com/rogue-socket/closed_claw)";

/** Request headers we set ourselves or that would confuse the connection. */
const REQUEST_HEADERS_DROPPED = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
  "te",
  "trailer",
  "accept-encoding",
  "proxy-authorization",
  "proxy-connection",
]);

/** Response headers shown to the agent; everything else (Set-Cookie!) is withheld. */
const RESPONSE_HEADERS_SHOWN = new Set([
  "content-type",
  "content-length",
  "content-language",
  "content-disposition",
  "date",
  "last-modified",
  "etag",
  "cache-control",
  "expires",
  "age",
  "location",
  "retry-after",
  "link",
  "x-request-id",
]);

/** The subset of response headers returned to the agent. */
export function filterResponseHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (RESPONSE_HEADERS_SHOWN.has(name) || /^(x-)?ratelimit-/.test(name)) out[name] = value;
  }
  return out;
}

/** Validates request headers: token names, no CR/LF/NUL in values. */
function requestHeaders(raw: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new ArgError(`invalid header name '${name}'`);
    }
    if (REQUEST_HEADERS_DROPPED.has(name.toLowerCase())) continue;
    if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
      throw new ArgError(`header '${name}' must be a string`);
    }
    const text = String(value);
    if (/[\r\n\0]/.test(text)) throw new ArgError(`header '${name}' contains a line break`);
    out[name] = text;
  }
  return out;
}

/** Appends `params` to the URL's query string (lists repeat the key). */
function withParams(url: string, params: Record<string, unknown>): string {
  if (Object.keys(params).length === 0) return url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url; // checkUrl reports the bad URL.
  }
  for (const [key, value] of Object.entries(params)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === null || item === undefined) continue;
      if (typeof item === "object") throw new ArgError(`param '${key}' must be a string or number`);
      parsed.searchParams.append(key, String(item));
    }
  }
  return parsed.toString();
}

/** The charset named in a Content-Type header, or in an HTML `<meta>`. */
function charsetOf(contentType: string, body: Uint8Array): string {
  const header = /charset\s*=\s*"?([\w.:-]+)/i.exec(contentType)?.[1];
  if (header) return header;
  if (/html/i.test(contentType)) {
    const head = new TextDecoder("latin1").decode(body.subarray(0, 2048));
    const meta = /<meta[^>]+charset\s*=\s*["']?([\w.:-]+)/i.exec(head)?.[1];
    if (meta) return meta;
  }
  return "utf-8";
}

/** Decodes a body with its declared charset, falling back to UTF-8. */
export function decodeBody(contentType: string, body: Uint8Array): string {
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(charsetOf(contentType, body));
  } catch {
    decoder = new TextDecoder();
  }
  return decoder.decode(body);
}

function isHtml(contentType: string, body: Uint8Array): boolean {
  if (/text\/html|application\/xhtml\+xml/i.test(contentType)) return true;
  if (contentType.trim() !== "") return false;
  const start = new TextDecoder().decode(body.subarray(0, 512)).trimStart().toLowerCase();
  return start.startsWith("<!doctype html") || start.startsWith("<html");
}

function isBinary(contentType: string): boolean {
  return /^(image|audio|video|font)\/|application\/(octet-stream|pdf|zip|gzip|x-tar|wasm|vnd\.)/i
    .test(contentType) && !/svg|json|xml/i.test(contentType);
}

function statusOk(status: number): boolean {
  return status >= 200 && status < 400;
}

/**
 * Runs the `http_api` tool: any method, JSON body, query params.
 * Redirects are followed only for GET and HEAD, so a POST is never re-sent.
 *
 * @example
 * ```ts
 * await runHttpApi({ method: "POST", url: "https://api.example.com/x", json: { a: 1 } }, ctx);
 * ```
 */
export async function runHttpApi(
  args: Record<string, unknown>,
  ctx: ToolContext,
  deps: PinnedDeps = {},
): Promise<ToolResult> {
  let url: string, method: string, headers: Record<string, string>, timeoutS: number;
  let body: Uint8Array | undefined;
  try {
    method = typeof args.method === "string" ? args.method.trim().toUpperCase() : "GET";
    if (!(HTTP_METHODS as readonly string[]).includes(method)) {
      throw new ArgError(`'method' must be one of ${HTTP_METHODS.join(", ")}`);
    }
    url = withParams(requireString(args, "url", 8192), optionalRecord(args, "params"));
    headers = requestHeaders(optionalRecord(args, "headers"));
    timeoutS = optionalNumber(args, "timeout_s", 20, 1, 120);
    if (args.json !== undefined && args.json !== null) {
      const text = JSON.stringify(args.json);
      if (text === undefined) throw new ArgError("'json' is not serialisable");
      body = new TextEncoder().encode(text);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
        headers["content-type"] = "application/json";
      }
    }
  } catch (error) {
    if (error instanceof ArgError) return failure(`http_api: ${error.message}`);
    return failure(`http_api: ${(error as Error).message}`);
  }
  if (!Object.keys(headers).some((h) => h.toLowerCase() === "user-agent")) {
    headers["user-agent"] = USER_AGENT;
  }
  headers["accept-encoding"] = "gzip, deflate, br";
  const response = await pinnedFetch({
    method,
    url,
    headers,
    body,
    timeoutMs: timeoutS * 1000,
    maxBodyBytes: ctx.limits?.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    networkHosts: ctx.networkHosts,
    paidHosts: ctx.paidHosts,
    followRedirects: method === "GET" || method === "HEAD",
    signal: ctx.signal,
  }, deps);
  if (!response.ok) return failure(response.error);
  const contentType = response.headers["content-type"] ?? "";
  const text = truncateText(decodeBody(contentType, response.body), MAX_TEXT_CHARS).text;
  const result = {
    status_code: response.status,
    headers: filterResponseHeaders(response.headers),
    text,
    final_url: response.url,
  };
  return statusOk(response.status)
    ? { ok: true, result, error: "" }
    : failure(`http_status_${response.status}`, result);
}

/**
 * Runs the `web_fetch` tool: GET a page and return readable text.
 *
 * @example
 * ```ts
 * await runWebFetch({ url: "https://example.com/" }, ctx); // { status_code, text, content_type, raw_length }
 * ```
 */
export async function runWebFetch(
  args: Record<string, unknown>,
  ctx: ToolContext,
  deps: PinnedDeps = {},
): Promise<ToolResult> {
  let url: string, timeoutS: number;
  try {
    url = requireString(args, "url", 8192);
    timeoutS = optionalNumber(args, "timeout_s", 20, 1, 120);
  } catch (error) {
    return failure(`web_fetch: ${(error as Error).message}`);
  }
  const response = await pinnedFetch({
    method: "GET",
    url,
    headers: {
      "user-agent": USER_AGENT,
      accept: "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.8",
      "accept-encoding": "gzip, deflate, br",
    },
    timeoutMs: timeoutS * 1000,
    maxBodyBytes: ctx.limits?.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    networkHosts: ctx.networkHosts,
    paidHosts: ctx.paidHosts,
    followRedirects: true,
    signal: ctx.signal,
  }, deps);
  if (!response.ok) return failure(response.error);
  const contentType = response.headers["content-type"] ?? "";
  let text: string, rawLength: number;
  if (isBinary(contentType)) {
    rawLength = response.body.length;
    text = `[binary content (${contentType}), ${rawLength} bytes not shown]`;
  } else {
    const raw = decodeBody(contentType, response.body);
    rawLength = raw.length;
    text = isHtml(contentType, response.body)
      ? truncateText(htmlToText(raw), MAX_HTML_TEXT_CHARS).text
      : truncateText(raw, MAX_TEXT_CHARS).text;
  }
  if (response.bodyTruncated) text += `\n[body cut at ${response.body.length} bytes]`;
  const result = {
    status_code: response.status,
    text,
    content_type: contentType,
    raw_length: rawLength,
    final_url: response.url,
  };
  return statusOk(response.status)
    ? { ok: true, result, error: "" }
    : failure(`http_status_${response.status}`, result);
}
