/** The Deno-run MCP server fixture (tests/fixtures/mcp_deno_server.ts), as the MCP tests run it. */
import { join } from "node:path";

/** The fixture server's script. */
export const MCP_DENO_FIXTURE: string = new URL(
  join("..", "fixtures", "mcp_deno_server.ts"),
  import.meta.url,
).pathname;

/**
 * Puts the fixture's imports (and any other `specifiers`) in Deno's cache, as
 * `mcp add` would before a server starts with `--cached-only`; "" when it
 * worked, otherwise the last line of why not.
 */
export async function cacheDenoServers(...specifiers: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["cache", "--no-config", MCP_DENO_FIXTURE, ...specifiers],
    stdout: "null",
    stderr: "piped",
  }).output();
  return out.code === 0 ? "" : new TextDecoder().decode(out.stderr).trim().split("\n").pop() ?? "";
}
