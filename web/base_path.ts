/**
 * Serving the dashboard under a path prefix such as `/claw`. The routes are
 * written for `/`; the prefix is removed here, in one place, before security
 * and routing see the request, so every check (`/api/` is JSON-only, ids, …)
 * reads the same path whatever the prefix.
 */
import { Hono } from "hono";
import { ClosedClawError } from "../core/errors.ts";

const SEGMENT = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$/;

/**
 * `""` (served at `/`) or `/a/b` without a trailing slash. Refuses anything
 * that is not plain path segments, since the prefix goes into links, a cookie
 * Path and redirects.
 *
 * @example
 * ```ts
 * normalizeBasePath("claw/"); // "/claw"
 * normalizeBasePath("/"); // ""
 * ```
 */
export function normalizeBasePath(input: string): string {
  const segments = input.split("/").filter((s) => s !== "");
  if (!segments.every((s) => SEGMENT.test(s) && s !== "." && s !== "..")) {
    throw new ClosedClawError(
      "bad_base_path",
      `Invalid dashboard base path: ${input.slice(0, 80)}`,
      {
        hint: 'Use plain path segments, e.g. "/claw" (letters, digits, "-", "_", ".", "~").',
      },
    );
  }
  return segments.length ? `/${segments.join("/")}` : "";
}

/**
 * Wraps `inner` (routes at `/`) so it answers under `base`. A request outside
 * `base`, such as one whose prefix a mount helper already stripped, gets a 404
 * that says how to mount the dashboard, never a page with broken links.
 */
export function underBasePath(base: string, inner: Hono): Hono {
  if (base === "") return inner;
  const outer = new Hono();
  outer.all("*", (c) => {
    const url = new URL(c.req.url);
    if (url.pathname !== base && !url.pathname.startsWith(`${base}/`)) {
      return c.json({
        error: `The dashboard is served under ${base}: pass each request to it unchanged, ` +
          `e.g. site.all("${base}/*", (c) => dashboard.fetch(c.req.raw)).`,
        code: "outside_base_path",
      }, 404);
    }
    url.pathname = url.pathname.slice(base.length) || "/";
    return inner.fetch(withUrl(c.req.raw, url), c.env);
  });
  return outer;
}

/**
 * `request` at another URL. Built field by field: `new Request(url, request)`
 * would read `request.signal`, which makes Deno.serve print a legacy-abort
 * notice on the user's console.
 */
function withUrl(request: Request, url: URL): Request {
  const body = request.body;
  return new Request(url, {
    method: request.method,
    headers: request.headers,
    redirect: request.redirect,
    ...(body ? { body, duplex: "half" as const } : {}),
  });
}
