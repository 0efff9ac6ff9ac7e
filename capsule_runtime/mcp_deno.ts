/**
 * A stdio MCP server run by Deno, where bubblewrap does not work: the host
 * starts `deno run` as a separate process whose permissions come from the
 * agent's manifest and the catalogue entry, never from the stored arguments:
 *
 * - `--allow-read` of the agent's read and write roots and the entry's
 *   `--read` paths; `--allow-write` of its write roots (only when the
 *   manifest grants writes); the data folder, secrets, control files and
 *   escaping links denied, the product's code never writable;
 * - `--allow-net` of the manifest's exact `network_hosts` only (private
 *   IPv4 ranges denied), no network at all when there are none. Deno takes
 *   no IPv6 range in `--deny-net` and there is no SSRF guard or byte budget
 *   here: a listed name resolving to a private or IPv4-mapped IPv6 address
 *   is not stopped (docs/mcp.md says so; bubblewrap's egress proxy checks it);
 * - `--allow-env` of the entry's `--env` names only, and `--ignore-env` so a
 *   package probing another variable reads `undefined` instead of failing;
 * - no `--allow-run`, `--allow-ffi`, `--allow-sys` (except `hostname`, which
 *   name resolution needs, with network) or `--allow-import`; `--no-prompt`,
 *   and `--cached-only`: Deno would fetch a module it has not cached outside
 *   its network permission.
 *
 * Deno does not check the files a script imports statically (only dynamic
 * imports need read permission), so here the server's own code is trusted not
 * to import, say, a JSON file it should not read; bubblewrap has no such gap.
 *
 * Permission flags in the stored arguments (`-A`, `--allow-*`, `--deny-*`,
 * `-P`, `--env-file`, …) are dropped and reported; an unknown flag refuses
 * the start, since it could widen what the server gets. The process's whole
 * environment is set with `env -i`: a fixed PATH, HOME, TMPDIR, LANG, Deno's
 * cache folder and the entry's variables, never the provider keys or the
 * host's environment. Pure but for `hostDenoDir` and `connectDenoMcpServer`.
 */
import { existsSync } from "node:fs";
import { basename, isAbsolute, join } from "node:path";
import type { McpServerEntry } from "./mcp_catalogue.ts";
import {
  connectStdioServer,
  type McpConnection,
  type McpPidsLimit,
  missingFileHint,
} from "./mcp_client.ts";
import { DENIED_NETWORKS, networkAllowList } from "./launch_network.ts";
import { programEnv, type ProgramSandboxInput } from "./program_sandbox.ts";
import { findOnPath } from "./bwrap_probe.ts";

/** What the permissions of a Deno-run server are made of (all real paths). */
export interface DenoServerInput {
  /** The server's working folder (the agent's workspace). */
  workspace: string;
  /** Folders it may read (the agent's read roots, with its SQL paths). */
  readRoots: string[];
  /** Folders it may write; empty unless the manifest grants writes. */
  writeRoots: string[];
  /** Paths denied to read and write (data folder, secrets, control files, escaping links). */
  deniedPaths: string[];
  /** Paths never writable (the product's code). */
  readOnlyDirs: string[];
  /** The manifest's network_hosts: exact names become --allow-net; none: no network. */
  networkHosts: string[];
  /** Deno's cache folder the server's code was cached in (hostDenoDir()). */
  denoDir: string;
}

/** A stored `deno run …` split into what is kept and what is dropped. */
export interface DenoRunArgs {
  /** Deno's own flags that are kept (they grant nothing). */
  kept: string[];
  /** Permission and environment flags dropped from the stored arguments. */
  dropped: string[];
  /** The script and its own arguments. */
  script: string[];
}

/** Flags that grant or shape permissions, or reach outside: dropped from stored arguments. */
const DROPPED =
  /^(-A|-R|-W|-N|-E|-S|-I|-P|--allow-[a-z-]+|--deny-[a-z-]+|--ignore-[a-z-]+|--permission-set|--no-prompt|--env-file|--env|--unsafely-ignore-certificate-errors|--inspect|--inspect-brk|--inspect-wait|--watch|--watch-exclude|--hmr|--coverage|--use-env-proxy|--reload|-r)$/;
/** Flags kept that take their value as the next word (or after `=`). */
const KEPT_WITH_VALUE = new Set([
  "-c",
  "--config",
  "--import-map",
  "--ext",
  "--location",
  "--seed",
  "--conditions",
  "--cert",
  "--node-modules-linker",
  "-L",
  "--log-level",
]);
/** Flags kept that take no value, or only one after `=`. */
const KEPT = new Set([
  "--no-config",
  "--no-lock",
  "--lock",
  "--frozen",
  "--frozen-lockfile",
  "--no-remote",
  "--no-npm",
  "--cached-only",
  "--no-code-cache",
  "--no-check",
  "--check",
  "--node-modules-dir",
  "--vendor",
  "--v8-flags",
  "-q",
  "--quiet",
  "--no-clear-screen",
]);

/**
 * Kept flags whose value is a file that steers the server's code or trust (a
 * config or import map can point its imports anywhere; a CA can stand in for
 * any site). Servers start in the agent's workspace, which agents may write:
 * such a path must be absolute, so it never resolves to a file an agent put
 * there (`mcp add` makes them so).
 */
export const PATH_VALUED = new Set(["-c", "--config", "--import-map", "--cert"]);

/** Whether the entry starts its server with Deno (`deno run …`). */
export function isDenoServer(entry: Pick<McpServerEntry, "command" | "args" | "url">): boolean {
  return !entry.url && basename(entry.command) === "deno" && entry.args[0] === "run";
}

/**
 * Splits `run FLAGS… SCRIPT ARGS…`. Throws one line naming the flag when a
 * flag is unknown (it could grant something) or the script is missing.
 */
export function splitDenoRun(args: readonly string[]): DenoRunArgs {
  if (args[0] !== "run") throw new Error("its command is not `deno run …`");
  const kept: string[] = [];
  const dropped: string[] = [];
  let i = 1;
  for (; i < args.length; i++) {
    const word = args[i];
    if (word === "--") {
      i++;
      break;
    }
    if (!word.startsWith("-") || word === "-") break;
    const cut = word.indexOf("=");
    const flag = cut < 0 ? word : word.slice(0, cut);
    if (DROPPED.test(flag)) {
      dropped.push(word);
    } else if (KEPT_WITH_VALUE.has(flag)) {
      if (cut < 0 && i + 1 >= args.length) throw new Error(`its Deno flag ${word} has no value`);
      const value = cut >= 0 ? word.slice(cut + 1) : args[i + 1];
      if (PATH_VALUED.has(flag) && !isAbsolute(value) && !/^[a-z][a-z0-9+.-]*:/i.test(value)) {
        throw new Error(
          `its Deno flag ${flag} names the relative path ${value}, which would be read from the ` +
            "agent's workspace; add the server again with `closed-claw mcp add` (it stores the " +
            "absolute path)",
        );
      }
      if (cut >= 0) kept.push(word);
      else kept.push(word, args[++i]);
    } else if (KEPT.has(flag) || flag === "--unstable" || flag.startsWith("--unstable-")) {
      kept.push(word);
    } else {
      throw new Error(
        `its stored arguments have the Deno flag ${word}, which Closed Claw does not pass on ` +
          `(it could widen what the server may do); remove it from the server's command`,
      );
    }
  }
  const script = args.slice(i);
  if (!script.length) throw new Error("its `deno run` command names no script");
  return { kept, dropped, script: [...script] };
}

const list = (items: Iterable<string>) => [...new Set(items)].join(",");

/** Whether `words` hold one of the flags `names`, alone or as `name=value`. */
function hasFlag(words: readonly string[], names: readonly string[]): boolean {
  return words.some((w) => names.some((n) => w === n || w.startsWith(`${n}=`)));
}

/**
 * Deno's permission flags for a server (before its own kept flags), from the
 * manifest and the entry only.
 */
function denoServerFlags(entry: McpServerEntry, input: DenoServerInput): string[] {
  // Never a download: that would be network outside --allow-net (`mcp add` caches the code).
  const flags = ["--no-prompt", "--cached-only"];
  const read = [...input.readRoots, ...input.writeRoots, ...entry.read_paths];
  if (read.length) flags.push(`--allow-read=${list(read)}`);
  if (input.writeRoots.length) flags.push(`--allow-write=${list(input.writeRoots)}`);
  if (input.deniedPaths.length) flags.push(`--deny-read=${list(input.deniedPaths)}`);
  const neverWritten = [...input.deniedPaths, ...input.readOnlyDirs];
  if (neverWritten.length) flags.push(`--deny-write=${list(neverWritten)}`);
  // Only exact names: a `*.` pattern cannot be given to Deno, so it grants nothing here.
  const exact = input.networkHosts.map((h) => h.trim()).filter((h) => h && !h.startsWith("*."));
  const net = exact.length ? networkAllowList(exact, []).entries ?? [] : [];
  if (net.length) {
    flags.push(`--allow-net=${list(net)}`, `--deny-net=${DENIED_NETWORKS.join(",")}`);
    // Name resolution reads the resolver configuration.
    flags.push("--allow-sys=hostname");
  }
  const names = Object.keys(entry.env);
  if (names.length) flags.push(`--allow-env=${list(names)}`);
  flags.push("--ignore-env");
  return flags;
}

/** The server's whole environment (set with `env -i`): never a host variable. */
function denoServerEnv(entry: McpServerEntry, denoDir: string): Record<string, string> {
  return {
    ...programEnv(),
    NO_COLOR: "1",
    DENO_DIR: denoDir,
    DENO_NO_UPDATE_CHECK: "1",
    DENO_NO_PACKAGE_JSON: "1",
    ...entry.env,
  };
}

/**
 * The command line that runs `entry` under Deno's permissions (after
 * `limitPrefix`, prlimit's), its environment set whole by `env -i`. Throws
 * one line when the entry is not `deno run …` or has a flag that is not passed on.
 */
export function denoServerCommand(
  entry: McpServerEntry,
  input: DenoServerInput,
  limitPrefix: readonly string[] = [],
  envPath = "/usr/bin/env",
): { argv: string[]; dropped: string[] } {
  if (!isDenoServer(entry)) throw new Error("its command is not `deno run …`");
  const split = splitDenoRun(entry.args);
  const extra: string[] = [];
  const has = (...names: string[]) => hasFlag(split.kept, names);
  // A deno.json or package.json in the workspace (which agents can write) configures nothing.
  if (!has("-c", "--config", "--no-config")) extra.push("--no-config");
  if (!has("--lock", "--no-lock")) extra.push("--no-lock");
  const env = Object.entries(denoServerEnv(entry, input.denoDir)).map(([k, v]) => `${k}=${v}`);
  const argv = [
    envPath,
    "-i",
    ...env,
    ...limitPrefix,
    entry.command,
    "run",
    ...denoServerFlags(entry, input),
    ...extra,
    ...split.kept,
    ...split.script,
  ];
  return { argv, dropped: split.dropped };
}

let denoDir: Promise<string> | null = null;

/**
 * Deno's cache folder for this user (where `deno cache` put the servers'
 * code), as `deno info --json` tells it (DENO_DIR, or the platform's cache
 * folder); "" when Deno cannot say. Asked once per process.
 */
export function hostDenoDir(): Promise<string> {
  denoDir ??= (async () => {
    try {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["info", "--json"],
        stdin: "null",
        stdout: "piped",
        stderr: "null",
      }).output();
      const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { denoDir?: unknown };
      return typeof info.denoDir === "string" ? info.denoDir : "";
    } catch {
      return "";
    }
  })();
  return denoDir;
}

/** `env`, to start the server with exactly its environment. */
function envProgram(): string {
  return existsSync("/usr/bin/env") ? "/usr/bin/env" : findOnPath("env");
}

/**
 * Starts a `deno run` server under Deno's permissions, connects and lists its
 * tools (throws one line with its stderr). With `pids`, it runs in a cgroup of
 * its own, removed with everything left in it when the connection closes.
 * `onDropped` hears the permission flags dropped from its stored arguments.
 */
export async function connectDenoMcpServer(
  entry: McpServerEntry,
  input: DenoServerInput,
  limitPrefix: readonly string[] = [],
  pids?: McpPidsLimit,
  onDropped?: (flags: string[]) => void,
): Promise<McpConnection> {
  let built: { argv: string[]; dropped: string[] };
  try {
    const envPath = envProgram();
    if (!envPath) throw new Error("`env` was not found to start it with a clean environment");
    built = denoServerCommand(entry, input, limitPrefix, envPath);
  } catch (error) {
    throw new Error(`MCP server '${entry.name}' did not start: ${(error as Error).message}`);
  }
  if (built.dropped.length) onDropped?.(built.dropped);
  // `env -i` sets the server's own environment.
  return await connectStdioServer(entry.name, built.argv, {
    cwd: input.workspace,
    pids,
    explain: (stderr) => {
      // deno colours its errors unless told not to; NO_COLOR is set, but be safe.
      // deno-lint-ignore no-control-regex
      const plain = stderr.replace(/\x1b\[[0-9;]*m/g, "");
      const tail = plain.trim().split("\n").slice(-3).join(" | ");
      const uncached = /cached-only|not found in cache|Could not find npm package/i.test(plain)
        ? `. Its code is not in Deno's cache: run \`deno cache ${
          splitDenoRun(entry.args).script[0]
        }\` (or \`closed-claw mcp approve ${entry.name}\`) once`
        : "";
      return `${tail ? ` (${tail})` : ""}${uncached || missingFileHint(plain)}`;
    },
  });
}

/**
 * Inside bubblewrap a `deno run` server has no network and no Deno cache of
 * its own: this shows it the host's cache read-only (`denoDir`; its
 * `location_data`, other programs' localStorage, masked), sets DENO_DIR (the
 * entry's own variables win) and adds `--cached-only` and, unless the stored
 * arguments name a config, `--no-config`. Its other arguments are kept: the
 * sandbox, not Deno, confines it there. Other entries are returned as they are.
 */
export function withDenoCache(
  entry: McpServerEntry,
  sandbox: ProgramSandboxInput,
  denoDir: string,
): { entry: McpServerEntry; sandbox: ProgramSandboxInput } {
  if (!isDenoServer(entry) || !denoDir) return { entry, sandbox };
  let flags: string[];
  try {
    flags = splitDenoRun(entry.args).kept;
  } catch {
    flags = entry.args; // an unknown flag: look for the ones below anywhere
  }
  const has = (...names: string[]) => hasFlag(flags, names);
  const added = [
    ...(has("--cached-only") ? [] : ["--cached-only"]),
    ...(has("-c", "--config", "--no-config") ? [] : ["--no-config"]),
  ];
  const storage = join(denoDir, "location_data");
  return {
    entry: {
      ...entry,
      args: ["run", ...added, ...entry.args.slice(1)],
      env: {
        NO_COLOR: "1",
        DENO_DIR: denoDir,
        DENO_NO_UPDATE_CHECK: "1",
        DENO_NO_PACKAGE_JSON: "1",
        ...entry.env,
      },
    },
    sandbox: {
      ...sandbox,
      readRoots: [...sandbox.readRoots, denoDir],
      secrets: [
        ...sandbox.secrets,
        ...(existsSync(storage) ? [{ path: storage, isDir: true }] : []),
      ],
    },
  };
}
