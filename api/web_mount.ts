/**
 * The dashboard as a Hono app for the caller's own server: the same security
 * (token, Host and Origin checks) as `closed-claw web`, with the Host check
 * set to the address the caller serves on.
 */
import { createWebApp } from "../web/app.ts";
import type { WebDeps } from "../web/deps.ts";
import { allowedHostsFor, newAccessToken } from "../web/security.ts";

/** Options of `claw.webApp()`. */
export interface ClawWebAppOptions {
  /** The port your server listens on; requests must carry it in their Host header. */
  port: number;
  /** The address your server binds; default `127.0.0.1` (also accepts `localhost`). */
  hostname?: string;
  /** The access token; default: a fresh random one (read it from the result). */
  token?: string;
  /** Extra `host:port` values to accept, e.g. the name of a reverse proxy. */
  extraHosts?: string[];
}

/** The dashboard ready to mount; call `close()` (or let the claw close it) when done. */
export interface ClawWebApp extends Disposable {
  /** The token every request must carry (`?token=` once, then the cookie, or `Authorization: Bearer`). */
  readonly token: string;
  /**
   * The dashboard's Web-standard handler, for `mount()` from `hono/mount` or
   * `Deno.serve`. Mount it with `mount()` (which strips the prefix) rather than
   * `app.route()`: the dashboard checks paths such as `/api/...` as it sees them.
   */
  readonly fetch: (request: Request) => Response | Promise<Response>;
  /** Stops the live feed and cancels the runs started from this dashboard. */
  close(): void;
}

/** Builds the dashboard app on `deps`, which must already carry the coordinator. */
export function mountableWebApp(deps: WebDeps, options: ClawWebAppOptions): ClawWebApp {
  const token = options.token ?? newAccessToken();
  const hosts = allowedHostsFor(options.hostname ?? "127.0.0.1", options.port);
  for (const host of options.extraHosts ?? []) hosts.add(host.toLowerCase());
  const web = createWebApp(deps, { token, allowedHosts: hosts });
  return {
    token,
    fetch: (request) => web.app.fetch(request),
    close: () => web.close(),
    [Symbol.dispose]: () => web.close(),
  };
}
