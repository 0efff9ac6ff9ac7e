/**
 * Starting a catalogue MCP server once, as `mcp add` and `mcp approve` do, to
 * read what it declares: in bubblewrap with the workspace's secrets masked,
 * without it (a `deno run` server) under Deno's permissions, or at its URL;
 * always under the default program limits, as an agent's server would be.
 */
import { existsSync } from "node:fs";
import { UsageError } from "../core/errors.ts";
import type { Settings } from "../core/settings.ts";
import { findOnPath } from "../capsule_runtime/bwrap_probe.ts";
import { machineFacts } from "../capsule_runtime/machine.ts";
import type { McpServerEntry, McpToolDeclaration } from "../capsule_runtime/mcp_catalogue.ts";
import {
  connectMcpServer,
  mcpLimitPrefix,
  type McpPidsLimit,
} from "../capsule_runtime/mcp_client.ts";
import { connectMcpHttpServer } from "../capsule_runtime/mcp_http.ts";
import {
  connectDenoMcpServer,
  type DenoServerInput,
  hostDenoDir,
  isDenoServer,
  splitDenoRun,
  withDenoCache,
} from "../capsule_runtime/mcp_deno.ts";
import { DEFAULT_LIMITS } from "../capsule_runtime/limits.ts";
import { pidsCgroupBase } from "../capsule_runtime/pids_cgroup.ts";
import { scanRoots } from "../capsule_runtime/symlink_scan.ts";
import { programEnv, type ProgramSandboxInput } from "../capsule_runtime/program_sandbox.ts";
import { printLine } from "./output.ts";

/** Entries of the workspace scanned for secret files to mask. */
const SECRET_SCAN_LIMIT = 20_000;

/** The sandbox `add` and `approve` start a server in: the workspace read-only, no network. */
export async function catalogueSandbox(settings: Settings): Promise<ProgramSandboxInput> {
  const facts = await machineFacts();
  if (!facts.bwrapPath) {
    throw new UsageError(
      `mcp: bubblewrap does not work here (${
        facts.bwrapError || "bwrap not found"
      }), and without it only a server started with \`deno run\` can be confined (by Deno's permissions).`,
      "Install bubblewrap and allow user namespaces, or start the server with Deno: mcp add NAME -- deno run …",
    );
  }
  const workspace = Deno.realPathSync(settings.workspace);
  const hiddenDirs = [settings.homeDir, settings.configDir].filter((d) => d && existsSync(d));
  // Every secret file in the workspace is masked, as for an agent's programs.
  const found = scanRoots([workspace], hiddenDirs, SECRET_SCAN_LIMIT).secrets;
  const envFile = settings.envFile && existsSync(settings.envFile)
    ? [{ path: settings.envFile, isDir: false }]
    : [];
  return {
    bwrapPath: facts.bwrapPath,
    systemPaths: facts.systemPaths,
    etcPaths: facts.etcPaths.filter((p) => !p.endsWith("resolv.conf")),
    workspace,
    readRoots: [workspace],
    writeRoots: [],
    hiddenDirs,
    readOnlyDirs: [facts.productRoot],
    secrets: [...envFile, ...found.filter((s) => s.path !== settings.envFile)],
    env: programEnv(),
  };
}

/**
 * Where bubblewrap does not work, what a `deno run` server's permissions are
 * made of at `add` and `approve`: the workspace read-only (the data and config
 * folders and secret files denied), no network, its code from Deno's cache
 * (precacheDeno).
 */
async function catalogueDenoInput(settings: Settings): Promise<DenoServerInput> {
  const facts = await machineFacts();
  const workspace = Deno.realPathSync(settings.workspace);
  const hiddenDirs = [settings.homeDir, settings.configDir].filter((d) => d && existsSync(d));
  const found = scanRoots([workspace], hiddenDirs, SECRET_SCAN_LIMIT);
  if (found.truncated) {
    throw new UsageError(
      "mcp: the workspace holds too many entries to check every symlink, and without bubblewrap Deno would follow a link out of it.",
      "Run `mcp add` from a smaller folder, or install bubblewrap.",
    );
  }
  const envFile = settings.envFile && existsSync(settings.envFile) ? [settings.envFile] : [];
  return {
    workspace,
    readRoots: [workspace],
    writeRoots: [],
    deniedPaths: [
      ...hiddenDirs,
      ...envFile,
      ...found.secrets.map((s) => s.path),
      ...found.escaping,
    ],
    readOnlyDirs: [facts.productRoot],
    networkHosts: [],
    denoDir: await hostDenoDir(),
  };
}

/** Starts the server once in its sandbox (or reaches it at its URL) and returns what it declares. */
export async function declarations(
  settings: Settings,
  entry: McpServerEntry,
): Promise<McpToolDeclaration[]> {
  // Held to the default program limits, as an agent's server would be.
  const limits = mcpLimitPrefix(DEFAULT_LIMITS, findOnPath("prlimit"));
  const base = pidsCgroupBase();
  const pids = base
    ? {
      base,
      processes: DEFAULT_LIMITS.processes,
      memoryBytes: DEFAULT_LIMITS.memory_mb * 1024 * 1024,
    }
    : undefined;
  const withoutBwrap = !entry.url && !(await machineFacts()).bwrapPath && isDenoServer(entry);
  if (withoutBwrap) {
    try {
      splitDenoRun(entry.args);
    } catch (error) {
      throw new UsageError(`mcp: '${entry.name}' cannot start: ${(error as Error).message}.`);
    }
  }
  // A Deno server never downloads when it starts (no network, --cached-only): its code is cached
  // here first.
  if (!entry.url && isDenoServer(entry)) await precacheDeno(entry, settings.workspace);
  const connection = entry.url
    ? await connectOrSay(entry)
    : withoutBwrap
    ? await connectDenoMcpServer(
      entry,
      await catalogueDenoInput(settings),
      mcpLimitPrefix(DEFAULT_LIMITS, findOnPath("prlimit"), false),
      pids,
      (flags) =>
        printLine(
          `Note: ${flags.join(" ")} dropped from its arguments: without bubblewrap it runs ` +
            "under Deno permissions from each agent's manifest.",
        ),
    )
    : await connectInSandbox(entry, await catalogueSandbox(settings), limits, pids);
  try {
    return connection.tools;
  } finally {
    await connection.close();
  }
}

/**
 * Puts a `deno run` server's code in Deno's cache with `deno cache`, which
 * runs none of it (a server only ever starts with `--cached-only`). A failure
 * is a note: the start then says what is missing.
 */
async function precacheDeno(entry: McpServerEntry, cwd: string): Promise<void> {
  let split: ReturnType<typeof splitDenoRun>;
  try {
    split = splitDenoRun(entry.args);
  } catch {
    return; // a flag this cannot place: the server's own start says what is missing
  }
  const config = split.kept.some((w) => /^(-c|--config|--no-config)(=|$)/.test(w));
  const out = await new Deno.Command(entry.command, {
    args: ["cache", ...(config ? [] : ["--no-config"]), ...split.kept, split.script[0]],
    cwd,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (out.code !== 0) {
    const why = new TextDecoder().decode(out.stderr).trim().split("\n").pop() ?? "";
    // deno-lint-ignore no-control-regex
    printLine(`Note: \`deno cache\` of its code failed: ${why.replace(/\x1b\[[0-9;]*m/g, "")}`);
  }
}

/** Starts a stdio server in bubblewrap; a `deno run` one sees Deno's cache read-only. */
async function connectInSandbox(
  entry: McpServerEntry,
  sandbox: ProgramSandboxInput,
  limits: string[],
  pids: McpPidsLimit | undefined,
) {
  if (!isDenoServer(entry)) return await connectMcpServer(entry, sandbox, limits, pids);
  const run = withDenoCache(entry, sandbox, await hostDenoDir());
  return await connectMcpServer(run.entry, run.sandbox, limits, pids);
}

/** Reaches an HTTP server; a refusal or failure is one line for the user. */
async function connectOrSay(entry: McpServerEntry) {
  try {
    return await connectMcpHttpServer(entry);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}
