/** @jsxImportSource hono/jsx */
// Pages are rendered once on the server, never diffed, so React's list keys mean nothing here.
// deno-lint-ignore-file jsx-key
/**
 * The MCP server catalogue at `/mcp-servers`: each server agents may be
 * granted, how it is reached, its pin and its tools; Remove, and for a server
 * whose declarations changed, the difference and a button that pins exactly
 * those. Adding a server stays on the command line (`closed-claw mcp add`):
 * it starts the server in a sandbox and is shown on a terminal.
 */
import { Hono } from "hono";
import type { WebDeps } from "../deps.ts";
import { type McpServerView, mcpServerViews } from "../api/mcp_servers_routes.ts";
import { renderPage } from "./layout.tsx";
import { Empty, Status } from "./ui.tsx";
import { DataTable } from "./data_table.tsx";

function ServerSection(props: { server: McpServerView; base: string }) {
  const { server: s, base } = props;
  const url = `${base}/api/mcp-servers/${s.name}`;
  return (
    <section class="mcp-server" id={`mcp-${s.name}`}>
      <h2>
        {s.name} <Status value={s.status === "pinned" ? "pinned" : "changed"} />
      </h2>
      <p>
        <span class="muted">{s.transport === "http" ? "Streamable HTTP" : "stdio"}:</span>{" "}
        <code>{s.target}</code>
      </p>
      <p class="muted">
        Pinned at <code>{s.hash.slice(0, 19)}…</code> on {s.approved_at.slice(0, 19)}
        {s.env.length ? ` · environment: ${s.env.join(", ")}` : ""}
        {s.headers.length ? ` · headers: ${s.headers.join(", ")}` : ""}
      </p>
      {s.pending && (
        <div class="pending">
          <p>
            <b>Tools withheld from agents:</b> a start on {s.pending.seen_at.slice(0, 19)}{" "}
            declared something else. Review the difference before you approve it.
          </p>
          <pre class="result">{s.pending.diff.join("\n")}</pre>
          <div class="actions">
            <button
              type="button"
              class="button primary"
              data-action="POST"
              data-url={`${url}/approve`}
              data-body={JSON.stringify({ hash: s.pending.hash })}
              data-confirm={`Pin the new declarations of ${s.name}? Agents granted it get these tools.`}
              data-redirect={`${base}/mcp-servers`}
            >
              Approve the new declarations
            </button>
          </div>
        </div>
      )}
      <DataTable
        columns={[
          { header: "Tool (as agents see it)", cell: (t) => <code>{t.agent_name}</code> },
          {
            header: "Calls",
            cell: (t) => t.read_only ? "read-only" : "may change things (asks first)",
          },
          { header: "Description", cell: (t) => t.description.slice(0, 300) },
        ]}
        rows={s.tools}
        empty="It declares no tools."
      />
      <div class="actions">
        <button
          type="button"
          class="button danger"
          data-action="DELETE"
          data-url={url}
          data-confirm={`Remove ${s.name}? Agents granted it no longer get its tools.`}
          data-redirect={`${base}/mcp-servers`}
        >
          Remove {s.name}
        </button>
      </div>
    </section>
  );
}

export function mcpServersPage(deps: WebDeps, base: string): Hono {
  const app = new Hono();
  app.get("/mcp-servers", (c) => {
    const servers = mcpServerViews(deps);
    return c.html(renderPage(
      base,
      "MCP servers",
      "/mcp-servers",
      <>
        <p class="muted">
          Servers agents may be granted (<code>"mcp_servers"</code>{" "}
          in a manifest's permissions). Add one on the command line:{" "}
          <code>closed-claw mcp add NAME -- COMMAND ARGS…</code> or{" "}
          <code>closed-claw mcp add NAME --url URL</code>.
        </p>
        {servers.length
          ? servers.map((server) => <ServerSection server={server} base={base} />)
          : <Empty>No MCP servers yet.</Empty>}
      </>,
    ));
  });
  return app;
}
