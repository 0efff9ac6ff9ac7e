/**
 * `mcp add|list|remove|approve`: the catalogue of MCP servers agents may be
 * granted (capsule_runtime/mcp_catalogue.ts). `add` starts the server once
 * (mcp_declarations.ts: in its sandbox, under Deno's permissions, or at its
 * URL), shows the tools it declares and pins them after the user says yes;
 * `approve` shows how a later start's declarations differ and pins those.
 */
import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { UsageError } from "../core/errors.ts";
import { ensureDataDirs, type Settings } from "../core/settings.ts";
import { findOnPath } from "../capsule_runtime/bwrap_probe.ts";
import {
  declarationsDiff,
  declarationsHash,
  findServer,
  isReadOnly,
  MCP_SERVER_NAME,
  type McpServerEntry,
  type McpToolDeclaration,
  mcpToolName,
  readCatalogue,
  removeServer,
  saveServer,
} from "../capsule_runtime/mcp_catalogue.ts";
import { checkMcpUrl } from "../capsule_runtime/mcp_http.ts";
import { isDenoServer, PATH_VALUED, splitDenoRun } from "../capsule_runtime/mcp_deno.ts";
import type { CommandContext } from "./command.ts";
import { catalogueSandbox, declarations } from "./mcp_declarations.ts";

export { catalogueSandbox };
import { confirm } from "./prompt.ts";
import { printJson, printLine } from "./output.ts";

/** The settings, with the data folder created (and a planted one refused) as for every command. */
function dataSettings(ctx: CommandContext): Settings {
  const settings = ctx.settings();
  ensureDataDirs(settings);
  return settings;
}

/** `--header "Name: value"` (or `Name=value`): headers sent with every request. */
function headerList(values: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const item of values) {
    const cut = item.search(/[:=]/);
    const key = cut < 0 ? "" : item.slice(0, cut).trim();
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(key)) {
      throw new UsageError(`mcp add: '${item}' is not a header; write --header "Name: value".`);
    }
    headers[key] = item.slice(cut + 1).trim();
  }
  return headers;
}

function printTools(server: string, tools: McpToolDeclaration[]): void {
  for (const tool of tools) {
    const kind = isReadOnly(tool) ? "read-only" : "may change things (asks first)";
    printLine(`  ${mcpToolName(server, tool.name)}  [${kind}]`);
    const description = tool.description.replace(/\s+/g, " ").trim();
    if (description) printLine(`      ${description.slice(0, 300)}`);
    const props = Object.keys((tool.input_schema.properties ?? {}) as Record<string, unknown>);
    if (props.length) printLine(`      arguments: ${props.join(", ")}`);
  }
}

/** `--env KEY=VALUE` stores the value; `--env KEY` copies it from this environment now. */
function envList(values: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const item of values) {
    const cut = item.indexOf("=");
    const key = cut < 0 ? item : item.slice(0, cut);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new UsageError(`mcp add: '${key}' is not an environment variable name.`);
    }
    const value = cut < 0 ? Deno.env.get(key) : item.slice(cut + 1);
    if (value === undefined) throw new UsageError(`mcp add: ${key} is not set here.`);
    env[key] = value;
  }
  return env;
}

function strings(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

async function approved(ctx: CommandContext, question: string): Promise<boolean> {
  if (ctx.options.yes === true) return true;
  if (!Deno.stdin.isTerminal()) {
    throw new UsageError(
      "mcp: nobody can confirm on this terminal.",
      "Review the tools above and pass --yes to approve them from a script.",
    );
  }
  return await confirm(`${question} Type 'yes' to approve: `);
}

/**
 * `mcp add NAME [--read PATH]… [--env KEY[=VALUE]]… -- COMMAND ARGS…`, or
 * `mcp add NAME --url URL [--header "Name: value"]…` for a Streamable HTTP server.
 */
export async function mcpAdd(ctx: CommandContext, rest: string[]): Promise<number> {
  const [name, command, ...args] = rest;
  const url = typeof ctx.options.url === "string" ? ctx.options.url.trim() : undefined;
  const usage = "Usage: closed-claw mcp add NAME -- COMMAND ARGS…  or  mcp add NAME --url URL";
  if (!name || !MCP_SERVER_NAME.test(name)) {
    throw new UsageError(
      `mcp add: '${name ?? ""}' is not a server name (lower-case letters, digits, - and _).`,
      usage,
    );
  }
  if (url !== undefined && command) {
    throw new UsageError("mcp add: give either --url URL or -- COMMAND ARGS…, not both.", usage);
  }
  if (url === undefined && !command) {
    throw new UsageError("mcp add: missing the command that starts the server (or --url).", usage);
  }
  if (url === undefined && strings(ctx.options.header).length) {
    throw new UsageError("mcp add: --header is for HTTP servers (--url).", usage);
  }
  if (url !== undefined && (strings(ctx.options.read).length || strings(ctx.options.env).length)) {
    throw new UsageError(
      "mcp add: --read and --env are for servers started here; an HTTP server runs elsewhere.",
      usage,
    );
  }
  const settings = dataSettings(ctx);
  if (findServer(settings.homeDir, name)) {
    throw new UsageError(
      `mcp add: '${name}' is already in the catalogue.`,
      `Remove it first: closed-claw mcp remove ${name}`,
    );
  }
  let entry: McpServerEntry;
  if (url !== undefined) {
    // The http tools' SSRF guard, before anything is sent (loopback and private addresses refused).
    const check = await checkMcpUrl(url);
    if (!check.ok) {
      throw new UsageError(`mcp add: ${url} refused: ${check.error.replace(/: refused$/, "")}.`);
    }
    entry = {
      name,
      command: "",
      args: [],
      url: check.url.href,
      headers: headerList(strings(ctx.options.header)),
      read_paths: [],
      env: {},
      tools: [],
      hash: "",
      approved_at: "",
    };
  } else {
    const program = isAbsolute(command) ? command : findOnPath(command);
    if (!program) throw new UsageError(`mcp add: '${command}' was not found on PATH.`);
    const readPaths = strings(ctx.options.read).map((p) => Deno.realPathSync(resolve(p)));
    entry = {
      name,
      command: Deno.realPathSync(program),
      args: denoPathsAbsolute(Deno.realPathSync(program), args),
      read_paths: readPaths,
      env: envList(strings(ctx.options.env)),
      tools: [],
      hash: "",
      approved_at: "",
    };
  }
  const tools = await declarations(settings, entry);
  printLine(`MCP server '${name}' declares ${tools.length} tool(s):`);
  printTools(name, tools);
  if (!(await approved(ctx, `Add '${name}' with these tools?`))) {
    printLine("Not added.");
    return 1;
  }
  const hash = declarationsHash(tools);
  saveServer(settings.homeDir, {
    ...entry,
    tools,
    hash,
    approved_at: new Date().toISOString(),
  });
  printLine(`Added '${name}', pinned at ${hash}.`);
  printLine(`Grant it to an agent with "mcp_servers": ["${name}"] in its manifest's permissions.`);
  if (entry.url) {
    const host = new URL(entry.url).hostname.replace(/^\[|\]$/g, "");
    printLine(`Agents reach it only when "network_hosts" in their permissions lists ${host}.`);
  }
  return 0;
}

/**
 * A `deno run` server's local script, and the files its config, import-map
 * and CA flags name, as real, absolute paths: servers start in the run's
 * workspace, not where `mcp add` ran (and a relative one is refused there);
 * other arguments unchanged.
 */
function denoPathsAbsolute(command: string, args: string[]): string[] {
  if (!isDenoServer({ command, args })) return args;
  const withFlags = args.map(absoluteFlagValue);
  let script: string[];
  try {
    script = splitDenoRun(withFlags).script;
  } catch {
    return args; // refused with its reason when the server starts
  }
  const at = args.length - script.length;
  // The flags' values as resolved above; after the script, the server's own arguments as given.
  return args.map((word, i) => i < at ? withFlags[i] : i === at ? absoluteLocal(word) : word);
}

/** A local path made real and absolute; a URL, an absolute or a missing path unchanged. */
function absoluteLocal(path: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(path) || isAbsolute(path) || !existsSync(path)) return path;
  return Deno.realPathSync(resolve(path));
}

/** `--config=x` made `--config=/abs/x`; the word after `-c`/`--config`… made absolute. */
function absoluteFlagValue(word: string, i: number, args: readonly string[]): string {
  const cut = word.indexOf("=");
  if (cut > 0 && PATH_VALUED.has(word.slice(0, cut))) {
    return `${word.slice(0, cut)}=${absoluteLocal(word.slice(cut + 1))}`;
  }
  return i > 0 && PATH_VALUED.has(args[i - 1]) ? absoluteLocal(word) : word;
}

/** `mcp list [--json]` */
export function mcpList(ctx: CommandContext): number {
  const servers = readCatalogue(dataSettings(ctx).homeDir);
  if (ctx.options.json) {
    // Values of variables and headers (keys, tokens) stay in the catalogue file.
    printJson(servers.map(({ env, headers, ...rest }) => ({
      ...rest,
      env: Object.keys(env),
      ...(headers ? { headers: Object.keys(headers) } : {}),
    })));
    return 0;
  }
  if (!servers.length) {
    printLine(
      "No MCP servers yet. Add one: closed-claw mcp add NAME -- COMMAND ARGS… (or --url URL)",
    );
    return 0;
  }
  for (const s of servers) {
    const state = s.pending
      ? `CHANGED (tools withheld until \`closed-claw mcp approve ${s.name}\`)`
      : "pinned";
    printLine(`${s.name}  ${state}  ${s.hash.slice(0, 19)}…  ${s.tools.length} tool(s)`);
    printLine(`  ${s.url ?? [s.command, ...s.args].join(" ")}`);
    printLine(`  tools: ${s.tools.map((t) => t.name).join(", ") || "none"}`);
  }
  return 0;
}

/** `mcp remove NAME` */
export function mcpRemove(ctx: CommandContext, name: string | undefined): number {
  if (!name) throw new UsageError("mcp remove: missing NAME.");
  if (!removeServer(dataSettings(ctx).homeDir, name)) {
    throw new UsageError(`mcp remove: no MCP server '${name}'.`, "See `closed-claw mcp list`.");
  }
  printLine(`Removed '${name}'. Agents granted it no longer get its tools.`);
  return 0;
}

/**
 * `mcp approve NAME`: starts the server again, shows how its declarations
 * differ from the pinned ones, and pins them when the user agrees.
 */
export async function mcpApprove(ctx: CommandContext, name: string | undefined): Promise<number> {
  if (!name) throw new UsageError("mcp approve: missing NAME.");
  const settings = dataSettings(ctx);
  const entry = findServer(settings.homeDir, name);
  if (!entry) {
    throw new UsageError(`mcp approve: no MCP server '${name}'.`, "See `closed-claw mcp list`.");
  }
  const tools = await declarations(settings, entry);
  const hash = declarationsHash(tools);
  if (hash === entry.hash) {
    if (entry.pending) saveServer(settings.homeDir, { ...entry, pending: undefined });
    printLine(`'${name}' declares what was approved (${hash.slice(0, 19)}…); nothing to approve.`);
    return 0;
  }
  printLine(`MCP server '${name}' now declares (compared with the approved declarations):`);
  for (const line of declarationsDiff(entry.tools, tools)) printLine(`  ${line}`);
  if (!(await approved(ctx, `Approve the new declarations of '${name}'?`))) {
    printLine("Not approved: its tools stay withheld from agents.");
    return 1;
  }
  saveServer(settings.homeDir, {
    ...entry,
    tools,
    hash,
    approved_at: new Date().toISOString(),
    pending: undefined,
  });
  printLine(`Approved: '${name}' is pinned at ${hash}.`);
  return 0;
}
