/**
 * `/mcp`: the MCP server (mcp_server/) over Streamable HTTP, behind the same
 * security middleware as every other route (token, Host), plus an Origin
 * check on every method, GET included, as the MCP transport asks. The MCP SDK
 * is imported on the first request, so the dashboard starts without it.
 * Runs started here are the dashboard's: tracked (stopped at shutdown) and
 * shown live.
 */
import { Hono } from "hono";
import type { WebDeps } from "./deps.ts";
import type { LiveHub } from "./live/hub.ts";
import type { WebRuns } from "./web_runs.ts";

type Http = typeof import("../mcp_server/http.ts");
type Backend = typeof import("../mcp_server/backend.ts");

/**
 * Imports `../mcp_server/<file>` when first used. The URL is built at run
 * time so Deno does not read the SDK's graph when the dashboard loads (see
 * cli/_lazy.ts); `typeof import(...)` keeps the modules type-checked.
 */
function load<T>(file: string): Promise<T> {
  return import(new URL(`../mcp_server/${file}`, import.meta.url).href);
}

export function mcpRoute(deps: WebDeps, hub: LiveHub, webRuns: WebRuns): Hono {
  const app = new Hono();
  let handler: Promise<(request: Request) => Promise<Response>> | undefined;
  const build = async () => {
    const [{ mcpHttpHandler }, { coordinatorBackend }] = await Promise.all([
      load<Http>("http.ts"),
      load<Backend>("backend.ts"),
    ]);
    return mcpHttpHandler(coordinatorBackend(() => deps, {
      readOnly: deps.coordinator === null,
      onRun: (handle) => webRuns.track(handle),
      onEvent: (runId) => hub.wake(runId),
      changed: (runId) => runId ? hub.wake(runId) : hub.changed(),
    }));
  };
  app.all("/mcp", async (c) => {
    const origin = c.req.header("origin");
    const own = `${new URL(c.req.url).protocol}//${(c.req.header("host") ?? "").toLowerCase()}`;
    if (origin !== undefined && origin !== own) {
      return c.json({ error: "Cross-origin request refused.", code: "bad_origin" }, 403);
    }
    handler ??= build();
    return (await handler)(c.req.raw);
  });
  return app;
}
