/** Starts the dashboard on Deno.serve. */
import { closeWorkerConnections } from "./views/workers_view.ts";
import type { WebDeps } from "./deps.ts";
import { createWebApp } from "./app.ts";
import { allowedHostsFor, isLoopbackHost, newAccessToken } from "./security.ts";
import { ensureDataDirs } from "../core/settings.ts";
import { ClosedClawError } from "../core/errors.ts";

export interface WebServerOptions {
  hostname?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Default: a fresh random token. */
  token?: string;
  keepAliveMs?: number;
  signal?: AbortSignal;
}

/** A running dashboard server. */
export interface WebServer {
  /** The base URL, e.g. `http://127.0.0.1:7860`. */
  url: string;
  /** The URL to open once: it carries the token and sets the cookie. */
  loginUrl: string;
  /** The access token (`Authorization: Bearer <token>` for scripts). */
  token: string;
  /** The bound port (useful after asking for port 0). */
  port: number;
  /** Whether it is bound to a loopback address only. */
  loopback: boolean;
  /** Settles when the server has stopped. */
  finished: Promise<void>;
  /** Stops the live feed, cancels the runs it started and closes the server. */
  shutdown(): Promise<void>;
}

/** This machine's interface addresses; empty without --allow-sys. */
function localAddresses(): string[] {
  try {
    return Deno.networkInterfaces().map((i) => i.address);
  } catch {
    return [];
  }
}

/** `Deno.serve`, with a clear error when the address cannot be bound. */
function listen(
  hostname: string,
  port: number,
  signal: AbortSignal | undefined,
  handler: Deno.ServeHandler<Deno.NetAddr>,
): Deno.HttpServer<Deno.NetAddr> {
  try {
    return Deno.serve({ hostname, port, signal, onListen: () => {} }, handler);
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new ClosedClawError("port_in_use", `Port ${port} on ${hostname} is already in use.`, {
        hint: "Stop the other server, or pass another --port (0 picks a free one).",
        cause: error,
      });
    }
    if (error instanceof Deno.errors.AddrNotAvailable) {
      throw new ClosedClawError("bad_host", `${hostname} is not an address of this machine.`, {
        hint: "Pass --host 127.0.0.1, or an address this machine has.",
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * Serves the dashboard.
 *
 * @example
 * ```ts
 * const server = startWebServer({ settings, store, coordinator: null }, { port: 0 });
 * console.log(server.loginUrl);
 * await server.shutdown();
 * ```
 */
export function startWebServer(deps: WebDeps, options: WebServerOptions = {}): WebServer {
  const hostname = options.hostname ?? "127.0.0.1";
  const token = options.token ?? newAccessToken();
  ensureDataDirs(deps.settings);
  // The app needs the bound port (for the Host check), so it is built right after listening.
  const ref: { web?: ReturnType<typeof createWebApp> } = {};
  const server = listen(
    hostname,
    options.port ?? 7860,
    options.signal,
    (request, info) => ref.web!.app.fetch(request, info),
  );
  const port = server.addr.port;
  let web: ReturnType<typeof createWebApp>;
  try {
    web = ref.web = createWebApp(deps, {
      token,
      allowedHosts: allowedHostsFor(hostname, port, localAddresses()),
      keepAliveMs: options.keepAliveMs,
    });
  } catch (error) {
    // Nothing will ever answer on this port: give it back instead of leaving it bound.
    server.shutdown().catch(() => {});
    throw error;
  }
  const shownHost = hostname === "0.0.0.0" || hostname === "::"
    ? "127.0.0.1"
    : hostname.includes(":")
    ? `[${hostname}]`
    : hostname;
  const url = `http://${shownHost}:${port}`;
  // Close the live streams as soon as shutdown starts: the server waits for open responses.
  options.signal?.addEventListener("abort", () => web.close(), { once: true });
  const finished = server.finished.finally(() => web.close());
  return {
    url,
    loginUrl: `${url}/?token=${token}`,
    token,
    port,
    loopback: isLoopbackHost(hostname),
    finished,
    async shutdown() {
      web.close();
      await server.shutdown();
      await closeWorkerConnections();
    },
  };
}
