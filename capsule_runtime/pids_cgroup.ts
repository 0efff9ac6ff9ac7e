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

/** Whether the host runs as uid 0 (false without --allow-sys). */
export function isRoot(): boolean {
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

const V1_MEMORY = "/sys/fs/cgroup/memory";
let cachedMemoryBase: string | undefined;

/**
 * Where per-program memory cgroups go in a v1 hierarchy, or "" (v2 keeps
 * memory in the pids group's own folder, when enabled there). RLIMIT_AS does
 * not count memory held in memfd files, pipes or shared memory; a memory
 * cgroup counts all of it.
 */
export function memoryCgroupBase(): string {
  if (cachedMemoryBase !== undefined) return cachedMemoryBase;
  cachedMemoryBase = "";
  if (!pidsCgroupBase().startsWith("/sys/fs/cgroup/pids/")) return cachedMemoryBase;
  const probe = `base="$1/closed_claw"; probe="$base/probe-$$"
mkdir -p "$base" && mkdir "$probe" && test -f "$probe/memory.limit_in_bytes" && rmdir "$probe" && echo "$base"`;
  cachedMemoryBase = sh(probe, [V1_MEMORY]).out.trim();
  return cachedMemoryBase;
}

/** One program's pids cgroup (and memory cgroup, where there is one). */
export interface PidsGroup {
  dir: string;
  /** Its v1 memory cgroup, or "" (v2: memory lives in `dir`). */
  memoryDir: string;
  /** How often a fork was refused because the group was full (read through `sh`). */
  refusals(): number;
  /** How many processes the kernel killed for going over the memory limit. */
  oomKills(): number;
  /** Kills what is left in the group and removes it (best effort). */
  remove(): Promise<void>;
}

/** A pids cgroup for one program; its wrapper (`inPidsGroup`) creates, limits and joins it. */
export function createPidsGroup(base: string): PidsGroup {
  const name = `p-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const dir = join(base, name);
  const memBase = memoryCgroupBase();
  const memoryDir = memBase ? join(memBase, name) : "";
  return {
    dir,
    memoryDir,
    refusals: () => {
      const events = sh('cat "$1/pids.events" 2>/dev/null', [dir]).out;
      return Number(/^max (\d+)/m.exec(events)?.[1] ?? 0);
    },
    oomKills: () => {
      const where = memoryDir ? join(memoryDir, "memory.oom_control") : join(dir, "memory.events");
      const text = sh('cat "$1" 2>/dev/null', [where]).out;
      return Number(/^oom_kill (\d+)/m.exec(text)?.[1] ?? 0);
    },
    async remove() {
      const script = `for i in 1 2 3 4 5 6 7 8 9 10; do
  [ -d "$1" ] || exit 0
  for p in $(cat "$1/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  rmdir "$1" 2>/dev/null && exit 0
  sleep 0.05
done`;
      for (const group of [dir, memoryDir].filter(Boolean)) {
        await new Deno.Command(SH, {
          args: ["-c", script, "sh", group],
          stdout: "null",
          stderr: "null",
        })
          .output().catch(() => {});
      }
    },
  };
}

/**
 * The command that creates `dir` with `max` tasks allowed, moves itself into
 * it and then runs `argv` (children inherit the group). If the group cannot
 * be made the program does not start.
 */
export function inPidsGroup(
  group: Pick<PidsGroup, "dir" | "memoryDir">,
  argv: string[],
  max: number,
  memoryBytes: number,
): string[] {
  // v2: memory.max sits beside pids.max when the controller is enabled; v1: its own group.
  const script = 'mkdir "$1" && echo "$3" > "$1/pids.max" && ' +
    '{ [ ! -f "$1/memory.max" ] || echo "$4" > "$1/memory.max"; } && ' +
    '{ [ -z "$2" ] || { mkdir "$2" && echo "$4" > "$2/memory.limit_in_bytes" && ' +
    'echo 0 > "$2/cgroup.procs"; }; } && echo 0 > "$1/cgroup.procs" && shift 4 && exec "$@"';
  return [
    SH,
    "-c",
    script,
    "sh",
    group.dir,
    group.memoryDir,
    String(max),
    String(memoryBytes),
    ...argv,
  ];
}
