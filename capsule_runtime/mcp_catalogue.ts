/**
 * The user's catalogue of MCP servers agents may be granted
 * (`<data>/mcp_servers.json`): how to start each stdio server, the extra
 * folders its code needs, the environment variables it may receive (or the
 * URL and headers of a Streamable HTTP server), and the
 * tool declarations the user approved, pinned by a hash. A start that returns
 * other declarations is kept aside as `pending` until `closed-claw mcp
 * approve NAME`; until then the server's tools are withheld from agents.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";

/** One tool as an MCP server declared it (what the model would be told). */
export interface McpToolDeclaration {
  name: string;
  description: string;
  input_schema: Record<string, unknown>;
  /** The server's annotations (readOnlyHint decides whether a call asks first). */
  annotations?: Record<string, unknown>;
}

/** Declarations seen at a start that differ from the approved ones. */
export interface PendingDeclarations {
  tools: McpToolDeclaration[];
  hash: string;
  seen_at: string;
}

/** One catalogue entry: a stdio or Streamable HTTP server and what the user approved of it. */
export interface McpServerEntry {
  name: string;
  /** stdio: the program (absolute path, resolved at `mcp add`) and its arguments; "" for HTTP. */
  command: string;
  args: string[];
  /** Streamable HTTP: the server's URL (absent for a stdio server). */
  url?: string;
  /** Streamable HTTP: headers sent with every request (e.g. Authorization). */
  headers?: Record<string, string>;
  /** Folders or files the server's code needs, bound read-only into its sandbox. */
  read_paths: string[];
  /** Environment variables passed to the server (values stored here, never the host's env). */
  env: Record<string, string>;
  tools: McpToolDeclaration[];
  /** sha256 of the approved declarations ({@link declarationsHash}). */
  hash: string;
  approved_at: string;
  pending?: PendingDeclarations;
}

interface CatalogueFile {
  version: 1;
  servers: McpServerEntry[];
}

/** A server name: also the middle of its tools' names (`mcp__<server>__<tool>`). */
export const MCP_SERVER_NAME = /^[a-z0-9][a-z0-9_-]{0,39}$/;
const TOOL_PREFIX = "mcp__";

/** The catalogue file in a data folder. */
export function cataloguePath(homeDir: string): string {
  return join(homeDir, "mcp_servers.json");
}

/** The name an agent calls a server's tool by. */
export function mcpToolName(server: string, tool: string): string {
  return `${TOOL_PREFIX}${server}__${tool}`;
}

/** `{server, tool}` of an `mcp__<server>__<tool>` name; null for any other name. */
export function parseMcpToolName(name: string): { server: string; tool: string } | null {
  if (!name.startsWith(TOOL_PREFIX)) return null;
  const rest = name.slice(TOOL_PREFIX.length);
  const cut = rest.indexOf("__");
  if (cut <= 0) return null;
  return { server: rest.slice(0, cut), tool: rest.slice(cut + 2) };
}

/** Keys sorted at every depth, so equal declarations always hash alike. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, canonical(v)]));
  }
  return value;
}

/** The pin of a server's declarations: names, descriptions, schemas and annotations. */
export function declarationsHash(tools: readonly McpToolDeclaration[]): string {
  const sorted = [...tools].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const text = JSON.stringify(canonical(sorted));
  return `sha256:${createHash("sha256").update(text).digest("hex")}`;
}

/** Whether a declaration says its tool changes nothing (unknown: it may). */
export function isReadOnly(tool: McpToolDeclaration): boolean {
  return tool.annotations?.readOnlyHint === true;
}

/** What changed between two sets of declarations, one line each. */
export function declarationsDiff(
  before: readonly McpToolDeclaration[],
  after: readonly McpToolDeclaration[],
): string[] {
  const lines: string[] = [];
  const old = new Map(before.map((t) => [t.name, t]));
  const now = new Map(after.map((t) => [t.name, t]));
  for (const [name, tool] of now) {
    const was = old.get(name);
    if (!was) {
      lines.push(`+ ${name}: ${oneLine(tool.description)}`);
      continue;
    }
    if (was.description !== tool.description) {
      lines.push(`~ ${name} description:`);
      lines.push(`    - ${oneLine(was.description)}`);
      lines.push(`    + ${oneLine(tool.description)}`);
    }
    const schema = (t: McpToolDeclaration) => JSON.stringify(canonical(t.input_schema));
    if (schema(was) !== schema(tool)) {
      lines.push(`~ ${name} input schema:`);
      lines.push(`    - ${schema(was)}`);
      lines.push(`    + ${schema(tool)}`);
    }
    const notes = (t: McpToolDeclaration) => JSON.stringify(canonical(t.annotations ?? {}));
    if (notes(was) !== notes(tool)) {
      lines.push(`~ ${name} annotations: ${notes(was)} -> ${notes(tool)}`);
    }
  }
  for (const name of old.keys()) if (!now.has(name)) lines.push(`- ${name}`);
  return lines;
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

/** Reads the catalogue; a missing file is an empty one. Throws on a corrupt file. */
export function readCatalogue(homeDir: string): McpServerEntry[] {
  const path = cataloguePath(homeDir);
  if (!existsSync(path)) return [];
  const parsed = JSON.parse(Deno.readTextFileSync(path)) as CatalogueFile;
  if (!parsed || !Array.isArray(parsed.servers)) {
    throw new Error(`${path} is not an MCP server catalogue`);
  }
  return parsed.servers;
}

/** Writes the catalogue whole (to a temporary file first, then renamed). */
export function writeCatalogue(homeDir: string, servers: McpServerEntry[]): void {
  Deno.mkdirSync(homeDir, { recursive: true });
  const path = cataloguePath(homeDir);
  const file: CatalogueFile = { version: 1, servers };
  const temp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  Deno.writeTextFileSync(temp, JSON.stringify(file, null, 2) + "\n", { mode: 0o600 });
  Deno.renameSync(temp, path);
}

/**
 * The names in `granted` that are not in the catalogue (an unreadable
 * catalogue has none): a manifest naming them would get nothing for them.
 */
export function unknownServers(homeDir: string, granted: readonly string[]): string[] {
  let known: Set<string>;
  try {
    known = new Set(readCatalogue(homeDir).map((s) => s.name));
  } catch {
    known = new Set();
  }
  return [...new Set(granted)].filter((name) => !known.has(name));
}

/** One entry by name, or undefined. */
export function findServer(homeDir: string, name: string): McpServerEntry | undefined {
  return readCatalogue(homeDir).find((s) => s.name === name);
}

/** Replaces (or adds) one entry. */
export function saveServer(homeDir: string, entry: McpServerEntry): void {
  const servers = readCatalogue(homeDir).filter((s) => s.name !== entry.name);
  writeCatalogue(homeDir, [...servers, entry].sort((a, b) => a.name.localeCompare(b.name)));
}

/** Removes one entry; false when there was none. */
export function removeServer(homeDir: string, name: string): boolean {
  const servers = readCatalogue(homeDir);
  const kept = servers.filter((s) => s.name !== name);
  if (kept.length === servers.length) return false;
  writeCatalogue(homeDir, kept);
  return true;
}

/**
 * Records what a start returned: nothing changes when it matches the pin;
 * otherwise the new declarations are kept as `pending` (the pin stays).
 * Returns whether they matched.
 */
export function recordSeen(
  homeDir: string,
  name: string,
  tools: McpToolDeclaration[],
  hash: string,
): boolean {
  const entry = findServer(homeDir, name);
  if (!entry) return false;
  if (entry.hash === hash) return true;
  if (entry.pending?.hash !== hash) {
    saveServer(homeDir, { ...entry, pending: { tools, hash, seen_at: new Date().toISOString() } });
  }
  return false;
}
