/**
 * The host as an MCP client of a Streamable HTTP server (`mcp add NAME --url
 * URL`). The URL passes the same SSRF guard as the http tools
 * (guest/policy/ssrf.ts: http(s) only, no credentials, no local names, no
 * loopback, private, link-local or metadata address, the host resolved once)
 * and, for an agent, its host must be on the manifest's `network_hosts`.
 * Every request then goes to the address that was checked, never resolved
 * again (DNS-rebinding safe): plain HTTP through a Deno HTTP client whose
 * socket is that address, HTTPS through a one-connection-at-a-time CONNECT
 * tunnel to it (TLS stays end to end and is verified against the URL's host
 * name). Requests to any other origin are refused, redirects are not followed.
 */
// The SDK's "./*" export maps `x.js` to types at `x.js.d.ts`; see mcp_server/server.ts.
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  checkUrl,
  hostAllowed,
  normalizeHost,
  type Resolver,
  systemResolver,
  type UrlCheck,
} from "../guest/policy/ssrf.ts";
import type { McpServerEntry } from "./mcp_catalogue.ts";
import { connectClient, type McpConnection } from "./mcp_client.ts";
import { DEFAULT_LIMITS } from "./limits.ts";

/** Where an HTTP server may be reached from. */
export interface McpHttpReach {
  /**
   * The agent's `network_hosts`: the URL's host must be on it. Absent (for
   * `mcp add` and `mcp approve`, which the user runs): any public host.
   */
  networkHosts?: readonly string[];
  /** DNS resolver (tests inject one); default: the system's. */
  resolver?: Resolver;
  /** Extra CA certificates (PEM) for HTTPS servers; tests use a self-signed one. */
  caCerts?: string[];
  /**
   * Bytes (up plus down) the connection may move, like a host's egress budget
   * for programs (the manifest's `limits.egress_mb`); default: the default limit.
   */
  byteLimit?: number;
}

const MIB = 1024 * 1024;
/** The default byte budget of one connection (the default `limits.egress_mb`). */
const DEFAULT_MCP_BYTE_LIMIT: number = DEFAULT_LIMITS.egress_mb * MIB;

const HEAD_LIMIT = 8 * 1024;

/** Why `url` may not be reached under `reach`, or the checked URL with its pinned address. */
export async function checkMcpUrl(
  url: string,
  reach: Pick<McpHttpReach, "networkHosts" | "resolver"> = {},
): Promise<UrlCheck> {
  const { networkHosts } = reach;
  if (networkHosts) {
    let host = "";
    try {
      host = normalizeHost(new URL(url).hostname);
    } catch {
      return { ok: false, error: `invalid URL '${url}'` };
    }
    if (!networkHosts.length || !hostAllowed(host, networkHosts)) {
      return {
        ok: false,
        error: `host '${host}' is not in this agent's network_hosts (${
          networkHosts.join(", ") || "none"
        })`,
      };
    }
  }
  return await checkUrl(url, reach.resolver ?? systemResolver, {
    networkHosts: networkHosts ?? [],
  });
}

/** A fetch bound to one checked origin and address, and how to release it. */
export interface PinnedFetch {
  fetch: (url: string | URL, init?: RequestInit) => Promise<Response>;
  close(): void;
}

/**
 * A fetch that reaches only `check.url`'s origin, always at `check.pinned`,
 * with `headers` added to every request and redirects left unfollowed; the
 * bytes of request and response bodies together stop at `byteLimit`.
 */
export function pinnedFetch(
  check: Extract<UrlCheck, { ok: true }>,
  headers: Record<string, string> = {},
  caCerts?: string[],
  byteLimit: number = DEFAULT_MCP_BYTE_LIMIT,
): PinnedFetch {
  let used = 0;
  const size = byteLimit >= MIB
    ? `${Math.round(byteLimit / MIB * 100) / 100} MiB`
    : `${byteLimit} bytes`;
  const over = () => new Error(`byte limit of ${size} for this MCP server reached`);
  const origin = check.url.origin;
  const https = check.url.protocol === "https:";
  const tunnel = https ? startTunnel(check.host, check.port, check.pinned.address) : null;
  const client = tunnel
    ? Deno.createHttpClient({
      ...(caCerts ? { caCerts } : {}),
      proxy: {
        url: `http://127.0.0.1:${tunnel.port}`,
        basicAuth: { username: "mcp", password: tunnel.token },
      },
    })
    : Deno.createHttpClient({
      proxy: { transport: "tcp", hostname: check.pinned.address, port: check.port },
    });
  return {
    fetch: (url, init) => {
      const target = new URL(url);
      if (target.origin !== origin) {
        return Promise.reject(
          new Error(`refused: ${target.origin} is not the MCP server's origin (${origin})`),
        );
      }
      const merged = new Headers(init?.headers);
      for (const [key, value] of Object.entries(headers)) merged.set(key, value);
      // The SDK sends JSON-RPC messages as strings.
      if (typeof init?.body === "string") used += new TextEncoder().encode(init.body).length;
      if (used > byteLimit) return Promise.reject(over());
      return fetch(target, { ...init, headers: merged, redirect: "manual", client }).then(
        (response) => {
          if (!response.body) return response;
          const counted = response.body.pipeThrough(
            new TransformStream<Uint8Array, Uint8Array>({
              transform(chunk, controller) {
                used += chunk.byteLength;
                if (used > byteLimit) controller.error(over());
                else controller.enqueue(chunk);
              },
            }),
          );
          return new Response(counted, {
            status: response.status,
            statusText: response.statusText,
            headers: response.headers,
          });
        },
      );
    },
    close: () => {
      client.close();
      tunnel?.close();
    },
  };
}

/**
 * A CONNECT proxy on 127.0.0.1 that opens tunnels only to `host:port`, at
 * `address`, for requests carrying its random token. Exported for tests.
 */
export function startTunnel(host: string, port: number, address: string) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const token = crypto.randomUUID();
  const expected = `Basic ${btoa(`mcp:${token}`)}`;
  const authority = `${host.includes(":") ? `[${host}]` : host}:${port}`.toLowerCase();
  const open = new Set<Deno.Conn>();
  const serve = async (conn: Deno.Conn) => {
    open.add(conn);
    let upstream: Deno.Conn | null = null;
    try {
      const head = await readHead(conn);
      const lines = head.split("\r\n");
      const [method, target] = (lines[0] ?? "").split(" ");
      const auth = lines.find((l) => /^proxy-authorization:/i.test(l))?.replace(/^[^:]*:\s*/, "");
      if (method !== "CONNECT" || target?.toLowerCase() !== authority || auth !== expected) {
        await conn.write(new TextEncoder().encode("HTTP/1.1 403 Forbidden\r\n\r\n"));
        return;
      }
      upstream = await Deno.connect({ hostname: address, port });
      open.add(upstream);
      await conn.write(new TextEncoder().encode("HTTP/1.1 200 Connection Established\r\n\r\n"));
      await Promise.allSettled([
        conn.readable.pipeTo(upstream.writable),
        upstream.readable.pipeTo(conn.writable),
      ]);
    } catch {
      // a refused or broken tunnel fails the request that used it
    } finally {
      for (const c of [conn, upstream]) {
        if (!c) continue;
        open.delete(c);
        try {
          c.close();
        } catch {
          // already closed by its stream
        }
      }
    }
  };
  (async () => {
    try {
      for await (const conn of listener) serve(conn);
    } catch {
      // closed
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    token,
    close: () => {
      try {
        listener.close();
      } catch {
        // already closed
      }
      for (const conn of open) {
        try {
          conn.close();
        } catch {
          // already closed
        }
      }
      open.clear();
    },
  };
}

/** The request head of a CONNECT (up to the blank line), read byte-exact so nothing is lost. */
async function readHead(conn: Deno.Conn): Promise<string> {
  const buffer = new Uint8Array(HEAD_LIMIT);
  let length = 0;
  while (length < HEAD_LIMIT) {
    const n = await conn.read(buffer.subarray(length, length + 1));
    if (n === null) break;
    length += n;
    if (
      length >= 4 && buffer[length - 4] === 13 && buffer[length - 3] === 10 &&
      buffer[length - 2] === 13 && buffer[length - 1] === 10
    ) break;
  }
  return new TextDecoder().decode(buffer.subarray(0, length));
}

/**
 * Checks the entry's URL under `reach`, connects the SDK's client over
 * Streamable HTTP through a pinned fetch and lists the server's tools.
 * Throws one line naming the server when it may not or cannot be reached.
 */
export async function connectMcpHttpServer(
  entry: McpServerEntry,
  reach: McpHttpReach = {},
): Promise<McpConnection> {
  const url = entry.url ?? "";
  const check = await checkMcpUrl(url, reach);
  if (!check.ok) {
    const why = check.error.replace(/: refused$/, "");
    throw new Error(`MCP server '${entry.name}' at ${url} refused: ${why}`);
  }
  const pinned = pinnedFetch(check, entry.headers ?? {}, reach.caCerts, reach.byteLimit);
  const transport = new StreamableHTTPClientTransport(check.url, { fetch: pinned.fetch });
  return await connectClient(entry.name, transport, {
    onClose: () => pinned.close(),
    explain: () => ` (${url}, reached at ${check.pinned.address})`,
  });
}
