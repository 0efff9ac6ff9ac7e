/**
 * Finds symlinks inside a capsule's roots that lead somewhere it must not go.
 * Deno's `--allow-read` follows symlinks (a link in the workspace to
 * `/home/me/secret` is readable through the link), so the launcher denies
 * every such link by its own path. A capsule cannot make new links: Deno's
 * `Deno.symlink` needs full read and write permission, and programs that
 * could (`ln -s`) only run inside bubblewrap, where the target is not mounted.
 */
import { join } from "node:path";
import { mayExist } from "./_fs.ts";
import { isWithin } from "./launcher.ts";
import { isSecretName, secretInPath } from "../guest/policy/secrets.ts";

/**
 * Entries walked before the scan gives up (it runs at every launch). A scan
 * that stops is reported as `truncated`; the launcher then refuses the path
 * tools or, inside bubblewrap, warns (see `incompleteSymlinkScan`).
 */
export const SYMLINK_SCAN_LIMIT = 20_000;

/**
 * Entries walked when the first scan stopped early, to find every secret file
 * (programs see their roots whole, so a secret not found is not masked). Past
 * it, terminal and python_exec are refused for those roots.
 */
export const SECRET_SCAN_LIMIT = 1_000_000;

/** What the scan found. */
export interface SymlinkScan {
  /** Links (by their own path) whose target is outside every root or inside a denied path. */
  escaping: string[];
  /** The scan stopped at `maxEntries`; links further down were not seen. */
  truncated: boolean;
}

/** What a walk of the roots found: escaping links and secret files. */
export interface RootScan extends SymlinkScan {
  /** Secret files and folders (see guest/policy/secrets.ts), real paths, not below another secret. */
  secrets: { path: string; isDir: boolean }[];
  /** The walk stopped at `secretEntries` before it saw every entry, so secrets may be missing. */
  secretsTruncated: boolean;
}

/**
 * Walks `roots` (without following links) and lists the links that escape.
 *
 * @example
 * ```ts
 * const scan = findEscapingSymlinks(["/ws"], ["/ws/.env"]);
 * scan.escaping; // e.g. ["/ws/link-to-home"]
 * ```
 */
export function findEscapingSymlinks(
  roots: readonly string[],
  deniedPaths: readonly string[],
  maxEntries = SYMLINK_SCAN_LIMIT,
): SymlinkScan {
  const { escaping, truncated } = scanRoots(roots, deniedPaths, maxEntries);
  return { escaping, truncated };
}

/**
 * One walk of `roots` (links not followed) that lists escaping links and
 * every secret file or folder at any depth, so both can be denied and masked.
 * A root that is itself a secret was named by the manifest and is not listed.
 * Links are checked among the first `maxEntries` entries (`truncated` past
 * them); secrets are looked for further, up to `secretEntries` (at least
 * `maxEntries`; `secretsTruncated` past them).
 */
export function scanRoots(
  roots: readonly string[],
  deniedPaths: readonly string[],
  maxEntries = SYMLINK_SCAN_LIMIT,
  secretEntries = maxEntries,
): RootScan {
  const escaping = new Set<string>();
  const secrets: RootScan["secrets"] = [];
  const seen = new Set<string>();
  let entries = 0;
  let truncated = false;
  let secretsTruncated = false;
  const stopAt = Math.max(maxEntries, secretEntries);
  // A link to a secret file escapes too: the secret is masked, the link would not be.
  const escapes = (target: string) => {
    const root = roots.find((r) => isWithin(r, target));
    return !root || deniedPaths.some((denied) => isWithin(denied, target)) ||
      (!roots.includes(target) && secretInPath(target, root) !== null);
  };

  const walk = (dir: string) => {
    let list: Deno.DirEntry[];
    try {
      list = [...Deno.readDirSync(dir)];
    } catch {
      return;
    }
    for (const entry of list) {
      if (++entries > maxEntries) truncated = true;
      if (entries > stopAt) {
        secretsTruncated = true;
        return;
      }
      const path = join(dir, entry.name);
      if (
        !entry.isSymlink && isSecretName(entry.name, entry.isDirectory) && !roots.includes(path)
      ) {
        secrets.push({ path, isDir: entry.isDirectory });
        if (entry.isDirectory) continue; // masked whole
      }
      if (entry.isSymlink) {
        if (truncated) continue; // past the link limit: only secrets are looked for
        let target: string;
        try {
          target = Deno.realPathSync(path);
        } catch {
          escaping.add(path); // dangling: its target may appear later
          continue;
        }
        if (escapes(target)) escaping.add(path);
      } else if (entry.isDirectory && !deniedPaths.some((d) => isWithin(d, path))) {
        walk(path);
      }
      if (secretsTruncated) return;
    }
  };
  for (const root of roots) {
    if (seen.has(root)) continue;
    seen.add(root);
    walk(root);
  }
  return { escaping: [...escaping].sort(), secrets, truncated, secretsTruncated };
}

/** The real path of `path`, or `path` itself when it does not exist (yet). */
export function realOrSelf(path: string): string {
  if (!mayExist(path)) return path; // not there yet: nothing to follow
  try {
    return Deno.realPathSync(path);
  } catch {
    return path; // not there yet: nothing to follow
  }
}

/**
 * Drops every granted root whose real location is outside the run's allowed
 * roots. A manifest root that is itself a symlink (`read_roots: ["link"]`
 * with `link -> /home/me`) would otherwise pass the logical check and open
 * the link's target to both the path policy and Deno.
 *
 * @example
 * ```ts
 * confineRoots(["/ws/docs", "/ws/link-to-home"], ["/ws"]); // ["/ws/docs"]
 * ```
 */
export function confineRoots(roots: readonly string[], allowedRoots: readonly string[]): string[] {
  const allowed = allowedRoots.map(realOrSelf);
  return roots.filter((root) => allowed.some((a) => isWithin(a, realOrSelf(root))));
}
