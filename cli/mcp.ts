/**
 * `mcp serve`: Closed Claw as an MCP server on stdin/stdout, for MCP clients
 * that start it as a subprocess. stdout carries only the protocol: anything
 * else that would print there goes to stderr.
 */
import process from "node:process";
// The SDK's "./*" export maps `x.js` to types at `x.js.d.ts`, which do not exist; see mcp_server/server.ts.
// @ts-types="@modelcontextprotocol/sdk/server/stdio"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { UsageError } from "../core/errors.ts";
import { refreshInterruptedRuns } from "../coordinator/cancel.ts";
import { CapsuleShelf } from "../capsule_runtime/capsule_shelf.ts";
import type { RunHandle } from "../coordinator/types.ts";
import { resolveLlm } from "../llm/detect.ts";
import { coordinatorBackend } from "../mcp_server/backend.ts";
import { createMcpServer } from "../mcp_server/server.ts";
import type { Command } from "./command.ts";
import { mcpAdd, mcpApprove, mcpList, mcpRemove } from "./mcp_servers.ts";

/** How long a closing server waits for its cancelled runs to record their end (ms). */
const STOP_WAIT_MS = 5000;

/** Sends console output meant for people to stderr: stdout is the protocol's. */
function keepStdoutForProtocol(): void {
  const toStderr = (...args: unknown[]) => console.error(...args);
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
}

export const mcpCommand: Command = {
  name: "mcp",
  summary:
    "Serve Closed Claw to MCP clients (`mcp serve`); `mcp add|list|remove|approve` manage MCP servers agents may use.",
  args:
    "serve | add NAME -- COMMAND ARGS… | add NAME --url URL | list | remove NAME | approve NAME",
  positionals: { min: 1, max: 1000 },
  options: {
    yes: {
      type: "boolean",
      description: "add/approve: approve the declared tools without asking.",
    },
    read: {
      type: "string",
      value: "path",
      multiple: true,
      description: "add: a folder the server's code needs, bound read-only into its sandbox.",
    },
    env: {
      type: "string",
      value: "KEY[=VALUE]",
      multiple: true,
      description: "add: an environment variable the server gets (KEY alone: its value here).",
    },
    url: {
      type: "string",
      value: "URL",
      description: "add: a Streamable HTTP server's URL (instead of -- COMMAND ARGS…).",
    },
    header: {
      type: "string",
      value: "'Name: value'",
      multiple: true,
      description: "add --url: a header sent with every request (e.g. Authorization).",
    },
    json: { type: "boolean", description: "list: print JSON." },
  },
  details: [
    "MCP servers as tools of agents (docs/mcp.md):",
    "  mcp add fs --read ./node_modules -- node ./node_modules/.../server-filesystem/dist/index.js .",
    "    starts the server once in its sandbox, shows its tools and pins them after you say yes;",
    "  mcp add remote --url https://mcp.example.com/mcp [--header 'Authorization: Bearer …']",
    "    a Streamable HTTP server (public addresses only; agents need its host in network_hosts);",
    "  mcp list; mcp remove NAME; mcp approve NAME (shows how changed declarations differ).",
    'Grant a server to an agent with "mcp_servers": ["fs"] in its manifest\'s permissions.',
    "",
    "Tools: run_task, get_run, list_runs, list_agents, approve, deny, cancel_run, resume_run.",
    "Resources: closed-claw://runs/<run_id>/log (a run's events as JSON lines).",
    "",
    "An MCP client starts it, e.g. in its configuration:",
    '  {"mcpServers": {"closed-claw": {"command": "closed-claw", "args": ["mcp", "serve"]}}}',
    "",
    "Approvals that would ask on a terminal wait instead: decide them with the approve and",
    "deny tools or in the dashboard. The dashboard serves the same tools at /mcp.",
  ].join("\n"),
  async run(ctx) {
    const [sub, ...rest] = ctx.positionals;
    if (sub === "add") return await mcpAdd(ctx, rest);
    if (sub === "list") return mcpList(ctx);
    if (sub === "remove") return mcpRemove(ctx, rest[0]);
    if (sub === "approve") return await mcpApprove(ctx, rest[0]);
    if (sub !== "serve" || rest.length) {
      throw new UsageError(
        `mcp: unknown subcommand "${ctx.positionals[0]}".`,
        "Use `closed-claw mcp serve`, `mcp add`, `mcp list`, `mcp remove` or `mcp approve`.",
      );
    }
    keepStdoutForProtocol();
    const settings = ctx.settings();
    const store = ctx.store();
    refreshInterruptedRuns(store);
    const running = new Set<RunHandle>();
    // The server lives across runs: an agent's next run may start on the capsule its last left.
    const capsuleShelf = new CapsuleShelf({ max: settings.maxParallelAgents });
    const backend = coordinatorBackend(() => ({ settings, store, capsuleShelf }), {
      // As `closed-claw run`: a missing key falls back to a local Ollama when there is one.
      llmConfig: async (overrides) => {
        const { config, notice } = await resolveLlm(settings, overrides);
        if (notice) console.error(`note: ${notice}`);
        return config;
      },
      onRun: (handle) => {
        running.add(handle);
        handle.done.finally(() => running.delete(handle)).catch(() => {});
      },
    });
    const server = createMcpServer(backend);
    const transport = new StdioServerTransport();
    const closed = Promise.withResolvers<void>();
    transport.onclose = () => closed.resolve();
    const stop = () => closed.resolve();
    process.stdin.on("end", stop);
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    try {
      await server.connect(transport);
      await closed.promise;
    } finally {
      Deno.removeSignalListener("SIGINT", stop);
      Deno.removeSignalListener("SIGTERM", stop);
      process.stdin.off("end", stop);
      // The client is gone: nobody waits for these runs' answers. Stop them, recorded as
      // cancelled (resumable), rather than leave them to die with the process.
      for (const handle of running) handle.cancel("the MCP client disconnected");
      await Promise.race([
        Promise.allSettled([...running].map((handle) => handle.done)),
        new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS)),
      ]);
      await server.close().catch(() => {});
      capsuleShelf.close("the MCP server stopped");
    }
    return 0;
  },
};
