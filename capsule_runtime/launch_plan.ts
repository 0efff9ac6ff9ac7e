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
  type LaunchPlan,
  NETWORK_TOOLS,
  resolvePermissions,
} from "./launcher.ts";
import { confineRoots, findEscapingSymlinks, SYMLINK_SCAN_LIMIT } from "./symlink_scan.ts";
import { machineFacts } from "./machine.ts";

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
  const workspace = options.workspace ?? settings.workspace;
  const allowedRoots = options.allowedRoots ?? [workspace, ...settings.extraAllowedPaths];
  const guestEntry = options.guestEntry;
  const logical = resolvePermissions(manifest, workspace, allowedRoots);
  const permissions = {
    ...logical,
    readRoots: confineRoots(logical.readRoots, allowedRoots),
    writeRoots: confineRoots(logical.writeRoots, allowedRoots),
    sqlPaths: confineRoots(logical.sqlPaths, allowedRoots),
  };
  const dir = capsuleDir(settings.agentsDir, manifest.agent_id);
  const denoDir = join(settings.homeDir, "deno_cache");
  const listNames = (path: string) => {
    try {
      return [...Deno.readDirSync(path)].map((e) => join(path, e.name));
    } catch {
      return [];
    }
  };
  const home = Deno.env.get("HOME") ?? "";
  const secretPaths = [
    ...(settings.envFile ? [settings.envFile] : []),
    join(workspace, ".env"),
    settings.dbPath,
    `${settings.dbPath}-wal`,
    `${settings.dbPath}-shm`,
    ...(home ? [join(home, ".ssh"), join(home, ".aws"), join(home, ".config")] : []),
  ];
  const execTool = manifest.tools_allowlist.some((t) => EXEC_TOOLS.includes(t));
  const scannedRoots = [
    ...permissions.readRoots,
    ...permissions.writeRoots,
    ...permissions.sqlPaths,
    ...(execTool ? [workspace] : []),
  ];
  const scanLimit = options.symlinkScanLimit ?? SYMLINK_SCAN_LIMIT;
  const symlinks = findEscapingSymlinks(
    scannedRoots,
    [settings.homeDir, ...secretPaths],
    scanLimit,
  );
  const networkGranted = manifest.tools_allowlist.some((t) => NETWORK_TOOLS.includes(t));
  const resolved = networkGranted && permissions.networkHosts.length
    ? await resolveNetworkHosts(permissions.networkHosts, options.resolver)
    : { addresses: [], warnings: [] };
  const plan = buildLaunchPlan({
    manifest,
    permissions,
    escapingSymlinks: symlinks.escaping,
    incompleteSymlinkScan: symlinks.truncated ? { limit: scanLimit } : undefined,
    networkAddresses: resolved.addresses,
    capsuleDir: dir,
    otherCapsuleDirs: listNames(settings.agentsDir).filter((p) => p !== dir),
    dataDirEntries: listNames(settings.homeDir).filter((p) =>
      p !== settings.agentsDir && p !== denoDir
    ),
    homeDir: settings.homeDir,
    agentsDir: settings.agentsDir,
    secretPaths,
    existingSecrets: secretPaths.flatMap((path) => {
      try {
        return [{ path, isDir: Deno.statSync(path).isDirectory }];
      } catch {
        return [];
      }
    }),
    workspace,
    denoPath: facts.denoPath,
    guestEntry: guestEntry ?? facts.guestEntry,
    guestSources: guestEntry ? [...facts.guestSources, guestEntry] : facts.guestSources,
    denoDir,
    bwrapPath: options.osSandbox === false ? "" : facts.bwrapPath,
    systemPaths: facts.systemPaths,
    etcPaths: facts.etcPaths,
    allowUnsandboxedExec: settings.allowUnsandboxedExec,
  });
  plan.warnings.push(...resolved.warnings);
  return plan;
}
