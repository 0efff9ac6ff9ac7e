/**
 * A pids cgroup per program, for hosts where RLIMIT_NPROC cannot bind: the
 * kernel never applies it to uid 0, so a fork bomb run by root would be
 * unbounded. Used only when the host runs as root and a pids controller is
 * writable: cgroup v2 with `pids` enabled for children of the hierarchy's
 * top, or the v1 pids hierarchy. Elsewhere `pidsCgroupBase()` is "" and
 * RLIMIT_NPROC inside bubblewrap's user namespace does the job.
 *
 * Every file operation on /sys/fs/cgroup runs in a small `sh`: Deno refuses
 * /sys and /proc/self without --allow-all, and the CLI runs with narrower
 * flags (--allow-run it has). The program's own wrapper creates its group,
 * sets the limit and joins it before exec, so no child is ever outside it.
 */
import { join } from "node:path";

const SH = "/bin/sh";
let cachedBase: string | undefined;

function sh(script: string, args: string[] = []): { ok: boolean; out: string } {
  try {
    const out = new Deno.Command(SH, {
      args: ["-c", script, "sh", ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    return { ok: out.success, out: new TextDecoder().decode(out.stdout) };
  } catch {
    return { ok: false, out: "" };
  }
}

/**
 * Makes `<dir>/closed_claw` and checks that a child there gets a pids.max;
 * returns the base, or "".
 */
const PROBE = `base="$1/closed_claw"; probe="$base/probe-$$"
mkdir -p "$base" && mkdir "$probe" && test -f "$probe/pids.max" && rmdir "$probe" && echo "$base"`;

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
  const v2 = sh("grep -qw pids /sys/fs/cgroup/cgroup.subtree_control && echo yes").out.trim();
  for (const dir of v2 === "yes" ? ["/sys/fs/cgroup"] : ["/sys/fs/cgroup/pids"]) {
    const found = sh(PROBE, [dir]).out.trim();
    if (found) return (cachedBase = found);
  }
  return cachedBase;
}

/** One program's pids cgroup. */
export interface PidsGroup {
  dir: string;
  /** How often a fork was refused because the group was full (read through `sh`). */
  refusals(): number;
  /** Kills what is left in the group and removes it (best effort). */
  remove(): Promise<void>;
}

/** A pids cgroup for one program; its wrapper (`inPidsGroup`) creates, limits and joins it. */
export function createPidsGroup(base: string): PidsGroup {
  const dir = join(base, `p-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`);
  return {
    dir,
    refusals: () => {
      const events = sh('cat "$1/pids.events" 2>/dev/null', [dir]).out;
      return Number(/^max (\d+)/m.exec(events)?.[1] ?? 0);
    },
    async remove() {
      const script = `for i in 1 2 3 4 5 6 7 8 9 10; do
  [ -d "$1" ] || exit 0
  for p in $(cat "$1/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  rmdir "$1" 2>/dev/null && exit 0
  sleep 0.05
done`;
      await new Deno.Command(SH, {
        args: ["-c", script, "sh", dir],
        stdout: "null",
        stderr: "null",
      })
        .output().catch(() => {});
    },
  };
}

/**
 * The command that creates `dir` with `max` tasks allowed, moves itself into
 * it and then runs `argv` (children inherit the group). If the group cannot
 * be made the program does not start.
 */
export function inPidsGroup(dir: string, argv: string[], max: number): string[] {
  const script = 'mkdir "$1" && echo "$2" > "$1/pids.max" && echo 0 > "$1/cgroup.procs" && ' +
    'shift 2 && exec "$@"';
  return [SH, "-c", script, "sh", dir, String(max), ...argv];
}
