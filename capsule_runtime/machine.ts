/**
 * Facts about this machine that the launcher needs: where Deno is, whether
 * bubblewrap works, what the system folders look like, which guest the
 * capsules run, and a Deno cache warm for it. Gathered once per process.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { probeBubblewrap } from "./bwrap_probe.ts";
import {
  bundleIsFresh,
  GUEST_BASE_FLAGS,
  GUEST_BUNDLE,
  GUEST_DIR,
  GUEST_MAIN,
  PRODUCT_ROOT,
} from "./guest_bundle.ts";
import {
  DENO_CACHE_FILES,
  type LaunchPlan,
  SYSTEM_ETC_FILES,
  type SystemPath,
} from "./launcher.ts";

const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt"];

export interface MachineFacts {
  denoPath: string;
  bwrapPath: string;
  bwrapError: string;
  systemPaths: SystemPath[];
  etcPaths: string[];
  /** The product's root folder (never writable by a capsule, read-only for programs). */
  productRoot: string;
  guestEntry: string;
  guestSources: string[];
}

/**
 * The guest every capsule runs, and the paths it reads (bound read-only into
 * the sandbox): the one-file bundle guest/dist/guest.js (guest_bundle.ts).
 * When guest/ was edited and not rebuilt yet, the sources themselves, as
 * before the bundle (slower to start; the bundle test fails meanwhile).
 */
export function guestFiles(): { entry: string; sources: string[]; productRoot: string } {
  return bundleIsFresh()
    ? { entry: GUEST_BUNDLE, sources: [GUEST_BUNDLE], productRoot: PRODUCT_ROOT }
    : { entry: GUEST_MAIN, sources: [GUEST_DIR], productRoot: PRODUCT_ROOT };
}

function systemPaths(): SystemPath[] {
  const out: SystemPath[] = [];
  for (const path of SYSTEM_DIRS) {
    try {
      const info = Deno.lstatSync(path);
      if (info.isSymlink) out.push({ path, symlinkTarget: Deno.readLinkSync(path) });
      else if (info.isDirectory) out.push({ path });
    } catch {
      // not on this machine
    }
  }
  return out;
}

function existing(paths: string[]): string[] {
  return paths.filter((p) => {
    try {
      Deno.statSync(p);
      return true;
    } catch {
      return false;
    }
  });
}

let facts: Promise<MachineFacts> | null = null;

/** Machine facts, probed once per process. */
export function machineFacts(): Promise<MachineFacts> {
  facts ??= (async () => {
    const bwrap = await probeBubblewrap();
    const guest = guestFiles();
    return {
      denoPath: Deno.execPath(),
      bwrapPath: bwrap.works ? bwrap.path : "",
      bwrapError: bwrap.works ? "" : bwrap.error,
      systemPaths: systemPaths(),
      etcPaths: existing(SYSTEM_ETC_FILES),
      productRoot: guest.productRoot,
      guestEntry: guest.entry,
      guestSources: guest.sources,
    };
  })();
  return facts;
}

const warmed = new Map<string, Promise<void>>();

function folderExists(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/**
 * The `node:` modules the guest loads after it starts, not at start
 * (guest/policy/node_path.ts, guest/tools/pinned_fetch.ts,
 * guest/policy/ssrf.ts, the sql_query worker); warmGuestCache caches them
 * too. tests/unit/capsule_runtime_machine_test.ts checks the list against
 * the guest's sources.
 */
export const GUEST_LATE_NODE_MODULES = [
  "node:path",
  "node:http",
  "node:https",
  "node:zlib",
  "node:dns/promises",
  "node:sqlite",
];

/**
 * Fills `denoDir` with what makes a capsule start fast: V8's code cache for
 * the guest (or `entry`, a test guest) and for the `node:` modules it loads,
 * and the emit of a TypeScript entry. Capsules only read this cache (inside
 * bubblewrap its files are bound read-only, launcher.ts), so it is made
 * here, outside any sandbox, with no permission and the capsules' own V8
 * flags (V8 refuses a cache made under other flags, so launch_plan.ts keeps
 * one cache per heap size):
 *
 * 1. the guest runs once: says `ready`, reads the end of its input and
 *    exits; then a one-line module imports GUEST_LATE_NODE_MODULES. Deno
 *    caches every module they compiled;
 * 2. Deno's cache databases (SQLite) get their statistics and their
 *    write-ahead log folded in, since a capsule sees only the database files:
 *    without statistics its Deno would try to write them when it opens a
 *    database, fail on the read-only file and drop the whole cache.
 *
 * A stamp in `denoDir` then records the Deno, entry (path, size, time) and
 * flags it was made for, so later processes skip all this.
 * tests/integration/capsule_runtime_code_cache_test.ts proves a warmed
 * capsule compiles nothing before `ready`. Once per process for each cache,
 * entry and flags; the folder is checked on every call (one stat): when the
 * data dir was deleted meanwhile, the cache is built again rather than
 * trusted from memory (bubblewrap cannot bind a missing folder).
 */
export function warmGuestCache(
  denoDir: string,
  entry: string,
  v8Flags: readonly string[] = [],
): Promise<void> {
  const key = [denoDir, entry, ...v8Flags].join("\0");
  let done = warmed.get(key);
  if (done && !folderExists(denoDir)) done = undefined;
  if (!done) {
    done = (async () => {
      Deno.mkdirSync(denoDir, { recursive: true });
      const stamp = join(denoDir, `warm-${warmStamp(entry, v8Flags)}`);
      if (fileExists(stamp)) return;
      const run = (specifier: string) => runDeno(denoDir, v8Flags, specifier);
      await run(entry);
      await run(LATE_MODULES_SCRIPT);
      settleCacheDatabases(denoDir);
      Deno.writeTextFileSync(stamp, `${entry}\n${v8Flags.join(" ")}\n`);
    })().catch((error) => {
      warmed.delete(key);
      throw error;
    });
    warmed.set(key, done);
  }
  return done;
}

/** What a warm cache was made for: this Deno, the entry as it is now, the flags, the modules. */
function warmStamp(entry: string, v8Flags: readonly string[]): string {
  let file = "missing";
  try {
    const info = Deno.statSync(entry);
    file = `${info.size}:${info.mtime?.getTime()}`;
  } catch {
    // runDeno reports it
  }
  const facts = [Deno.version.deno, entry, file, ...v8Flags, ...GUEST_LATE_NODE_MODULES];
  return createHash("sha256").update(facts.join("\0")).digest("hex").slice(0, 16);
}

const WARM_TIMEOUT_MS = 30_000;
/** Deno's SQLite caches a capsule reads (module info, CommonJS analysis, V8 code). */
const CACHE_DATABASES = DENO_CACHE_FILES.filter((name) => name !== "gen");
const LATE_MODULES_SCRIPT = `data:text/javascript,${
  encodeURIComponent(
    `await Promise.all(${JSON.stringify(GUEST_LATE_NODE_MODULES)}.map((m) => import(m)));`,
  )
}`;

/**
 * Runs a guest with its input closed (it must say `ready`, then exits at the
 * end of its input) or the late-modules script (it must exit cleanly).
 */
async function runDeno(
  denoDir: string,
  v8Flags: readonly string[],
  specifier: string,
): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...GUEST_BASE_FLAGS, ...v8Flags, specifier],
    env: { DENO_DIR: denoDir, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // A guest that hangs must not hang the caller.
  const timer = setTimeout(() => child.kill("SIGKILL"), WARM_TIMEOUT_MS);
  const out = await child.output().finally(() => clearTimeout(timer));
  const script = specifier === LATE_MODULES_SCRIPT;
  const ok = script
    ? out.success
    : /^\{[^\n]*"type"\s*:\s*"ready"/.test(new TextDecoder().decode(out.stdout));
  if (!ok) {
    const why = new TextDecoder().decode(out.stderr).trim() || `exit code ${out.code}`;
    const what = script ? "warm the capsule cache" : `start the capsule guest ${specifier}`;
    throw new Error(`could not ${what}: ${why.slice(0, 2000)}`);
  }
}

/**
 * Gives each of Deno's cache databases in `denoDir` its query statistics
 * (the `PRAGMA optimize` Deno runs on opening one is then a no-op, not a
 * write) and folds its write-ahead log into the database. Best effort: a
 * database that is busy or missing is left as it is (capsules start slower).
 */
function settleCacheDatabases(denoDir: string): void {
  for (const name of CACHE_DATABASES) {
    const path = join(denoDir, name);
    if (!fileExists(path)) continue;
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(path);
      db.exec("ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);");
    } catch {
      // busy (another process warms it too) or not a database
    } finally {
      db?.close();
    }
  }
}

function fileExists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Warms the cache a launch plan's capsule reads, for its guest and V8 flags. */
export function warmPlanCache(plan: LaunchPlan): Promise<void> {
  return warmGuestCache(
    plan.env.DENO_DIR,
    plan.guestEntry,
    plan.denoFlags.filter((flag) => flag.startsWith("--v8-flags=")),
  );
}
