/**
 * From a capsule's manifest to the exact command that starts it. One pure
 * function (every fact about the machine comes in through `LaunchInput`), so
 * the whole permission story is tested by table.
 *
 * Layers: Deno permissions from the manifest (always), and, where bubblewrap
 * works, an OS sandbox around the whole `deno` process: read-only system,
 * only the workspace roots and the capsule's own folder visible, no network
 * unless a network tool is granted, its own PID namespace.
 */
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { blockedReason, formatIp, normalizeHost, parseIp } from "../guest/policy/ssrf.ts";
import type { Manifest, ToolName } from "./manifest.ts";

export const NETWORK_TOOLS: readonly ToolName[] = ["http_api", "web_fetch"];
export const EXEC_TOOLS: readonly ToolName[] = ["terminal", "python_exec"];
/** Tools that read the scanned roots through Deno's --allow-read (which follows symlinks). */
export const PATH_TOOLS: readonly ToolName[] = ["file_io", "sql_query"];

/**
 * Addresses no capsule may reach, whatever its manifest says. Deno 2.9 accepts
 * IPv4 CIDR ranges but no IPv6 range (`[fc00::]/7` makes `deno run` fail to
 * start), so private IPv6 ranges are left to the tools' SSRF guard.
 */
export const DENIED_NETWORKS = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "224.0.0.0/4",
  "240.0.0.0/4",
  "[::1]",
  "[::]",
  "localhost",
  "metadata.google.internal",
];

/** Files of the system a sandboxed capsule may read (never /etc as a whole: it holds shadow). */
export const SYSTEM_ETC_FILES = [
  "/etc/resolv.conf",
  "/etc/hosts",
  "/etc/nsswitch.conf",
  "/etc/ssl",
  "/etc/ca-certificates",
  "/etc/ld.so.cache",
  "/etc/localtime",
  "/etc/alternatives",
  "/etc/passwd",
  "/etc/group",
  "/etc/python3",
];

/** A capsule's own files it may never read or write (no self-escalation, no memory tampering). */
export const CONTROL_FILES = ["manifest.json", "skill.md", "memory.db"] as const;

/** One top-level system path as it exists on this machine. */
export interface SystemPath {
  path: string;
  /** A symlink is recreated as a symlink; a folder or file is bound read-only. */
  symlinkTarget?: string;
}

export interface ResolvedPermissions {
  readRoots: string[];
  writeRoots: string[];
  fileWrite: boolean;
  networkHosts: string[];
  sqlPaths: string[];
}

export interface LaunchInput {
  manifest: Manifest;
  permissions: ResolvedPermissions;
  capsuleDir: string;
  /** Other capsule folders, hidden from this one. */
  otherCapsuleDirs: string[];
  /** Data-dir entries other than the agents dir (registry.db, runs/, cassettes/, ...). */
  dataDirEntries: string[];
  homeDir: string;
  agentsDir: string;
  /** Secret files to deny even when inside a root (.env files, ~/.ssh). */
  secretPaths: string[];
  /**
   * Which secret paths exist now, and whether each is a folder. Only these can
   * be masked inside bubblewrap (it cannot mount over a path that is missing).
   */
  existingSecrets?: { path: string; isDir: boolean }[];
  /**
   * Symlinks inside the roots that lead outside them or to a secret (see
   * symlink_scan.ts). Deno follows links, so each is denied by its own path.
   */
  escapingSymlinks?: string[];
  /**
   * Set when the symlink scan stopped at its entry limit, so escaping links
   * may be missing from `escapingSymlinks`. Without bubblewrap, file_io and
   * sql_query are then refused; inside it, the sandbox still hides what such
   * a link could reach, so the plan only carries a warning.
   */
  incompleteSymlinkScan?: { limit: number };
  /**
   * The public addresses the manifest's `network_hosts` resolved to at launch
   * (planLaunch resolves them). Tools connect to a checked IP, so Deno sees the
   * IP, and only these (plus the names, for the lookup) are allowed.
   */
  networkAddresses?: string[];
  workspace: string;
  denoPath: string;
  /** The guest entry point (guest/main.ts). */
  guestEntry: string;
  /** Source folders and files the guest imports, bound read-only into the sandbox. */
  guestSources: string[];
  /** Deno's cache with the guest already compiled (read-only in the sandbox). */
  denoDir: string;
  /** bubblewrap's path when it works here; "" otherwise. */
  bwrapPath: string;
  /** Top-level system paths (/usr, /bin, /lib, ...) as they exist here. */
  systemPaths: SystemPath[];
  /** Which of SYSTEM_ETC_FILES exist here. */
  etcPaths: string[];
  allowUnsandboxedExec: boolean;
  maxHeapMb?: number;
}

export interface LaunchPlan {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  sandbox: "bwrap" | "deno-only";
  denoFlags: string[];
  /** Tools granted by the manifest that cannot run here, with the reason. */
  refusedTools: { tool: ToolName; reason: string }[];
  /** Tools the capsule may actually use. */
  tools: ToolName[];
  /** Paths denied to the capsule (control files, secrets, other capsules, escaping links). */
  deniedPaths: string[];
  /** Protection that is weaker than asked for, one line each (shown as `log` warnings). */
  warnings: string[];
  /** The resolved permissions the plan was built from (the tools' context uses the same). */
  permissions: ResolvedPermissions;
}

const list = (paths: Iterable<string>) => [...new Set(paths)].join(",");

/** A host name or `*.` pattern Deno accepts in `--allow-net` (no scheme, port, path or comma). */
const HOST_PATTERN =
  /^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

/** `--allow-net` entry for a public IP address, or `null` for an address no capsule may reach. */
function publicAddressEntry(text: string): string | null {
  const ip = parseIp(text);
  if (!ip || blockedReason(ip)) return null;
  return ip.family === 6 ? `[${formatIp(ip)}]` : formatIp(ip);
}

/**
 * What Deno's `--allow-net` holds for a manifest's `network_hosts`: each name
 * (Deno checks the DNS lookup against it) and each public address it resolved
 * to (Deno checks the connection against the IP the tools dial). `entries` is
 * `null` when Deno cannot enforce the list: it is empty (any public host), or
 * a `*.` pattern whose addresses cannot be known at launch.
 *
 * @example
 * ```ts
 * networkAllowList(["api.example.com"], ["203.0.113.7"]).entries;
 * // ["api.example.com", "203.0.113.7"]
 * ```
 */
export function networkAllowList(
  hosts: readonly string[],
  addresses: readonly string[],
): { entries: string[] | null; warnings: string[] } {
  if (hosts.length === 0) return { entries: null, warnings: [] };
  const warnings: string[] = [];
  const wildcards = hosts.filter((h) => h.trim().startsWith("*."));
  if (wildcards.length) {
    warnings.push(
      `network_hosts has the pattern ${
        wildcards.join(", ")
      }: its addresses cannot be pinned at launch, so only the host's policy check (not Deno) limits this capsule to its hosts; list exact host names to have Deno enforce them`,
    );
    return { entries: null, warnings };
  }
  const entries = new Set<string>();
  for (const raw of hosts) {
    const host = normalizeHost(raw.trim());
    if (parseIp(host)) {
      const entry = publicAddressEntry(host);
      if (entry) entries.add(entry);
      else warnings.push(`network_hosts entry '${raw}' is not a public address; it stays blocked`);
    } else if (HOST_PATTERN.test(host)) entries.add(host);
    else warnings.push(`network_hosts entry '${raw}' is not a host name; it is ignored`);
  }
  for (const address of addresses) {
    const entry = publicAddressEntry(address);
    if (entry) entries.add(entry);
  }
  return { entries: [...entries], warnings };
}

/** Resolves a manifest path (relative to the workspace, or absolute). */
export function resolveRoot(workspace: string, path: string): string {
  return isAbsolute(path) ? resolve(path) : resolve(workspace, path);
}

/** True when `path` is `root` or inside it. */
export function isWithin(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/**
 * Resolves a manifest's permissions against the run's allowed roots. A root
 * outside every allowed root is dropped: a manifest can narrow access, never
 * widen it.
 */
export function resolvePermissions(
  manifest: Manifest,
  workspace: string,
  allowedRoots: string[],
): ResolvedPermissions {
  const p = manifest.permissions;
  const inside = (path: string) => allowedRoots.some((root) => isWithin(root, path));
  const roots = (paths: string[]) =>
    [...new Set(paths.map((x) => resolveRoot(workspace, x)))].filter(inside);
  return {
    readRoots: roots(p.read_roots),
    writeRoots: p.file_write ? roots(p.write_roots) : [],
    fileWrite: p.file_write,
    networkHosts: p.network_hosts,
    sqlPaths: roots(p.sql_paths),
  };
}

/** Builds the command that starts a capsule. Pure: same input, same plan. */
export function buildLaunchPlan(input: LaunchInput): LaunchPlan {
  const { manifest, permissions: perm } = input;
  const sandboxed = input.bwrapPath !== "";
  const granted = new Set(manifest.tools_allowlist);
  const refusedTools: LaunchPlan["refusedTools"] = [];
  for (const tool of EXEC_TOOLS) {
    if (granted.has(tool) && !sandboxed && !input.allowUnsandboxedExec) {
      granted.delete(tool);
      refusedTools.push({
        tool,
        reason:
          `${tool} needs the bubblewrap OS sandbox, which is not available here (install bubblewrap, or set CLOSED_CLAW_ALLOW_UNSANDBOXED_EXEC=true to accept the risk)`,
      });
    }
  }
  // Programs started by exec tools are outside Deno's --deny-net, so inside a sandbox that
  // shares the network they could reach services on this machine (127.0.0.1). Exec tools
  // therefore never share a sandbox with network tools: the work is split into subtasks.
  if (sandboxed && NETWORK_TOOLS.some((t) => granted.has(t))) {
    for (const tool of EXEC_TOOLS) {
      if (!granted.delete(tool)) continue;
      refusedTools.push({
        tool,
        reason:
          `${tool} cannot share a capsule with http_api or web_fetch (programs it starts could reach services on this machine); give network work and ${tool} work to separate agents`,
      });
    }
  }
  const warnings: string[] = [];
  const scan = input.incompleteSymlinkScan;
  if (scan && sandboxed) {
    warnings.push(
      `the symlink scan stopped after ${scan.limit} entries, so some links leading out of the roots may not be denied by Deno; bubblewrap still hides everything outside the roots`,
    );
  } else if (scan) {
    // Deno follows links, so an unscanned link out of a root would be readable: refuse instead.
    for (const tool of PATH_TOOLS) {
      if (!granted.delete(tool)) continue;
      refusedTools.push({
        tool,
        reason:
          `${tool} is refused: its roots hold more than ${scan.limit} entries, too many to check every symlink; narrow the manifest's read_roots/sql_paths or install bubblewrap`,
      });
    }
  }
  const has = (tool: ToolName) => granted.has(tool);
  const network = NETWORK_TOOLS.some(has);

  const read = [input.capsuleDir];
  const write = [join(input.capsuleDir, "logs")];
  if (has("file_io")) read.push(...perm.readRoots);
  if (has("file_io") && perm.fileWrite) write.push(...perm.writeRoots);
  if (has("sql_query")) read.push(...perm.sqlPaths);
  // Exec tools work in the workspace; what they may touch is bounded by the OS sandbox.
  if (has("terminal") || has("python_exec")) read.push(input.workspace);

  const denied = [
    ...CONTROL_FILES.map((name) => join(input.capsuleDir, name)),
    ...input.otherCapsuleDirs,
    ...input.dataDirEntries,
    ...input.secretPaths,
    ...(input.escapingSymlinks ?? []),
  ];

  const denoFlags = [
    "--no-prompt",
    "--cached-only",
    "--no-config",
    "--no-lock",
    "--no-npm",
    "--no-remote",
    `--v8-flags=--max-old-space-size=${input.maxHeapMb ?? 512}`,
    `--allow-read=${list(read)}`,
    `--allow-write=${list(write)}`,
    `--deny-read=${list(denied)}`,
    `--deny-write=${list(denied)}`,
  ];
  if (network) {
    // With exact network_hosts, Deno allows only those names and the public addresses
    // they resolved to at launch; otherwise any host, and the tool policy checks names.
    // Either way Deno blocks every private range, whatever a name resolves to.
    const allowed = networkAllowList(perm.networkHosts, input.networkAddresses ?? []);
    warnings.push(...allowed.warnings);
    // No usable entry at all: no --allow-net (an empty `--allow-net=` stops Deno from starting).
    if (!allowed.entries) denoFlags.push("--allow-net");
    else if (allowed.entries.length) denoFlags.push(`--allow-net=${list(allowed.entries)}`);
    denoFlags.push(`--deny-net=${DENIED_NETWORKS.join(",")}`);
    // Name resolution reads the resolver configuration.
    denoFlags.push(`--allow-sys=hostname`);
  }
  // terminal runs any program through bash, so it gets a bare --allow-run; that
  // is only granted inside bubblewrap (or by explicit opt-in), which bounds what programs see.
  if (has("terminal")) denoFlags.push("--allow-run");
  else if (has("python_exec")) denoFlags.push("--allow-run=python3");

  const env: Record<string, string> = {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    HOME: sandboxed ? "/tmp" : join(input.capsuleDir, "logs"),
    LANG: "C.UTF-8",
    NO_COLOR: "1",
    DENO_DIR: input.denoDir,
    DENO_NO_UPDATE_CHECK: "1",
    CLOSED_CLAW_CAPSULE: manifest.agent_id,
  };
  const denoArgs = ["run", ...denoFlags, input.guestEntry];
  const common = {
    env,
    denoFlags,
    refusedTools,
    tools: manifest.tools_allowlist.filter((t) => granted.has(t)),
    deniedPaths: [...new Set(denied)],
    warnings,
    permissions: perm,
  };

  if (!sandboxed) {
    const cwd = input.workspace;
    return { ...common, command: input.denoPath, args: denoArgs, cwd, sandbox: "deno-only" };
  }

  const bwrap: string[] = ["--unshare-all"];
  if (network) bwrap.push("--share-net");
  bwrap.push("--die-with-parent", "--new-session", "--cap-drop", "ALL");
  for (const sys of input.systemPaths) {
    if (sys.symlinkTarget) bwrap.push("--symlink", sys.symlinkTarget, sys.path);
    else bwrap.push("--ro-bind", sys.path, sys.path);
  }
  for (const etc of input.etcPaths) bwrap.push("--ro-bind", etc, etc);
  bwrap.push("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp");
  // The working directory exists even when no root makes the workspace visible.
  bwrap.push("--dir", input.workspace);

  // The workspace roots: readable ones read-only, writable ones read-write,
  // in that order so a writable sub-folder overrides its read-only parent.
  const visible = new Set<string>();
  const readable = has("file_io") ? perm.readRoots : [];
  const execRoot = has("terminal") || has("python_exec") ? [input.workspace] : [];
  for (const root of [...readable, ...execRoot, ...(has("sql_query") ? perm.sqlPaths : [])]) {
    if (!visible.has(root)) bwrap.push("--ro-bind-try", root, root);
    visible.add(root);
  }
  const writable = perm.fileWrite && (has("file_io") || execRoot.length) ? perm.writeRoots : [];
  for (const root of writable) {
    bwrap.push("--bind-try", root, root);
    visible.add(root);
  }

  // If a root contains the data dir (e.g. the workspace is the project and the
  // data dir is ./.closed_claw), hide it, then show only this capsule's folder.
  bwrap.push("--tmpfs", input.homeDir);
  bwrap.push("--dir", input.agentsDir);
  bwrap.push("--ro-bind", input.capsuleDir, input.capsuleDir);
  // Its control files are empty inside: programs it may run (terminal) do not
  // go through Deno's --deny-read. The factory creates all three.
  for (const name of CONTROL_FILES) {
    bwrap.push("--ro-bind", "/dev/null", join(input.capsuleDir, name));
  }
  bwrap.push("--bind", join(input.capsuleDir, "logs"), join(input.capsuleDir, "logs"));
  // Deno and the guest's code last, so no mount above can hide them.
  bwrap.push("--ro-bind", input.denoPath, input.denoPath);
  bwrap.push("--ro-bind", input.denoDir, input.denoDir);
  for (const src of input.guestSources) bwrap.push("--ro-bind", src, src);
  // Secrets inside a visible root are masked: a file with an empty file, a folder with an
  // empty tmpfs. Deno's --deny-read covers them too, including ones created later.
  for (const secret of input.existingSecrets ?? []) {
    if (![...visible].some((root) => isWithin(root, secret.path))) continue;
    if (secret.isDir) bwrap.push("--tmpfs", secret.path);
    else bwrap.push("--ro-bind", "/dev/null", secret.path);
  }
  bwrap.push("--chdir", input.workspace);
  for (const [key, value] of Object.entries(env)) bwrap.push("--setenv", key, value);
  bwrap.push("--", input.denoPath, ...denoArgs);

  const cwd = dirname(input.guestEntry);
  return { ...common, command: input.bwrapPath, args: bwrap, cwd, sandbox: "bwrap" };
}
