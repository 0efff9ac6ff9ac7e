/**
 * The dashboard as a fetch handler for the caller's own server: the same
 * security (token, Host and Origin checks) as `closed-claw web`, with the Host
 * check set to the address the caller serves on, pages and API alike under an
 * optional path prefix.
 */
import { createWebApp } from "../web/app.ts";
import type { WebDeps } from "../web/deps.ts";
import { normalizeBasePath } from "../web/base_path.ts";
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
  /**
   * The path the dashboard lives under on your server, e.g. `"/claw"`; default
   * `""` (at `/`). Every page link, asset, script URL, redirect and the cookie
   * Path use it.
   */
  basePath?: string;
}

/**
 * The dashboard ready to serve; call `close()` (or let the claw close it) when done.
 *
 * The one supported way to put it under a prefix: give the prefix as
 * `basePath` and pass each request under it to `fetch` unchanged.
 *
 * ```ts ignore
 * const dashboard = claw.webApp({ port: 8787, basePath: "/claw" });
 * site.all("/claw/*", (c) => dashboard.fetch(c.req.raw));
 * ```
 *
 * Do not use `mount()` from `hono/mount` (it strips the prefix): a request
 * that arrives without the prefix is answered with a 404 saying how to mount
 * it, never served with links that point elsewhere.
 */
export interface ClawWebApp extends Disposable {
  /** The token every request must carry (`?token=` once, then the cookie, or `Authorization: Bearer`). */
  readonly token: string;
  /** The normalised prefix (`""` or e.g. `/claw`). */
  readonly basePath: string;
  /** The path to open once in a browser: the dashboard's home with `?token=` (sets the cookie). */
  readonly loginPath: string;
  /** Answers a request whose URL still carries `basePath` (see above). */
  readonly fetch: (request: Request) => Response | Promise<Response>;
  /** Stops the live feed and cancels the runs started from this dashboard. */
  close(): void;
}

/** Builds the dashboard app on `deps`, which must already carry the coordinator. */
export function mountableWebApp(deps: WebDeps, options: ClawWebAppOptions): ClawWebApp {
  const token = options.token ?? newAccessToken();
  const basePath = normalizeBasePath(options.basePath ?? "");
  const hosts = allowedHostsFor(options.hostname ?? "127.0.0.1", options.port);
  for (const host of options.extraHosts ?? []) hosts.add(host.toLowerCase());
  const web = createWebApp(deps, { token, allowedHosts: hosts, basePath });
  return {
    token,
    basePath,
    loginPath: `${basePath}/?token=${token}`,
    fetch: (request) => web.app.fetch(request),
    close: () => web.close(),
    [Symbol.dispose]: () => web.close(),
  };
}
