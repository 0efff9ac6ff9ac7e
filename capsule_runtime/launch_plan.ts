/**
 * Launch planning: works out, for one capsule on this machine, the Deno
 * flags, sandbox binds, denied paths and network addresses it runs with.
 * The pure part lives in launcher.ts; this file gathers the machine's facts
 * (secrets that exist, other capsules, escaping symlinks, resolved hosts).
 */
import { join } from "node:path";
import type { Settings } from "../core/settings.ts";
import { checkUrl, type Resolver } from "../guest/policy/ssrf.ts";
import type { Manifest } from "./manifest.ts";
import { capsuleDir } from "./factory.ts";
import {
  buildLaunchPlan,
  EXEC_TOOLS,
  isWithin,
  type LaunchPlan,
  NETWORK_TOOLS,
  type ResolvedPermissions,
  resolvePermissions,
} from "./launcher.ts";
import { programEnv } from "./program_sandbox.ts";
import { mayExist } from "./_fs.ts";
import {
  confineRoots,
  realOrSelf,
  scanRoots,
  SECRET_SCAN_LIMIT,
  SYMLINK_SCAN_LIMIT,
} from "./symlink_scan.ts";
import { machineFacts } from "./machine.ts";
import { bwrapKnowsSize, limitFacts } from "./limit_facts.ts";
import { effectiveLimits } from "./limits.ts";
import { egressProxyAvailable } from "./egress_bridge.ts";

/** Where and how a capsule is launched; every field has a default from the settings. */
export interface PlanOptions {
  workspace?: string;
  allowedRoots?: string[];
  /** Replaces the guest script (hostile-capsule tests); flags and sandbox stay the same. */
  guestEntry?: string;
  /** false: Deno permissions only, even where bubblewrap works (tests, comparisons). */
  osSandbox?: boolean;
  /** Resolves the manifest's network_hosts for Deno's --allow-net (tests inject one). */
  resolver?: Resolver;
  /** Entries the symlink scan walks before it stops (tests use a small one). */
  symlinkScanLimit?: number;
  /** Entries the search for secrets walks when the symlink scan stopped early (tests use a small one). */
  secretScanLimit?: number;
  /** false: start without resource limits (the benchmark compares); default true. */
  limits?: boolean;
}

/** How long launch-time resolution of one network host may take. */
const HOST_RESOLVE_TIMEOUT_MS = 5_000;

/**
 * Resolves each exact network host once, at launch, through the same SSRF
 * check the tools use (so only public addresses come back). A host that does
 * not resolve stays unreachable for this capsule; that is a warning, not an error.
 */
async function resolveNetworkHosts(
  hosts: readonly string[],
  resolver: Resolver | undefined,
): Promise<{ addresses: string[]; warnings: string[] }> {
  // With a `*.` pattern Deno cannot be limited to addresses (launcher.ts), so nothing to resolve.
  const names = hosts.map((h) => h.trim());
  if (names.some((h) => h.startsWith("*."))) return { addresses: [], warnings: [] };
  const checks = await Promise.all(
    names.map((host) =>
      checkUrl(`http://${host}/`, resolver, { dnsTimeoutMs: HOST_RESOLVE_TIMEOUT_MS })
    ),
  );
  const addresses: string[] = [];
  const warnings: string[] = [];
  checks.forEach((check, i) => {
    if (check.ok) addresses.push(...check.addresses.map((a) => a.address));
    else {
      const why = `${check.error}; this capsule cannot reach it`;
      warnings.push(`network host '${names[i]}' could not be resolved at launch (${why})`);
    }
  });
  return { addresses, warnings };
}

/** Builds the launch plan for a capsule on this machine. */
export async function planLaunch(
  settings: Settings,
  manifest: Manifest,
  options: PlanOptions = {},
): Promise<LaunchPlan> {
  const facts = await machineFacts();
  // Every check and every sandbox bind works on real paths: a workspace or root
  // that is a symlink must not widen what the capsule reaches.
  const workspace = realOrSelf(options.workspace ?? settings.workspace);
  const allowedRoots = (options.allowedRoots ?? [workspace, ...settings.extraAllowedPaths])
    .map(realOrSelf);
  const guestEntry = options.guestEntry;
  const permissions = realPermissions(resolvePermissions(manifest, workspace, allowedRoots));
  const hidden = protectedDirs(settings);
  // A root inside the data or config folder would undo their denial (Deno lets
  // a narrower allow win over a wider deny), so such roots are dropped.
  const confine = (roots: string[]) =>
    confineRoots(roots, allowedRoots).filter((r) => !hidden.some((h) => isWithin(h, r)));
  const confined = {
    ...permissions,
    readRoots: confine(permissions.readRoots),
    writeRoots: confine(permissions.writeRoots),
    sqlPaths: confine(permissions.sqlPaths),
  };
  const dir = capsuleDir(settings.agentsDir, manifest.agent_id);
  // V8 refuses a code cache made under other V8 flags: one cache per guest heap size.
  const heapMb = effectiveLimits(manifest).guest_memory_mb;
  const denoDir = join(settings.homeDir, "deno_cache", `heap-${heapMb}mb`);
  const db = realOrSelf(settings.dbPath);
  const fixedSecrets = [
    ...(settings.envFile ? [settings.envFile] : []),
    ...[db, `${db}-wal`, `${db}-shm`],
    ...homeSecrets(),
  ];
  const execTool = manifest.tools_allowlist.some((t) => EXEC_TOOLS.includes(t));
  const scannedRoots = [...confined.readRoots, ...confined.writeRoots, ...confined.sqlPaths];
  const scanLimit = options.symlinkScanLimit ?? SYMLINK_SCAN_LIMIT;
  const secretLimit = options.secretScanLimit ?? SECRET_SCAN_LIMIT;
  // Programs see every file of their roots, so every secret must be found to be masked:
  // the one walk goes on past the symlink limit looking for secrets only.
  const scan = scanRoots(scannedRoots, [...hidden, ...fixedSecrets], scanLimit, secretLimit);
  const foundSecrets = scan.secrets;
  const maskedSecrets = [...existing(fixedSecrets), ...foundSecrets];
  const hiddenDirs = existing(hidden).map((d) => d.path);
  const secretPaths = [...hidden, ...fixedSecrets, ...foundSecrets.map((s) => s.path)];
  const networkGranted = manifest.tools_allowlist.some((t) => NETWORK_TOOLS.includes(t));
  const resolved = networkGranted && confined.networkHosts.length
    ? await resolveNetworkHosts(confined.networkHosts, options.resolver)
    : { addresses: [], warnings: [] };
  const bwrapPath = options.osSandbox === false ? "" : facts.bwrapPath;
  const egressProxy = egressProxyAvailable({ bwrapPath }).available;
  const plan = buildLaunchPlan({
    manifest,
    permissions: confined,
    escapingSymlinks: scan.escaping,
    incompleteSymlinkScan: scan.truncated ? { limit: scanLimit } : undefined,
    networkAddresses: resolved.addresses,
    capsuleDir: dir,
    homeDir: settings.homeDir,
    agentsDir: settings.agentsDir,
    secretPaths,
    existingSecrets: maskedSecrets,
    hiddenDirs,
    workspace,
    denoPath: facts.denoPath,
    guestEntry: guestEntry ?? facts.guestEntry,
    guestSources: guestEntry ? [...facts.guestSources, guestEntry] : facts.guestSources,
    productRoot: facts.productRoot,
    denoDir,
    maxHeapMb: heapMb,
    bwrapPath,
    systemPaths: facts.systemPaths,
    etcPaths: facts.etcPaths,
    allowUnsandboxedExec: settings.allowUnsandboxedExec,
    egressProxy,
    ...limitInput(options.limits !== false),
  });
  plan.warnings.push(...resolved.warnings);
  if (execTool && bwrapPath && scan.secretsTruncated) {
    // A secret that was not found would not be masked: no program may see these roots.
    for (const tool of plan.tools.filter((t) => EXEC_TOOLS.includes(t))) {
      plan.refusedTools.push({
        tool,
        reason:
          `${tool} is refused: its roots hold more than ${secretLimit} entries, too many to find and mask every secret file; narrow the manifest's read_roots/write_roots`,
      });
    }
    plan.tools = plan.tools.filter((t) => !EXEC_TOOLS.includes(t));
  }
  if (execTool && plan.tools.some((t) => EXEC_TOOLS.includes(t)) && bwrapPath) {
    plan.programSandbox = {
      bwrapPath,
      systemPaths: facts.systemPaths,
      etcPaths: facts.etcPaths.filter((p) => !p.endsWith("resolv.conf")),
      workspace,
      readRoots: [...confined.readRoots, ...confined.sqlPaths],
      writeRoots: confined.fileWrite ? confined.writeRoots : [],
      hiddenDirs,
      readOnlyDirs: [facts.productRoot],
      secrets: maskedSecrets,
      env: programEnv(),
      // /tmp is memory: it may hold no more than the run may write.
      tmpSizeBytes: options.limits !== false && bwrapKnowsSize(bwrapPath)
        ? effectiveLimits(manifest).bytes_written_mb * 1024 * 1024
        : undefined,
    };
    const hosts = confined.networkHosts.map((h) => h.trim()).filter(Boolean);
    if (egressProxy && hosts.length) {
      const byteLimit = effectiveLimits(manifest).egress_mb * 1024 * 1024;
      plan.egress = { networkHosts: hosts, byteLimit };
    }
  }
  return plan;
}

/** How this machine enforces the manifest's limits (limits.ts, limit_facts.ts). */
function limitInput(enforce: boolean) {
  const facts = limitFacts();
  return {
    enforceLimits: enforce,
    prlimitPath: facts.prlimitPath,
    // RLIMIT_NPROC never binds root: a pids cgroup per program does, where one is writable.
    pidsCgroupBase: facts.root ? facts.pidsCgroupBase : "",
  };
}

/**
 * Folders no capsule or program may read or write: the data folder and the
 * user's config folder. The config folder is created if missing, so it can be
 * hidden: otherwise a program could create it, and the trust ledger in it.
 */
function protectedDirs(settings: Settings): string[] {
  if (settings.configDir) {
    try {
      Deno.mkdirSync(settings.configDir, { recursive: true, mode: 0o700 });
    } catch {
      // unwritable: Deno's deny list still covers the path
    }
  }
  const dirs = [settings.homeDir, settings.configDir, settings.agentsDir, settings.runLogsDir]
    .filter(Boolean);
  return [...new Set(dirs.map(realOrSelf))];
}

/** Credential folders in the user's home, denied even when a root contains the home folder. */
function homeSecrets(): string[] {
  let home = "";
  try {
    home = Deno.env.get("HOME") ?? "";
  } catch {
    // no --allow-env for HOME: nothing to add
  }
  return home
    ? [".ssh", ".aws", ".gnupg", ".netrc"].map((name) => realOrSelf(join(home, name)))
    : [];
}

/** The permissions with every root and database path at its real location. */
function realPermissions(p: ResolvedPermissions): ResolvedPermissions {
  return {
    ...p,
    readRoots: p.readRoots.map(realOrSelf),
    writeRoots: p.writeRoots.map(realOrSelf),
    sqlPaths: p.sqlPaths.map(realOrSelf),
  };
}

function existing(paths: string[]): { path: string; isDir: boolean }[] {
  return paths.flatMap((path) => {
    if (!mayExist(path)) return [];
    try {
      return [{ path, isDir: Deno.statSync(path).isDirectory }];
    } catch {
      return [];
    }
  });
}
