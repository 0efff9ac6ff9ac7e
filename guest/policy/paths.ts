/**
 * Path policy for file_io and sql_query, run by the host (before it allows a
 * call) and again by the guest (just before it touches the disk).
 *
 * A path is allowed only when BOTH its normalised logical form and its
 * symlink-resolved form lie inside an allowed root, so neither `..` nor a
 * symlink can lead outside. Guest-safe: Deno APIs and `node:path` only.
 */
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "./node_path.ts";
import { secretInPath } from "./secrets.ts";

/** Whether the path will be read (read, list, sql) or written (write, append). */
export type PathMode = "read" | "write";

/** The roots and switches a path is checked against. */
export interface PathPolicy {
  /** The capsule's workspace; relative paths and `$WORKSPACE` resolve against it. */
  workspace: string;
  /** Roots for reading (absolute, or relative to the workspace). */
  readRoots: readonly string[];
  /** Roots for writing (absolute, or relative to the workspace). */
  writeRoots: readonly string[];
  /** Whether writing is allowed at all (manifest `permissions.file_write`). */
  fileWrite: boolean;
  /** Paths that are never allowed, even inside a root (secrets, control files). */
  denyPaths?: readonly string[];
  /**
   * Whether a path exists, without throwing (the host passes node:fs's
   * existsSync): most denied paths (~/.aws, ~/.netrc…) usually do not exist,
   * and a failed resolution throws, at ~12 µs a time on every check.
   */
  exists?: (path: string) => boolean;
}

/** The outcome of a path check. */
export type PathCheck =
  | {
    ok: true;
    /** Absolute, normalised logical path (what the user asked for). */
    path: string;
    /** The same path with every existing symlink resolved: operate on this one. */
    realPath: string;
    /** Whether the path exists now. */
    exists: boolean;
  }
  | { ok: false; error: string };

/**
 * Whether `child` is `parent` or lies below it. Both must be absolute and
 * normalised.
 */
export function isInside(child: string, parent: string): boolean {
  if (child === parent) return true;
  // Plain absolute paths (no `.`/`..` segment, doubled or trailing slash), as checks
  // and launch plans mostly compare: a prefix test says the same as `relative` below.
  if (plainAbsolute(child) && plainAbsolute(parent)) return child.startsWith(parent + sep);
  const rel = relative(parent, child);
  return rel !== "" && rel !== ".." && !rel.startsWith(".." + sep) && !isAbsolute(rel);
}

/** A `.` or `..` segment, a doubled slash, or a trailing one. */
const NOT_PLAIN = /(^|\/)\.\.?(\/|$)|\/\/|\/$/;

function plainAbsolute(path: string): boolean {
  return sep === "/" && path.startsWith("/") && !NOT_PLAIN.test(path);
}

/** Replaces `$WORKSPACE` and `${WORKSPACE}` with the workspace path. */
export function expandWorkspace(raw: string, workspace: string): string {
  return raw.replace(/\$\{WORKSPACE\}|\$WORKSPACE(?![A-Za-z0-9_])/g, () => workspace);
}

/** Resolves roots (relative ones against the workspace) to absolute paths. */
export function resolveRoots(workspace: string, roots: readonly string[]): string[] {
  const base = resolve(workspace);
  return roots.map((root) => resolve(base, expandWorkspace(root, base)));
}

function isNotFound(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound ||
    (error instanceof Deno.errors.NotADirectory);
}

function isPermission(error: unknown): boolean {
  return error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied;
}

/**
 * Real paths resolved before, per roots or denied-paths list: a session checks
 * every call against the same lists, fixed at launch like the sandbox built
 * on them, so each existing entry is resolved once per session instead of on
 * every call. One that does not resolve is tried again next time: it may be
 * made later, behind a link.
 */
const realPathsSeen = new WeakMap<readonly string[], Map<string, string>>();

/**
 * The real paths of `paths` (the absolute forms of the entries of `list`).
 * One that does not exist (or cannot be resolved) can only contain paths
 * that do not exist yet: its logical form stands for it.
 */
function realPathsOf(
  list: readonly string[],
  paths: readonly string[],
  exists?: (path: string) => boolean,
): string[] {
  let seen = realPathsSeen.get(list);
  if (!seen) realPathsSeen.set(list, seen = new Map());
  const known = seen;
  return paths.map((path) => {
    const hit = known.get(path);
    if (hit !== undefined) return hit;
    // Missing (or a dangling link): resolving it would only throw.
    if (surelyMissing(path, exists)) return path;
    try {
      const real = Deno.realPathSync(path);
      known.set(path, real);
      return real;
    } catch {
      return path;
    }
  });
}

/** Whether `exists` says the path is not there (a check that throws says nothing). */
function surelyMissing(path: string, exists?: (path: string) => boolean): boolean {
  try {
    return exists !== undefined && !exists(path);
  } catch {
    return false;
  }
}

/**
 * Resolves every existing symlink in `abs`: the nearest existing ancestor is
 * realpath'd and the missing tail appended. Refuses dangling or looping links.
 */
function resolveReal(
  abs: string,
): { ok: true; real: string; exists: boolean } | { ok: false; error: string } {
  // Most paths exist: one call resolves them. Sync calls on purpose: an async
  // file-system call costs ~60 µs of thread hand-off, a sync one ~2 µs, and a
  // tool call checks its path in the host and again in the guest.
  try {
    return { ok: true, real: Deno.realPathSync(abs), exists: true };
  } catch {
    // Missing, a broken link, or not allowed: find out which, part by part.
  }
  let probe = abs;
  const tail: string[] = [];
  for (;;) {
    try {
      Deno.lstatSync(probe);
      break;
    } catch (error) {
      if (isPermission(error)) {
        return { ok: false, error: `cannot check '${probe}': permission denied by the capsule` };
      }
      if (!isNotFound(error)) {
        return { ok: false, error: `cannot check '${probe}': ${(error as Error).message}` };
      }
      const parent = dirname(probe);
      if (parent === probe) break;
      tail.unshift(basename(probe));
      probe = parent;
    }
  }
  try {
    const real = Deno.realPathSync(probe);
    return { ok: true, real: tail.length ? join(real, ...tail) : real, exists: tail.length === 0 };
  } catch (error) {
    if (isPermission(error)) {
      return { ok: false, error: `cannot resolve '${probe}': permission denied by the capsule` };
    }
    // lstat succeeded but realpath failed: a dangling or looping symlink,
    // which could later be re-pointed anywhere; refuse it.
    return { ok: false, error: `'${probe}' is a broken or looping symbolic link` };
  }
}

/**
 * Checks a user-supplied path against the policy for `mode`.
 *
 * @example
 * ```ts
 * const check = checkPath("notes/a.txt", "read", {
 *   workspace: "/ws", readRoots: ["."], writeRoots: [], fileWrite: false,
 * });
 * if (check.ok) console.log(check.realPath);
 * ```
 */
export function checkPath(
  raw: unknown,
  mode: PathMode,
  policy: PathPolicy,
): PathCheck {
  if (typeof raw !== "string" || raw.trim() === "") {
    return { ok: false, error: "path must be a non-empty string" };
  }
  if (raw.includes("\0")) return { ok: false, error: "path contains a NUL byte" };
  const workspace = resolve(policy.workspace);
  const expanded = expandWorkspace(raw.trim(), workspace);
  if (expanded.startsWith("~")) {
    return {
      ok: false,
      error: `path '${raw}' starts with '~', which is not expanded: ` +
        "use a path relative to the workspace or $WORKSPACE",
    };
  }
  if (mode === "write" && !policy.fileWrite) {
    return {
      ok: false,
      error: `writing '${raw}' is not allowed: this agent has no file write permission`,
    };
  }
  const roots = resolveRoots(workspace, mode === "read" ? policy.readRoots : policy.writeRoots);
  if (roots.length === 0) {
    return { ok: false, error: `path '${raw}' refused: this agent has no ${mode} roots` };
  }
  const abs = resolve(workspace, expanded);
  const rootList = roots.join(", ");
  if (!roots.some((root) => isInside(abs, root))) {
    return {
      ok: false,
      error: `path '${raw}' resolves to '${abs}', outside the allowed ${mode} roots: ${rootList}`,
    };
  }
  const real = resolveReal(abs);
  if (!real.ok) return real;
  const realRoots = realPathsOf(
    mode === "read" ? policy.readRoots : policy.writeRoots,
    roots,
    policy.exists,
  );
  if (!realRoots.some((root) => isInside(real.real, root))) {
    return {
      ok: false,
      error: `path '${raw}' goes through a symbolic link to '${real.real}', ` +
        `outside the allowed ${mode} roots: ${rootList}`,
    };
  }
  const denyList = policy.denyPaths ?? [];
  const denied = resolveRoots(workspace, denyList);
  const deniedReal = realPathsOf(denyList, denied, policy.exists);
  for (const [i, path] of denied.entries()) {
    if (isInside(abs, path) || isInside(real.real, path) || isInside(real.real, deniedReal[i])) {
      return { ok: false, error: `path '${raw}' is a protected file and cannot be accessed` };
    }
  }
  const secret = namedSecret(abs, real.real, roots, realRoots);
  if (secret) {
    return {
      ok: false,
      error: `path '${raw}' is a secret file ('${secret}': environment files, keys and ` +
        "credentials are refused unless the agent's manifest names the exact file)",
    };
  }
  return { ok: true, path: abs, realPath: real.real, exists: real.exists };
}

/**
 * The secret component of a path (logical or real), or null. A root that is
 * itself the file counts as the manifest naming it, so it is allowed.
 */
function namedSecret(
  abs: string,
  real: string,
  roots: string[],
  realRoots: string[],
): string | null {
  if (roots.includes(abs) || realRoots.includes(real)) return null;
  const root = roots.find((r) => isInside(abs, r)) ?? abs;
  const realRoot = realRoots.find((r) => isInside(real, r)) ?? real;
  return secretInPath(abs, root) ?? secretInPath(real, realRoot);
}
