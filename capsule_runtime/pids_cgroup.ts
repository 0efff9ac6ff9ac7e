/**
 * A pids cgroup per program, for hosts where RLIMIT_NPROC cannot bind: the
 * kernel never applies it to uid 0, so a fork bomb run by root would be
 * unbounded. Used only when the host runs as root and a pids controller is
 * writable here: cgroup v2 delegated to us (our cgroup's subtree_control
 * lists `pids`), or the v1 pids hierarchy. Elsewhere `pidsCgroupBase()` is ""
 * and RLIMIT_NPROC inside bubblewrap's user namespace does the job.
 */
import { join } from "node:path";

let cachedBase: string | undefined;

function read(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** Our cgroup path in the v2 hierarchy and in v1's pids hierarchy, from /proc/self/cgroup. */
function ownPaths(): { v2: string | null; v1: string | null } {
  let v2: string | null = null, v1: string | null = null;
  for (const line of read("/proc/self/cgroup").split("\n")) {
    const [, controllers, path] = line.split(":");
    if (path === undefined) continue;
    if (controllers === "" && line.startsWith("0::")) v2 = path;
    else if (controllers.split(",").includes("pids")) v1 = path;
  }
  return { v2, v1 };
}

/** Makes `<dir>/closed_claw` and checks that a child there gets a pids.max. */
function usable(dir: string): string {
  const base = join(dir, "closed_claw");
  try {
    Deno.mkdirSync(base, { recursive: true });
    const probe = join(base, `probe-${Deno.pid}`);
    Deno.mkdirSync(probe);
    const ok = read(join(probe, "pids.max")) !== "";
    Deno.removeSync(probe);
    return ok ? base : "";
  } catch {
    return "";
  }
}

function isRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    return false;
  }
}

/** Where per-program pids cgroups are made, or "" (not root, or no writable pids controller). */
export function pidsCgroupBase(): string {
  if (cachedBase !== undefined) return cachedBase;
  cachedBase = "";
  if (Deno.build.os !== "linux" || !isRoot()) return cachedBase;
  const { v2, v1 } = ownPaths();
  const v2Root = read("/sys/fs/cgroup/cgroup.controllers") !== ""
    ? "/sys/fs/cgroup"
    : "/sys/fs/cgroup/unified";
  if (v2 !== null) {
    const own = join(v2Root, v2);
    if (read(join(own, "cgroup.subtree_control")).split(/\s+/).includes("pids")) {
      cachedBase = usable(own);
    }
  }
  if (!cachedBase && v1 !== null) cachedBase = usable(join("/sys/fs/cgroup/pids", v1));
  return cachedBase;
}

/** One program's pids cgroup. */
export interface PidsGroup {
  dir: string;
  /** How often a fork was refused because the group was full. */
  refusals(): number;
  /** Kills what is left in the group and removes it (best effort). */
  remove(): Promise<void>;
}

/** Makes a pids cgroup allowing `max` tasks; null when that fails. */
export function createPidsGroup(base: string, max: number): PidsGroup | null {
  const dir = join(base, `p-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`);
  try {
    Deno.mkdirSync(dir);
    Deno.writeTextFileSync(join(dir, "pids.max"), String(max));
  } catch {
    return null;
  }
  return {
    dir,
    refusals: () => Number(/^max (\d+)/m.exec(read(join(dir, "pids.events")))?.[1] ?? 0),
    async remove() {
      for (let i = 0; i < 20; i++) {
        for (const pid of read(join(dir, "cgroup.procs")).split("\n").filter(Boolean)) {
          try {
            Deno.kill(Number(pid), "SIGKILL");
          } catch {
            // gone
          }
        }
        try {
          Deno.removeSync(dir);
          return;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    },
  };
}

/** The command that moves itself into `dir` and then runs `argv` (children inherit the group). */
export function inPidsGroup(dir: string, argv: string[]): string[] {
  return ["/bin/sh", "-c", 'echo 0 > "$1/cgroup.procs" && shift && exec "$@"', "sh", dir, ...argv];
}
