/**
 * The MCP server over Streamable HTTP, stateless: every POST gets a fresh
 * server and transport, answers on its own response (a stream of progress
 * notifications, then the result), and leaves nothing behind. Runs, approvals
 * and logs live in the store, so no session is needed to approve from a
 * second request while `run_task` waits in the first. GET (a standalone
 * notification stream) and DELETE (ending a session) answer 405.
 *
 * It does no access checks of its own: mount it behind the dashboard's
 * security middleware (token, Host, Origin), as `web/mcp_route.ts` does.
 */
// The SDK's "./*" export maps `x.js` to types at `x.js.d.ts`, which do not exist; see server.ts.
// @ts-types="@modelcontextprotocol/sdk/server/webStandardStreamableHttp"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { McpBackend } from "./backend.ts";
import { createMcpServer } from "./server.ts";

/**
 * A fetch handler speaking MCP (Streamable HTTP) for `backend`.
 *
 * @example
 * ```ts
 * const handle = mcpHttpHandler(coordinatorBackend(() => ({ settings, store })));
 * app.all("/mcp", (c) => handle(c.req.raw)); // behind your own auth
 * ```
 */
export function mcpHttpHandler(backend: McpBackend): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== "POST") {
      return Response.json(
        {
          jsonrpc: "2.0",
          error: { code: -32000, message: "Method not allowed: this MCP server is stateless." },
          id: null,
        },
        { status: 405, headers: { Allow: "POST" } },
      );
    }
    const server = createMcpServer(backend);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
    });
    await server.connect(transport);
    return transport.handleRequest(request);
  };
}
