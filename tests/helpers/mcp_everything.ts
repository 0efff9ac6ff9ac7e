/** `@modelcontextprotocol/server-everything` from npm, as the MCP tests run it (with node). */
import { join } from "node:path";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
/** The repo's node_modules, where `deno cache` puts the server. */
export const NODE_MODULES = join(REPO, "node_modules");
/** The server's entry point. */
export const EVERYTHING = join(
  NODE_MODULES,
  "@modelcontextprotocol",
  "server-everything",
  "dist",
  "index.js",
);

/**
 * Caches the npm server (the registry is reachable or it is cached already);
 * "" when it is there, otherwise why not.
 */
export async function cacheEverything(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "cache",
      "--config",
      join(REPO, "deno.json"),
      "npm:@modelcontextprotocol/server-everything@2026.8.31",
    ],
    cwd: REPO,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (out.code !== 0) return new TextDecoder().decode(out.stderr).trim().split("\n").pop() ?? "";
  try {
    Deno.statSync(EVERYTHING);
    return "";
  } catch {
    return `${EVERYTHING} is missing after caching`;
  }
}
