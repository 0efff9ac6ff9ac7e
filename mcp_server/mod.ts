/**
 * Closed Claw as an MCP server: `createMcpServer` builds the server (tools
 * run_task, get_run, list_runs, list_agents, approve, deny, cancel_run,
 * resume_run; each run's log as a resource) over a backend, to connect to any
 * MCP transport. `closed-claw mcp serve` connects it to stdio; the dashboard
 * serves `mcpHttpHandler` at `/mcp`. See docs/mcp.md.
 *
 * @example
 * ```ts
 * import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
 * import { coordinatorBackend, createMcpServer } from "./mod.ts";
 * import { ensureDataDirs, loadSettings } from "../core/settings.ts";
 * import { openStore } from "../store/mod.ts";
 *
 * const settings = loadSettings();
 * ensureDataDirs(settings);
 * const store = openStore(settings.dbPath);
 * const server = createMcpServer(coordinatorBackend(() => ({ settings, store })));
 * await server.connect(new StdioServerTransport());
 * ```
 * @module
 */
export { coordinatorBackend, type CoordinatorBackendOptions, type McpBackend } from "./backend.ts";
export { createMcpServer, progressMessage } from "./server.ts";
export { mcpHttpHandler } from "./http.ts";
export { findRun, runLogUri } from "./runs.ts";
