/**
 * The MCP server catalogue in the dashboard (`closed-claw mcp list|remove|
 * approve`): list the servers with their pin and tools, remove one, and pin
 * the changed declarations a start recorded as pending. Approving names the
 * pending hash the page showed, so only the declarations the user saw are
 * pinned. Both changes are audited (operator `web_user`). Behind the
 * dashboard's token, Host and Origin checks like every route.
 */
import { Hono } from "hono";
import { z } from "zod";
import {
  declarationsDiff,
  findServer,
  isReadOnly,
  MCP_SERVER_NAME,
  type McpServerEntry,
  mcpToolName,
  readCatalogue,
  removeServer,
  saveServer,
} from "../../capsule_runtime/mcp_catalogue.ts";
import type { WebDeps } from "../deps.ts";
import { HttpError, jsonBody } from "../http.ts";

/** One server as the dashboard shows it (no values of variables or headers). */
export interface McpServerView {
  name: string;
  transport: "stdio" | "http";
  /** The command line, or the URL. */
  target: string;
  status: "pinned" | "changed";
  hash: string;
  approved_at: string;
  env: string[];
  headers: string[];
  tools: { name: string; agent_name: string; read_only: boolean; description: string }[];
  /** Declarations a start returned that differ from the pin: their hash and the difference. */
  pending?: { hash: string; seen_at: string; diff: string[] };
}

/** An entry without its secrets, with its pending difference. */
export function mcpServerView(entry: McpServerEntry): McpServerView {
  return {
    name: entry.name,
    transport: entry.url ? "http" : "stdio",
    target: entry.url ?? [entry.command, ...entry.args].join(" "),
    status: entry.pending ? "changed" : "pinned",
    hash: entry.hash,
    approved_at: entry.approved_at,
    env: Object.keys(entry.env),
    headers: Object.keys(entry.headers ?? {}),
    tools: entry.tools.map((tool) => ({
      name: tool.name,
      agent_name: mcpToolName(entry.name, tool.name),
      read_only: isReadOnly(tool),
      description: tool.description,
    })),
    ...(entry.pending
      ? {
        pending: {
          hash: entry.pending.hash,
          seen_at: entry.pending.seen_at,
          diff: declarationsDiff(entry.tools, entry.pending.tools),
        },
      }
      : {}),
  };
}

/** The catalogue as views; a corrupt file is a 500 naming it. */
export function mcpServerViews(deps: WebDeps): McpServerView[] {
  try {
    return readCatalogue(deps.settings.homeDir).map(mcpServerView);
  } catch (error) {
    throw new HttpError(
      500,
      "catalogue_unreadable",
      `The MCP server catalogue cannot be read: ${error instanceof Error ? error.message : error}`,
    );
  }
}

const Approve = z.object({ hash: z.string().regex(/^sha256:[0-9a-f]{64}$/) }).strict();

function serverName(raw: string): string {
  if (!MCP_SERVER_NAME.test(raw)) {
    throw new HttpError(400, "bad_request", `'${raw.slice(0, 60)}' is not an MCP server name.`);
  }
  return raw;
}

export function mcpServersRoutes(deps: WebDeps): Hono {
  const app = new Hono();
  const home = deps.settings.homeDir;

  app.get("/mcp-servers", (c) => c.json(mcpServerViews(deps)));

  app.delete("/mcp-servers/:name", (c) => {
    const name = serverName(c.req.param("name"));
    if (!removeServer(home, name)) {
      throw new HttpError(404, "mcp_server_not_found", `No MCP server named ${name}.`);
    }
    deps.store.audit.record("mcp_server_removed", { server: name, operator: "web_user" });
    return c.json({ removed: true, name });
  });

  // Pins the pending declarations the page showed (their hash); anything else is a 409.
  app.post("/mcp-servers/:name/approve", async (c) => {
    const name = serverName(c.req.param("name"));
    const { hash } = await jsonBody(c, Approve);
    const entry = findServer(home, name);
    if (!entry) throw new HttpError(404, "mcp_server_not_found", `No MCP server named ${name}.`);
    if (!entry.pending) {
      throw new HttpError(
        409,
        "nothing_pending",
        `${name} has no changed declarations to approve.`,
      );
    }
    if (entry.pending.hash !== hash) {
      throw new HttpError(
        409,
        "pending_changed",
        `${name}'s pending declarations changed since the page showed them: reload and review them.`,
      );
    }
    const previous = entry.hash;
    saveServer(home, {
      ...entry,
      tools: entry.pending.tools,
      hash: entry.pending.hash,
      approved_at: new Date().toISOString(),
      pending: undefined,
    });
    deps.store.audit.record("mcp_server_approved", {
      server: name,
      previous_hash: previous,
      hash,
      operator: "web_user",
    });
    return c.json({ approved: true, name, hash });
  });

  return app;
}
