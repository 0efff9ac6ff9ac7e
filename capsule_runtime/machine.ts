/**
 * Facts about this machine that the launcher needs: where Deno is, whether
 * bubblewrap works, what the system folders look like, and a Deno cache with
 * the guest already compiled. Gathered once per process.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { probeBubblewrap } from "./bwrap_probe.ts";
import { SYSTEM_ETC_FILES, type SystemPath } from "./launcher.ts";

const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt"];

export interface MachineFacts {
  denoPath: string;
  bwrapPath: string;
  bwrapError: string;
  systemPaths: SystemPath[];
  etcPaths: string[];
  guestEntry: string;
  guestSources: string[];
}

/** The guest's entry point and every source path it imports, as absolute paths. */
export function guestFiles(): { entry: string; sources: string[] } {
  const root = dirname(dirname(fileURLToPath(import.meta.url)));
  return {
    entry: join(root, "guest", "main.ts"),
    sources: [join(root, "guest")],
  };
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
 * Compiles the guest (or `entry`, a test guest) into `denoDir` once, so
 * capsules start from a warm, read-only cache with `--cached-only`. The
 * folder is checked on every call (one stat): when the data dir was deleted
 * meanwhile, the cache is built again rather than trusted from memory
 * (bubblewrap cannot bind a missing folder).
 */
export function warmGuestCache(denoDir: string, entry = guestFiles().entry): Promise<void> {
  const key = `${denoDir}\0${entry}`;
  let done = warmed.get(key);
  if (done && !folderExists(denoDir)) done = undefined;
  if (!done) {
    done = (async () => {
      Deno.mkdirSync(denoDir, { recursive: true });
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["cache", "--no-config", "--no-lock", "--no-npm", "--no-remote", entry],
        env: { DENO_DIR: denoDir, NO_COLOR: "1" },
        stdout: "null",
        stderr: "piped",
      }).output();
      if (!out.success) {
        warmed.delete(key);
        throw new Error(
          `could not compile the capsule guest: ${new TextDecoder().decode(out.stderr).trim()}`,
        );
      }
    })();
    warmed.set(key, done);
  }
  return done;
}
