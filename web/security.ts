/**
 * The dashboard's front door: Host check (DNS rebinding), access token
 * (printed URL, then an HttpOnly SameSite=Strict cookie, or a Bearer header
 * for scripts), Origin check on every state-changing request (CSRF), and
 * JSON-only bodies.
 */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";

/**
 * The token cookie's name for a `host[:port]`. Browsers share cookies between
 * the ports of one host, so each port gets its own name: two dashboards on one
 * machine must not overwrite each other's login.
 */
export function tokenCookieName(host: string): string {
  return `closed_claw_token_${/:(\d+)$/.exec(host)?.[1] ?? "80"}`;
}

export interface SecurityOptions {
  /** The access token every request must carry. */
  token: string;
  /** `host:port` values a request's Host header may carry. */
  allowedHosts: ReadonlySet<string>;
  /**
   * The path the browser sees the dashboard under (e.g. `/claw`; `""` for `/`).
   * The routes see paths with it already removed; the cookie and the login
   * redirect need it back.
   */
  basePath?: string;
}

/** A fresh random access token (256 bits, hex). */
export function newAccessToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** True for 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "");
  return bare === "localhost" || bare === "::1" || /^127(\.\d{1,3}){3}$/.test(bare);
}

/**
 * The Host header values a server bound to `hostname:port` answers to. A
 * wildcard bind (`0.0.0.0`, `::`) answers to loopback names and to
 * `interfaceAddresses`, this machine's own addresses.
 */
export function allowedHostsFor(
  hostname: string,
  port: number,
  interfaceAddresses: string[] = [],
): Set<string> {
  const names = new Set([hostname]);
  if (hostname === "0.0.0.0" || hostname === "::") interfaceAddresses.forEach((a) => names.add(a));
  if (isLoopbackHost(hostname) || hostname === "0.0.0.0" || hostname === "::") {
    names.add("127.0.0.1").add("localhost").add("[::1]");
  }
  const hosts = new Set<string>();
  for (const name of names) {
    const bracketed = name.includes(":") && !name.startsWith("[") ? `[${name}]` : name;
    hosts.add(`${bracketed}:${port}`);
    if (port === 80) hosts.add(bracketed);
  }
  return hosts;
}

/** Constant-time string comparison, so the token cannot be guessed byte by byte. */
function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function deny(c: Context, status: 401 | 403 | 415 | 421, code: string, error: string) {
  const wantsHtml = !c.req.path.startsWith("/api/") &&
    (c.req.header("accept") ?? "").includes("text/html");
  if (wantsHtml) {
    return c.html(
      `<!doctype html><meta charset="utf-8"><title>Closed Claw</title><p>${error}</p>`,
      status,
    );
  }
  return c.json({ error, code }, status);
}

/** The security middleware; mount it before every route. */
export function securityMiddleware(options: SecurityOptions): MiddlewareHandler {
  const base = options.basePath ?? "";
  return async (c, next) => {
    const host = (c.req.header("host") ?? "").toLowerCase();
    if (!options.allowedHosts.has(host)) {
      return deny(
        c,
        421,
        "bad_host",
        "Unknown Host header: open the dashboard by its printed URL.",
      );
    }

    const url = new URL(c.req.url);
    const queryToken = url.searchParams.get("token");
    const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
    const cookieName = tokenCookieName(host);
    const cookie = getCookie(c, cookieName);

    if (queryToken !== null && SAFE_METHODS.has(c.req.method)) {
      if (!sameSecret(queryToken, options.token)) {
        return deny(c, 401, "bad_token", "Wrong access token: use the URL the server printed.");
      }
      // Trade the token in the URL for a cookie, and drop it from the address bar and history.
      setCookie(c, cookieName, options.token, {
        httpOnly: true,
        sameSite: "Strict",
        path: base || "/",
      });
      url.searchParams.delete("token");
      // One leading slash: `//evil.example/` would be a protocol-relative redirect off the site.
      return c.redirect(base + url.pathname.replace(/^\/+/, "/") + url.search, 303);
    }

    const viaCookie = cookie !== undefined && sameSecret(cookie, options.token);
    const viaBearer = bearer !== undefined && sameSecret(bearer, options.token);
    if (!viaCookie && !viaBearer) {
      return deny(
        c,
        401,
        "auth_required",
        "Access token required: open the URL printed by `closed-claw web`.",
      );
    }

    if (!SAFE_METHODS.has(c.req.method)) {
      const origin = c.req.header("origin");
      const site = c.req.header("sec-fetch-site");
      const ownOrigin = `${url.protocol}//${host}`;
      if (origin !== undefined && origin !== ownOrigin) {
        return deny(c, 403, "bad_origin", "Cross-origin request refused.");
      }
      if (site !== undefined && site !== "same-origin" && site !== "none") {
        return deny(c, 403, "bad_origin", "Cross-site request refused.");
      }
      // A cookie alone proves nothing about who sent the request: require a same-origin marker.
      if (!viaBearer && origin === undefined && site === undefined) {
        return deny(c, 403, "bad_origin", "Request without an Origin header refused.");
      }
      const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
      if (c.req.path.startsWith("/api/") && type !== "application/json") {
        return deny(c, 415, "json_required", "Send the request body as application/json.");
      }
    }
    await next();
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "no-referrer");
    c.header("X-Frame-Options", "DENY");
    if ((c.res.headers.get("content-type") ?? "").startsWith("text/html")) {
      c.header(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
          "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
      );
    }
  };
}
