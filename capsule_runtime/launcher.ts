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
import { dirname, isAbsolute, join, resolve } from "node:path";
import { expandWorkspace, isInside } from "../guest/policy/paths.ts";
import { networkFlags } from "./launch_network.ts";
import { toolsWithPermission } from "../guest/tools/registry.ts";
import { HOST_TOOL_SPECS } from "../tools/specs/registry.ts";
import type { ResolvedPermissions } from "../tools/specs/types.ts";
import type { Manifest, ToolName } from "./manifest.ts";
import { outermost, type ProgramSandboxInput } from "./program_sandbox.ts";
import { effectiveLimits, type LimitPlan, prlimitOptions } from "./limits.ts";
import { GUEST_BASE_FLAGS } from "./guest_bundle.ts";

export { DENIED_NETWORKS, networkAllowList } from "./launch_network.ts";

/** Tools that reach hosts: they get --allow-net and share the network inside bubblewrap. */
export const NETWORK_TOOLS: readonly ToolName[] = toolsWithPermission("network");
/** Tools that start programs: they need bubblewrap (or an opt-in), and the egress proxy to sit beside a network tool. */
export const EXEC_TOOLS: readonly ToolName[] = toolsWithPermission("exec");
/** Tools that read the scanned roots through Deno's --allow-read (which follows symlinks). */
export const PATH_TOOLS: readonly ToolName[] = toolsWithPermission("path");

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

/**
 * What a capsule reads of its Deno cache: Deno's SQLite caches (module info,
 * CommonJS analysis, V8 code cache) and the emit of TypeScript entries.
 */
export const DENO_CACHE_FILES = [
  "dep_analysis_cache_v2",
  "node_analysis_cache_v2",
  "v8_code_cache_v2",
  "gen",
] as const;

/** A capsule's own files it may never read or write (no self-escalation, no memory tampering). */
export const CONTROL_FILES = ["manifest.json", "skill.md", "memory.db"] as const;

/** One top-level system path as it exists on this machine. */
export interface SystemPath {
  path: string;
  /** A symlink is recreated as a symlink; a folder or file is bound read-only. */
  symlinkTarget?: string;
}

export type { ResolvedPermissions } from "../tools/specs/types.ts";

export interface LaunchInput {
  manifest: Manifest;
  permissions: ResolvedPermissions;
  capsuleDir: string;
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
  /**
   * Existing folders no capsule may see (the data folder, the user's config
   * folder): denied to Deno and hidden under an empty tmpfs inside bubblewrap.
   */
  hiddenDirs?: string[];
  /** The product's own code (a local checkout or install): never writable by a capsule. */
  productRoot?: string;
  workspace: string;
  denoPath: string;
  /** The guest entry point (the bundle guest/dist/guest.js, see guest_bundle.ts). */
  guestEntry: string;
  /** Source folders and files the guest imports, bound read-only into the sandbox. */
  guestSources: string[];
  /** Deno's cache with the guest already compiled (its DENO_CACHE_FILES read-only in the sandbox). */
  denoDir: string;
  /** bubblewrap's path when it works here; "" otherwise. */
  bwrapPath: string;
  /** Top-level system paths (/usr, /bin, /lib, ...) as they exist here. */
  systemPaths: SystemPath[];
  /** Which of SYSTEM_ETC_FILES exist here. */
  etcPaths: string[];
  allowUnsandboxedExec: boolean;
  /**
   * Programs get network only through the egress proxy here (bubblewrap and
   * its bridge work: egress_bridge.ts). Then exec tools may share a capsule
   * with network tools: the programs run in a sandbox of their own with no
   * route out whatever the capsule shares. Absent or false: they may not.
   */
  egressProxy?: boolean;
  /** The guest's V8 heap in MiB; default: the manifest's `limits.guest_memory_mb`. */
  maxHeapMb?: number;
  /** util-linux's `prlimit` when it is here ("" or absent: no rlimits are set). */
  prlimitPath?: string;
  /** Where per-program pids cgroups go (see pids_cgroup.ts); "" or absent: none. */
  pidsCgroupBase?: string;
  /** false: start without resource limits (benchmarks compare); default true. */
  enforceLimits?: boolean;
}

export interface LaunchPlan {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  sandbox: "bwrap" | "deno-only";
  denoFlags: string[];
  /** The script `deno run` starts (machine.ts warms Deno's cache for it). */
  guestEntry: string;
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
  /**
   * Where programs of terminal/python_exec run: a bubblewrap sandbox of their
   * own, started by the host (set by planLaunch when bubblewrap works). Absent:
   * programs run unsandboxed, which only an explicit opt-in allows.
   */
  programSandbox?: ProgramSandboxInput;
  /** The manifest's resource limits and how this machine enforces them (limits.ts). */
  limits?: LimitPlan;
  /**
   * Programs reach these hosts through the egress proxy (set by planLaunch when
   * the manifest grants network_hosts to an exec tool and the proxy works here);
   * runCapsule starts the proxy and sets `programSandbox.egressSocket`.
   */
  egress?: { networkHosts: string[]; byteLimit: number };
  /**
   * The symlink scan stopped early: escaping links may be missing from `deniedPaths`
   * (a Deno-run MCP server is then withheld, as file tools are without bubblewrap).
   */
  incompleteSymlinkScan?: boolean;
}

const list = (paths: Iterable<string>) => [...new Set(paths)].join(",");

/** Resolves a manifest path (relative to the workspace, or absolute). */
export function resolveRoot(workspace: string, path: string): string {
  // `$WORKSPACE/data` means what it means to the guest's path checks (guest/policy/paths.ts).
  const expanded = expandWorkspace(path, workspace);
  return isAbsolute(expanded) ? resolve(expanded) : resolve(workspace, expanded);
}

/** True when `path` is `root` or inside it (guest/policy/paths.ts `isInside`, root first). */
export function isWithin(root: string, path: string): boolean {
  return isInside(path, root);
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

/** Refuses granted tools that cannot run safely here; returns what is left. */
function grantTools(input: LaunchInput, sandboxed: boolean) {
  const granted = new Set(input.manifest.tools_allowlist);
  const refusedTools: LaunchPlan["refusedTools"] = [];
  const warnings: string[] = [];
  const refuse = (tools: readonly ToolName[], reason: (tool: ToolName) => string) => {
    for (const tool of tools) {
      if (granted.delete(tool)) refusedTools.push({ tool, reason: reason(tool) });
    }
  };
  if (!sandboxed && !input.allowUnsandboxedExec) {
    refuse(
      EXEC_TOOLS,
      (tool) =>
        `${tool} needs the bubblewrap OS sandbox, which is not available here (install bubblewrap, or set CLOSED_CLAW_ALLOW_UNSANDBOXED_EXEC=true to accept the risk)`,
    );
  }
  // Programs started by exec tools are outside Deno's --deny-net. They run in a sandbox of
  // their own without a network; where the egress proxy is their only way out (it checks every
  // host), they may share a capsule with network tools. Otherwise the work stays split, so no
  // program could ever reach services on this machine (127.0.0.1) through a shared network.
  if (sandboxed && !input.egressProxy && NETWORK_TOOLS.some((t) => granted.has(t))) {
    refuse(
      EXEC_TOOLS,
      (tool) =>
        `${tool} cannot share a capsule with ${
          NETWORK_TOOLS.join(" or ")
        } (programs it starts could reach services on this machine); give network work and ${tool} work to separate agents`,
    );
  }
  const scan = input.incompleteSymlinkScan;
  if (scan && sandboxed) {
    warnings.push(
      `the symlink scan stopped after ${scan.limit} entries, so some links leading out of the roots may not be denied by Deno; bubblewrap still hides everything outside the roots`,
    );
  } else if (scan) {
    // Deno follows links, so an unscanned link out of a root would be readable: refuse instead.
    refuse(
      PATH_TOOLS,
      (tool) =>
        `${tool} is refused: its roots hold more than ${scan.limit} entries, too many to check every symlink; narrow the manifest's read_roots/sql_paths or install bubblewrap`,
    );
  }
  return { granted, refusedTools, warnings };
}

/** What the granted tools need together, each list in registry order. */
interface MergedNeeds {
  network: boolean;
  denoRead: string[];
  denoWrite: string[];
  /** A bare --allow-run (some tool may start any program). */
  anyRun: boolean;
  run: string[];
  roBinds: string[];
  rwBinds: string[];
}

function mergeNeeds(
  granted: ReadonlySet<ToolName>,
  perm: ResolvedPermissions,
  workspace: string,
): MergedNeeds {
  const merged: MergedNeeds = {
    network: NETWORK_TOOLS.some((t) => granted.has(t)),
    denoRead: [],
    denoWrite: [],
    anyRun: false,
    run: [],
    roBinds: [],
    rwBinds: [],
  };
  for (const spec of HOST_TOOL_SPECS) {
    if (!granted.has(spec.name)) continue;
    const needs = spec.launch(perm, workspace);
    merged.denoRead.push(...needs.denoRead ?? []);
    merged.denoWrite.push(...needs.denoWrite ?? []);
    if (needs.run === "any") merged.anyRun = true;
    else merged.run.push(...needs.run ?? []);
    merged.roBinds.push(...needs.roBinds ?? []);
    merged.rwBinds.push(...needs.rwBinds ?? []);
  }
  return merged;
}

function denoFlagsFor(
  input: LaunchInput,
  needs: MergedNeeds,
  denied: string[],
  warnings: string[],
): string[] {
  // The guest itself needs no files: only what its tools need is granted. An
  // empty list means no flag at all (Deno refuses `--allow-read=`).
  const flags = [
    ...GUEST_BASE_FLAGS,
    `--v8-flags=--max-old-space-size=${
      input.maxHeapMb ?? effectiveLimits(input.manifest).guest_memory_mb
    }`,
  ];
  if (needs.denoRead.length) flags.push(`--allow-read=${list(needs.denoRead)}`);
  if (needs.denoWrite.length) flags.push(`--allow-write=${list(needs.denoWrite)}`);
  const readOnly = input.productRoot ? [input.productRoot] : [];
  flags.push(`--deny-read=${list(denied)}`, `--deny-write=${list([...denied, ...readOnly])}`);
  if (needs.network) {
    const { networkHosts } = input.permissions;
    flags.push(...networkFlags(networkHosts, input.networkAddresses ?? [], warnings));
  }
  // A bare --allow-run is only granted inside bubblewrap (or by explicit opt-in),
  // which bounds what the programs see.
  if (needs.anyRun) flags.push("--allow-run");
  else if (needs.run.length) flags.push(`--allow-run=${list(needs.run)}`);
  return flags;
}

/** The bubblewrap command line around `deno run`. */
function bwrapArgs(
  input: LaunchInput,
  needs: MergedNeeds,
  env: Record<string, string>,
  guestArgv: string[],
): string[] {
  const bwrap: string[] = ["--unshare-all"];
  if (needs.network) bwrap.push("--share-net");
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
  for (const root of needs.roBinds) {
    if (!visible.has(root)) bwrap.push("--ro-bind-try", root, root);
    visible.add(root);
  }
  for (const root of new Set(needs.rwBinds)) {
    bwrap.push("--bind-try", root, root);
    visible.add(root);
  }

  // The product's code stays read-only even inside a writable root.
  const root = input.productRoot;
  if (root && [...visible].some((r) => isWithin(r, root))) bwrap.push("--ro-bind", root, root);
  // If a root contains the data folder or the user's config folder (e.g. the
  // workspace is the project and the data dir is ./.closed_claw), hide them whole.
  for (const dir of outermost(input.hiddenDirs ?? [input.homeDir])) bwrap.push("--tmpfs", dir);
  // Deno and the guest's code last, so no mount above can hide them.
  bwrap.push("--ro-bind", input.denoPath, input.denoPath);
  // Deno's cache (machine.ts warmGuestCache): its files read-only in a folder of the capsule's
  // own, where SQLite keeps the side files (-wal, -shm) of the capsule's reads. Sharing the
  // folder's would let a Deno killed while writing leave them in a state a read-only reader
  // waits on forever.
  bwrap.push("--tmpfs", input.denoDir);
  for (const name of DENO_CACHE_FILES) {
    const path = join(input.denoDir, name);
    bwrap.push("--ro-bind-try", path, path);
  }
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
  bwrap.push("--", ...guestArgv);
  return bwrap;
}

/** Builds the command that starts a capsule. Pure: same input, same plan. */
export function buildLaunchPlan(input: LaunchInput): LaunchPlan {
  const { manifest, permissions: perm } = input;
  const sandboxed = input.bwrapPath !== "";
  const { granted, refusedTools, warnings } = grantTools(input, sandboxed);
  const needs = mergeNeeds(granted, perm, input.workspace);
  // A path inside another denied one adds nothing (the whole data folder is usually denied).
  const denied = outermost([
    ...new Set([
      ...CONTROL_FILES.map((name) => join(input.capsuleDir, name)),
      ...input.secretPaths,
      ...(input.escapingSymlinks ?? []),
    ]),
  ]);
  const denoFlags = denoFlagsFor(input, needs, denied, warnings);
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
  const limits: LimitPlan = {
    limits: effectiveLimits(manifest),
    enforce: input.enforceLimits !== false,
    prlimitPath: input.prlimitPath ?? "",
    pidsCgroupBase: input.pidsCgroupBase ?? "",
  };
  // The guest under prlimit; RLIMIT_NPROC only in bubblewrap's fresh user namespace.
  const limited = limits.enforce && limits.prlimitPath
    ? [limits.prlimitPath, ...prlimitOptions(limits.limits, "guest", sandboxed), "--"]
    : [];
  const common = {
    env,
    denoFlags,
    guestEntry: input.guestEntry,
    refusedTools,
    tools: manifest.tools_allowlist.filter((t) => granted.has(t)),
    deniedPaths: [...new Set(denied)],
    warnings,
    permissions: perm,
    limits,
    ...(input.incompleteSymlinkScan ? { incompleteSymlinkScan: true } : {}),
  };
  if (!sandboxed) {
    const cwd = input.workspace;
    const [command, ...args] = [...limited, input.denoPath, ...denoArgs];
    return { ...common, command, args, cwd, sandbox: "deno-only" };
  }
  const args = bwrapArgs(input, needs, env, [...limited, input.denoPath, ...denoArgs]);
  const cwd = dirname(input.guestEntry);
  return { ...common, command: input.bwrapPath, args, cwd, sandbox: "bwrap" };
}
