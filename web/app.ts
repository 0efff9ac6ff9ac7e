/**
 * The dashboard application: security first, then the JSON API, the live
 * streams, the local static files, MCP at `/mcp` and the server-rendered pages.
 */
import { Hono } from "hono";
import { ClosedClawError } from "../core/errors.ts";
import type { WebDeps } from "./deps.ts";
import { HttpError } from "./http.ts";
import { securityMiddleware } from "./security.ts";
import { LiveHub } from "./live/hub.ts";
import { systemRoutes } from "./api/system_routes.ts";
import { llmKeyRoutes } from "./api/llm_key_routes.ts";
import { agentsRoutes } from "./api/agents_routes.ts";
import { runsRoutes } from "./api/runs_routes.ts";
import { approvalsRoutes } from "./api/approvals_routes.ts";
import { liveRoutes } from "./api/live_routes.ts";
import { toolsRoutes } from "./api/tools_routes.ts";
import { mcpServersRoutes } from "./api/mcp_servers_routes.ts";
import { staticRoutes } from "./static_routes.ts";
import { mcpRoute } from "./mcp_route.ts";
import { overviewPage } from "./pages/overview_page.tsx";
import { runsPage } from "./pages/runs_page.tsx";
import { newRunPage } from "./pages/new_run_page.tsx";
import { runPage } from "./pages/run_page.tsx";
import { agentsPage } from "./pages/agents_page.tsx";
import { agentPage } from "./pages/agent_page.tsx";
import { approvalsPage } from "./pages/approvals_page.tsx";
import { auditPage } from "./pages/audit_page.tsx";
import { toolsPage } from "./pages/tools_page.tsx";
import { skillsPage } from "./pages/skills_page.tsx";
import { settingsPage } from "./pages/settings_page.tsx";
import { systemPage } from "./pages/system_page.tsx";
import { mcpServersPage } from "./pages/mcp_servers_page.tsx";
import { WebRuns } from "./web_runs.ts";
import { normalizeBasePath, underBasePath } from "./base_path.ts";

export interface WebAppOptions {
  token: string;
  allowedHosts: ReadonlySet<string>;
  /** Keep-alive comment interval for SSE streams (default 15 s). */
  keepAliveMs?: number;
  /**
   * The path prefix the dashboard is served under, e.g. `/claw` (default `""`:
   * at `/`). `app` then expects requests with the prefix still in their URL.
   */
  basePath?: string;
}

export interface WebApp {
  /** Answers requests under `basePath` (the full URL, prefix included). */
  app: Hono;
  hub: LiveHub;
  runs: WebRuns;
  /** Stops the live feed and cancels runs this server started. */
  close(): void;
}

/** Builds the app; the caller serves `app.fetch` and calls `close()` at shutdown. */
export function createWebApp(deps: WebDeps, options: WebAppOptions): WebApp {
  const base = normalizeBasePath(options.basePath ?? "");
  const hub = new LiveHub({ runLogsDir: deps.settings.runLogsDir, dbPath: deps.settings.dbPath });
  hub.start();
  const runs = new WebRuns();
  const app = new Hono();
  app.use(
    "*",
    securityMiddleware({
      token: options.token,
      allowedHosts: options.allowedHosts,
      basePath: base,
    }),
  );

  const api = new Hono();
  api.route("/", systemRoutes(deps));
  api.route("/", llmKeyRoutes(deps));
  api.route("/", agentsRoutes(deps));
  api.route("/", liveRoutes(deps, hub, { keepAliveMs: options.keepAliveMs ?? 15_000 }));
  api.route("/", runsRoutes(deps, hub, runs));
  api.route("/", approvalsRoutes(deps, hub));
  api.route("/", toolsRoutes(deps));
  api.route("/", mcpServersRoutes(deps));
  api.all("*", (c) => c.json({ error: "No such API route.", code: "not_found" }, 404));
  app.route("/api", api);
  app.route("/static", staticRoutes());
  app.route("/", mcpRoute(deps, hub, runs));

  // Every link, form and script URL a page renders starts with `base`, the
  // prefix the browser sees (`""` at `/`). The New Run page comes before the
  // run page so `/runs/new` is never read as a run id.
  const pages = new Hono();
  pages.route("/", overviewPage(deps, base));
  pages.route("/", runsPage(deps, base));
  pages.route("/", newRunPage(deps, base));
  pages.route("/", runPage(deps, base));
  pages.route("/", agentsPage(deps, base));
  pages.route("/", agentPage(deps, base));
  pages.route("/", approvalsPage(deps, base));
  pages.route("/", auditPage(deps, base));
  pages.route("/", toolsPage(base));
  pages.route("/", skillsPage(deps, base));
  pages.route("/", settingsPage(deps, base));
  pages.route("/", systemPage(deps, base));
  pages.route("/", mcpServersPage(deps, base));
  app.route("/", pages);

  app.onError((error, c) => {
    if (error instanceof HttpError) {
      const field = error.field === undefined ? {} : { field: error.field };
      return c.json({ error: error.message, code: error.code, ...field }, error.status);
    }
    if (error instanceof ClosedClawError) {
      return c.json({ error: error.toLine(), code: error.code }, 400);
    }
    console.error("dashboard error:", error);
    return c.json({ error: "Internal error; see the server's output.", code: "internal" }, 500);
  });

  return {
    app: underBasePath(base, app),
    hub,
    runs,
    close: () => {
      runs.cancelAll("the dashboard is shutting down");
      hub.close();
    },
  };
}
