/**
 * An HTTP client that connects only to addresses the SSRF guard checked.
 *
 * Every hop (the first request and each redirect) runs `checkUrl`, which
 * resolves the host once and refuses non-public addresses; the request is
 * then sent with `node:http`/`node:https` and a `lookup` function that returns
 * that checked address, so nothing resolves the name a second time (DNS
 * rebinding cannot swap the address). TLS still verifies the certificate
 * against the URL's host name (SNI `servername`), with `rejectUnauthorized`.
 *
 * Deno checks `--allow-net` against the address actually dialled (`ip:port`),
 * and the DNS lookup against the host name. Guest-safe.
 */
import type http from "node:http";
import type https from "node:https";
import type { Readable } from "node:stream";
import type zlib from "node:zlib";
import {
  checkUrl,
  parseIp,
  type ResolvedAddress,
  type Resolver,
  systemResolver,
} from "../policy/ssrf.ts";
import { firstLine } from "./errors.ts";
import { paidProviderFor } from "../policy/paid_api.ts";

/** Redirects followed before giving up. */
export const MAX_REDIRECTS = 5;
/** Default cap on a (decompressed) response body. */
export const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024;

/** One request through the guard. */
export interface PinnedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  /** Deadline for the whole exchange, redirects included. */
  timeoutMs: number;
  maxBodyBytes: number;
  networkHosts: readonly string[];
  /** Follow 3xx responses (re-checking every hop); otherwise return them. */
  followRedirects: boolean;
  /**
   * Paid-API providers: the host approved the first hop only, so a redirect
   * to another paid host is refused rather than reached without approval.
   */
  paidHosts?: readonly string[];
  signal?: AbortSignal;
}

/**
 * Seams for tests; production code passes none. `connectTo` maps the checked
 * address to the one dialled (tests point it at a local server), `ca` adds
 * trusted roots (a test certificate).
 */
export interface PinnedDeps {
  resolver?: Resolver;
  connectTo?: (pinned: ResolvedAddress, port: number) => ResolvedAddress & { port: number };
  ca?: string[];
}

/** A response, or one line saying why there is none. */
export type PinnedResponse =
  | {
    ok: true;
    status: number;
    headers: Record<string, string>;
    body: Uint8Array;
    bodyTruncated: boolean;
    /** The URL that produced this response (after redirects). */
    url: string;
    redirects: string[];
  }
  | { ok: false; error: string };

type Hop = {
  ok: true;
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
  bodyTruncated: boolean;
} | {
  ok: false;
  error: string;
};

/** The node modules a request needs. */
interface NodeNet {
  http: typeof http;
  https: typeof https;
  zlib: typeof zlib;
}
let nodeNet: Promise<NodeNet> | undefined;

/**
 * Loads node:http, node:https and node:zlib on the first request (or when
 * guest/main.ts asks ahead, while the model answers), not when the capsule
 * starts: they would add ~20 ms to every capsule's start, and most capsules
 * never make a request.
 */
export function loadNodeNet(): Promise<NodeNet> {
  nodeNet ??= Promise.all([import("node:http"), import("node:https"), import("node:zlib")])
    .then(([h, s, z]) => ({ http: h.default, https: s.default, zlib: z.default }));
  return nodeNet;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Headers a redirect to another origin must not carry. */
const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization"];

function flatHeaders(raw: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return out;
}

function describeNetError(error: unknown, host: string, where: string): string {
  const code = (error as { code?: string })?.code ?? "";
  const message = firstLine(error);
  if (error instanceof Deno.errors.NotCapable) {
    return `request to ${host} (${where}) blocked by the capsule's Deno permissions: ${message}`;
  }
  if (code === "ECONNREFUSED") return `connection to ${host} (${where}) refused`;
  if (code === "ECONNRESET") return `connection to ${host} (${where}) was reset`;
  if (code === "ETIMEDOUT") return `connection to ${host} (${where}) timed out`;
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return `${host} (${where}) is unreachable`;
  if (/certificate|altname|self[- ]signed|CERT_|unable to verify/i.test(`${code} ${message}`)) {
    return `TLS certificate verification failed for ${host}: ${message}`;
  }
  return `request to ${host} (${where}) failed: ${message}`;
}

function addressWithPort(address: ResolvedAddress, port: number): string {
  return address.family === 6 ? `[${address.address}]:${port}` : `${address.address}:${port}`;
}

function permitted(where: string): boolean {
  try {
    return Deno.permissions.querySync({ name: "net", host: where }).state === "granted";
  } catch {
    return false;
  }
}

type CheckedUrl = Extract<Awaited<ReturnType<typeof checkUrl>>, { ok: true }>;
type Target = ResolvedAddress & { port: number };

/** The address to dial for a checked URL. */
function dialTarget(check: CheckedUrl, deps: PinnedDeps): Target {
  // With exact network_hosts, Deno allows only the addresses resolved at launch: when
  // DNS now answers differently, dial a checked address that is still among them.
  const pinned =
    [check.pinned, ...check.addresses].find((a) => permitted(addressWithPort(a, check.port))) ??
      check.pinned;
  return deps.connectTo ? deps.connectTo(pinned, check.port) : { ...pinned, port: check.port };
}

/** The pinned lookup: whatever name node asks for, answer the checked address. */
function pinnedLookup(target: Target, fail: (error: unknown) => void) {
  return (
    _hostname: string,
    lookupOptions: { all?: boolean } | number | undefined,
    callback: (...args: unknown[]) => void,
  ) => {
    try {
      const all = typeof lookupOptions === "object" && lookupOptions?.all;
      if (all) callback(null, [{ address: target.address, family: target.family }]);
      else callback(null, target.address, target.family);
    } catch (error) {
      fail(error);
    }
  };
}

/** node:http(s) options that connect to `target` while naming the URL's host. */
function requestOptions(
  check: CheckedUrl,
  target: Target,
  method: string,
  headers: Record<string, string>,
  fail: (error: unknown) => void,
  deps: PinnedDeps,
): https.RequestOptions {
  const isLiteral = parseIp(check.host) !== null;
  const secure = check.url.protocol === "https:";
  return {
    method,
    host: isLiteral ? target.address : check.host,
    port: target.port,
    path: `${check.url.pathname}${check.url.search}`,
    headers: { ...headers, host: check.url.host },
    lookup: pinnedLookup(target, fail) as unknown as http.RequestOptions["lookup"],
    agent: false, // no pooling: a pooled socket could belong to another address
    ...(secure
      ? { servername: isLiteral ? undefined : check.host, rejectUnauthorized: true, ca: deps.ca }
      : {}),
  };
}

/** Where a response's body goes: the exchange's own finish/fail and its cap. */
interface BodySink {
  maxBodyBytes: number;
  settled: () => boolean;
  finish: (hop: Hop) => void;
  fail: (error: unknown) => void;
}

/** Decodes (gzip, deflate, br) and collects a response body up to the cap. */
function collectBody(response: http.IncomingMessage, sink: BodySink, z: typeof zlib): void {
  const status = response.statusCode ?? 0;
  const responseHeaders = flatHeaders(response.headers);
  let stream: Readable = response;
  const encoding = (responseHeaders["content-encoding"] ?? "").trim().toLowerCase();
  if (encoding === "gzip" || encoding === "x-gzip") {
    stream = response.pipe(z.createGunzip());
  } else if (encoding === "deflate") stream = response.pipe(z.createInflate());
  else if (encoding === "br") stream = response.pipe(z.createBrotliDecompress());
  if (stream !== response) {
    response.on("error", sink.fail);
    // The body we return is decoded, so its encoding headers no longer apply.
    delete responseHeaders["content-encoding"];
    delete responseHeaders["content-length"];
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const done = (bodyTruncated: boolean) => {
    const bodyBytes = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      bodyBytes.set(chunk, offset);
      offset += chunk.length;
    }
    sink.finish({ ok: true, status, headers: responseHeaders, body: bodyBytes, bodyTruncated });
  };
  stream.on("data", (chunk: Uint8Array) => {
    if (sink.settled()) return;
    const room = sink.maxBodyBytes - size;
    if (chunk.length > room) {
      // Stop reading at the cap (also bounds decompression bombs).
      chunks.push(chunk.subarray(0, room));
      size += room;
      done(true);
      stream.destroy();
      return;
    }
    chunks.push(chunk);
    size += chunk.length;
  });
  stream.on("end", () => done(false));
  stream.on("error", sink.fail);
}

/** Sends one request to the checked address; never follows redirects. */
async function requestOnce(
  check: CheckedUrl,
  method: string,
  headers: Record<string, string>,
  body: Uint8Array | undefined,
  options: { deadline: number; maxBodyBytes: number; readBody: boolean; signal?: AbortSignal },
  deps: PinnedDeps,
): Promise<Hop> {
  const target = dialTarget(check, deps);
  const where = addressWithPort(target, target.port);
  // Deno throws NotCapable from inside node:net asynchronously, where no
  // 'error' handler sees it; ask first so a refusal is an answer, not a crash.
  if (!permitted(where)) {
    return {
      ok: false,
      error:
        `network access to ${check.host} (${where}) is not permitted by the capsule's Deno permissions`,
    };
  }
  const net = await loadNodeNet();
  if (options.signal?.aborted) return { ok: false, error: "request cancelled" };
  return new Promise<Hop>((resolve) => {
    let settled = false;
    let request: http.ClientRequest | undefined;
    const finish = (hop: Hop) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      request?.destroy();
      resolve(hop);
    };
    const fail = (error: unknown) =>
      finish({ ok: false, error: describeNetError(error, check.host, where) });
    const remaining = Math.max(1, options.deadline - Date.now());
    const timer = setTimeout(
      () => finish({ ok: false, error: `request to ${check.host} timed out` }),
      remaining,
    );
    const onAbort = () => finish({ ok: false, error: "request cancelled" });
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const sink = { maxBodyBytes: options.maxBodyBytes, settled: () => settled, finish, fail };
    const secure = check.url.protocol === "https:";
    try {
      const opts = requestOptions(check, target, method, headers, fail, deps);
      request = (secure ? net.https : net.http).request(opts, (response) => {
        if (options.readBody) return collectBody(response, sink, net.zlib);
        const status = response.statusCode ?? 0;
        const responseHeaders = flatHeaders(response.headers);
        response.destroy();
        const empty = new Uint8Array();
        finish({ ok: true, status, headers: responseHeaders, body: empty, bodyTruncated: false });
      });
      request.on("error", fail);
      if (body) request.write(body);
      request.end();
    } catch (error) {
      fail(error);
    }
  });
}

/**
 * Sends a request through the SSRF guard, following redirects when asked.
 *
 * @example
 * ```ts
 * const res = await pinnedFetch({
 *   method: "GET", url: "https://example.com/", headers: {}, timeoutMs: 20_000,
 *   maxBodyBytes: 1 << 20, networkHosts: [], followRedirects: true,
 * });
 * ```
 */
export async function pinnedFetch(
  request: PinnedRequest,
  deps: PinnedDeps = {},
): Promise<PinnedResponse> {
  const resolver = deps.resolver ?? systemResolver;
  const deadline = Date.now() + request.timeoutMs;
  const redirects: string[] = [];
  let url = request.url;
  let method = request.method.toUpperCase();
  let body = request.body;
  let headers = { ...request.headers };
  let firstHost = "";
  for (let hop = 0;; hop++) {
    if (request.signal?.aborted) return { ok: false, error: "request cancelled" };
    const remaining = deadline - Date.now();
    if (remaining <= 0) return { ok: false, error: "request timed out" };
    const check = await checkUrl(url, resolver, {
      networkHosts: request.networkHosts,
      dnsTimeoutMs: remaining,
    });
    if (!check.ok) {
      return {
        ok: false,
        error: hop === 0 ? check.error : `redirect to ${url} refused: ${check.error}`,
      };
    }
    if (hop === 0) firstHost = check.host;
    else if (check.host !== firstHost && paidProviderFor(check.host, request.paidHosts ?? [])) {
      return {
        ok: false,
        error:
          `redirect to ${url} refused: '${check.host}' is a paid API host and needs its own approved call`,
      };
    }
    const follow = request.followRedirects;
    const reply = await requestOnce(check, method, headers, body, {
      deadline,
      maxBodyBytes: request.maxBodyBytes,
      readBody: method !== "HEAD",
      signal: request.signal,
    }, deps);
    if (!reply.ok) return reply;
    const location = reply.headers["location"];
    if (!follow || !REDIRECTS.has(reply.status) || !location) {
      return { ...reply, url, redirects };
    }
    if (hop >= MAX_REDIRECTS) {
      return { ok: false, error: `too many redirects (more than ${MAX_REDIRECTS})` };
    }
    let next: URL;
    try {
      next = new URL(location, check.url);
    } catch {
      return { ok: false, error: `redirect to an invalid URL '${location}'` };
    }
    if (next.origin !== check.url.origin) {
      headers = Object.fromEntries(
        Object.entries(headers).filter(([name]) =>
          !CREDENTIAL_HEADERS.includes(name.toLowerCase())
        ),
      );
    }
    if (
      reply.status === 303 || ((reply.status === 301 || reply.status === 302) && method === "POST")
    ) {
      method = method === "HEAD" ? "HEAD" : "GET";
      body = undefined;
      headers = Object.fromEntries(
        Object.entries(headers).filter(([name]) => name.toLowerCase() !== "content-type"),
      );
    }
    url = next.toString();
    redirects.push(url);
  }
}
