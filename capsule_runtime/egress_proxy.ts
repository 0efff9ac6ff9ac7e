/**
 * The egress proxy: the only way out for programs of `terminal` and
 * `python_exec`. Programs run in a sandbox with a network namespace of its
 * own (no route out); the host listens on a Unix socket that is bound into
 * the sandbox, and a tiny in-sandbox bridge (egress_bridge.ts) forwards
 * 127.0.0.1:3128 there. The proxy speaks HTTP CONNECT (TLS is tunnelled,
 * never intercepted) and plain-HTTP forwarding, decides every connection
 * with `EgressPolicy` (egress_policy.ts), connects to the address it checked,
 * counts bytes per host and reports each connection as an `egress` event.
 */
import { join } from "node:path";
import { EgressPolicy, type EgressPolicyOptions, parseAuthority } from "./egress_policy.ts";
import { roundMs } from "./_format.ts";

/** One connection a program opened (or tried to), as the run log and audit record it. */
export interface EgressRecord {
  /** `CONNECT` for a tunnel, else the HTTP method of a forwarded request. */
  method: string;
  host: string;
  port: number;
  allowed: boolean;
  /** Why it was allowed or refused, or why it was cut off. */
  reason: string;
  /** The checked address the proxy connected to ("" when refused). */
  address: string;
  bytes_up: number;
  bytes_down: number;
  ms: number;
}

/** Options of `EgressProxy.start`. */
export interface EgressProxyOptions extends EgressPolicyOptions {
  /** Told about every connection once it is refused or over. */
  onConnection(record: EgressRecord): void;
  /** Most connections open at once (default 64). */
  maxConnections?: number;
}

const HEAD_LIMIT = 16 * 1024;
const HEAD_TIMEOUT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 10_000;
const CHUNK = 64 * 1024;
const enc = new TextEncoder();

/** The parsed first part of a request from a program. */
type Target =
  | { kind: "connect"; host: string; port: number; method: "CONNECT" }
  | { kind: "forward"; host: string; port: number; method: string; head: Uint8Array }
  | { kind: "bad"; reason: string };

/** A running proxy; `close()` stops it and removes its socket. */
export class EgressProxy {
  readonly policy: EgressPolicy;
  private readonly open = new Set<Deno.Conn>();
  private closed = false;

  private constructor(
    readonly socketPath: string,
    private readonly dir: string,
    private readonly listener: Deno.Listener,
    private readonly options: EgressProxyOptions,
  ) {
    this.policy = new EgressPolicy(options);
  }

  /** Starts a proxy on a fresh Unix socket in a private temporary folder. */
  static async start(options: EgressProxyOptions): Promise<EgressProxy> {
    const dir = await Deno.makeTempDir({ prefix: "claw-egress-" });
    await Deno.chmod(dir, 0o700);
    const socketPath = join(dir, "egress.sock");
    const listener = Deno.listen({ transport: "unix", path: socketPath });
    const proxy = new EgressProxy(socketPath, dir, listener, options);
    proxy.accept();
    return proxy;
  }

  private async accept(): Promise<void> {
    try {
      for await (const conn of this.listener) {
        if (this.open.size >= (this.options.maxConnections ?? 64)) {
          await reply(conn, 503, "too many connections at once").catch(() => {});
          conn.close();
          continue;
        }
        this.open.add(conn);
        this.handle(conn).catch(() => {}).finally(() => {
          this.open.delete(conn);
          closeQuietly(conn);
        });
      }
    } catch {
      // the listener was closed
    }
  }

  /** Stops listening, ends every open connection and removes the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    closeQuietly(this.listener);
    for (const conn of this.open) closeQuietly(conn);
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  /** One program connection: read its request, decide, then tunnel or forward. */
  private async handle(client: Deno.Conn): Promise<void> {
    const t0 = performance.now();
    const head = await readHead(client);
    if (!head) return;
    const target = parseTarget(head.head);
    if (target.kind === "bad") {
      await reply(client, 400, target.reason);
      return this.report(
        { method: "?", host: "", port: 0, allowed: false, reason: target.reason },
        t0,
      );
    }
    const { host, port, method } = target;
    const endpoint = target.kind === "connect"
      ? `CONNECT ${host}:${port}`
      : `${method} http://${host}`;
    const verdict = await this.policy.decide(host, port, endpoint);
    const base = { method, host: verdict.host, port };
    if (!verdict.allowed) {
      await reply(client, 403, `refused by the Closed Claw egress proxy: ${verdict.reason}`);
      return this.report({ ...base, allowed: false, reason: verdict.reason }, t0);
    }
    let upstream: Deno.TcpConn;
    try {
      upstream = await connectWithin(verdict.address, port, CONNECT_TIMEOUT_MS);
    } catch (error) {
      const reason = `could not connect to ${verdict.address}:${port}: ${errorLine(error)}`;
      await reply(client, 502, reason);
      return this.report({ ...base, allowed: true, reason, address: verdict.address }, t0);
    }
    this.open.add(upstream);
    try {
      const counts = { up: 0, down: 0, cut: false };
      const budget = (n: number) => {
        if (!this.policy.count(verdict.host, n)) counts.cut = true;
        return !counts.cut;
      };
      if (target.kind === "connect") {
        await client.write(enc.encode("HTTP/1.1 200 Connection established\r\n\r\n"));
      }
      const first = target.kind === "forward" ? concat(target.head, head.rest) : head.rest;
      await tunnel(client, upstream, first, counts, budget);
      const reason = counts.cut
        ? `${this.policy.limitReason()}: connection cut off`
        : verdict.reason;
      this.report({
        ...base,
        allowed: true,
        reason,
        address: verdict.address,
        bytes_up: counts.up,
        bytes_down: counts.down,
      }, t0);
    } finally {
      this.open.delete(upstream);
      closeQuietly(upstream);
    }
  }

  private report(record: Partial<EgressRecord> & { allowed: boolean; reason: string }, t0: number) {
    try {
      this.options.onConnection({
        method: "?",
        host: "",
        port: 0,
        address: "",
        bytes_up: 0,
        bytes_down: 0,
        ...record,
        ms: roundMs(performance.now() - t0),
      });
    } catch {
      // a failing listener never breaks the proxy
    }
  }
}

/** Reads the request head (up to the blank line); `null` when the client gave up. */
async function readHead(conn: Deno.Conn): Promise<{ head: string; rest: Uint8Array } | null> {
  const buf = new Uint8Array(HEAD_LIMIT);
  let len = 0;
  const timer = setTimeout(() => closeQuietly(conn), HEAD_TIMEOUT_MS);
  try {
    while (len < HEAD_LIMIT) {
      const n = await conn.read(buf.subarray(len));
      if (n === null) return null;
      len += n;
      const end = indexOfBlankLine(buf, len);
      if (end >= 0) {
        const head = new TextDecoder().decode(buf.subarray(0, end));
        return { head, rest: buf.slice(end + 4, len) };
      }
    }
    await reply(conn, 431, "request head too large");
    return null;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

function indexOfBlankLine(buf: Uint8Array, len: number): number {
  for (let i = 0; i + 3 < len; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

/** Request hop-by-hop and proxy headers that never go upstream. */
const DROPPED = /^(proxy-[a-z-]*|connection|keep-alive|host|te|upgrade)$/i;

/**
 * The target of a request head: a CONNECT tunnel, or an absolute-form plain
 * HTTP request rewritten for the origin (origin-form, its own Host header,
 * `Connection: close`, no proxy headers).
 */
export function parseTarget(head: string): Target {
  const [requestLine, ...lines] = head.split("\r\n");
  const parts = requestLine.split(" ");
  if (parts.length !== 3 || !/^HTTP\/1\.[01]$/.test(parts[2])) {
    return { kind: "bad", reason: "not an HTTP/1 proxy request" };
  }
  const [method, target, version] = parts;
  if (!/^[A-Z]{1,20}$/.test(method)) return { kind: "bad", reason: "bad method" };
  if (method === "CONNECT") {
    const authority = parseAuthority(target);
    if (!authority) return { kind: "bad", reason: `bad CONNECT target '${target.slice(0, 100)}'` };
    return { kind: "connect", method, ...authority };
  }
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return { kind: "bad", reason: "a proxied request needs an absolute http:// URL" };
  }
  if (url.protocol !== "http:") {
    return {
      kind: "bad",
      reason: `scheme '${url.protocol}' is not proxied (use CONNECT for https)`,
    };
  }
  if (url.username || url.password) return { kind: "bad", reason: "credentials in the URL" };
  const port = url.port ? Number(url.port) : 80;
  const kept = lines.filter((line) => {
    const name = line.slice(0, line.indexOf(":")).trim();
    return line.includes(":") && !DROPPED.test(name);
  });
  const rewritten = [
    `${method} ${url.pathname}${url.search} ${version}`,
    `Host: ${url.host}`,
    ...kept,
    "Connection: close",
    "",
    "",
  ].join("\r\n");
  return { kind: "forward", method, host: url.hostname, port, head: enc.encode(rewritten) };
}

/** Copies both ways until both sides are done (or the budget is spent), counting bytes. */
async function tunnel(
  client: Deno.Conn,
  upstream: Deno.TcpConn,
  first: Uint8Array,
  counts: { up: number; down: number; cut: boolean },
  budget: (n: number) => boolean,
): Promise<void> {
  const stop = () => {
    closeQuietly(client);
    closeQuietly(upstream);
  };
  const pump = async (from: Deno.Conn, to: Deno.Conn, key: "up" | "down", pre?: Uint8Array) => {
    try {
      if (pre?.length) {
        counts[key] += pre.length;
        if (!budget(pre.length)) return stop();
        await writeAll(to, pre);
      }
      const buf = new Uint8Array(CHUNK);
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        counts[key] += n;
        if (!budget(n)) return stop();
        await writeAll(to, buf.subarray(0, n));
      }
      await to.closeWrite().catch(() => stop());
    } catch {
      stop();
    }
  };
  // When the origin is done the answer is complete: the client's side ends too.
  const down = pump(upstream, client, "down").then(stop);
  await Promise.all([pump(client, upstream, "up", first), down]);
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
}

async function reply(conn: Deno.Conn, status: number, text: string): Promise<void> {
  const body = enc.encode(`${text}\n`);
  const head = `HTTP/1.1 ${status} ${STATUS[status] ?? "Error"}\r\nContent-Type: text/plain\r\n` +
    `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  await writeAll(conn, concat(enc.encode(head), body)).catch(() => {});
}

const STATUS: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  431: "Request Header Fields Too Large",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

async function connectWithin(hostname: string, port: number, ms: number): Promise<Deno.TcpConn> {
  const signal = AbortSignal.timeout(ms);
  return await Deno.connect({ hostname, port, transport: "tcp", signal });
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function errorLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0].slice(0, 200);
}

function closeQuietly(closer: { close(): void }): void {
  try {
    closer.close();
  } catch {
    // already closed
  }
}
