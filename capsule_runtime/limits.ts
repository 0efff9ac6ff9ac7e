/**
 * Resource limits of a capsule and of every program it has the host start:
 * the manifest's optional `limits` with safe defaults, the `prlimit` (util-linux)
 * arguments that put them on a process before it starts, and how a breach is
 * recognised from what a program left behind. Pure: no process is touched here.
 *
 * - programs (terminal, python_exec): address space, processes/threads, CPU
 *   time, largest file, open files; bytes written per run are metered by the host.
 * - the guest (`deno run`): V8 needs ~64 GiB of *address space* for its cages,
 *   so RLIMIT_AS cannot bound it; its heap flag and RLIMIT_DATA (heap plus a fixed
 *   allowance for Deno's own mappings, which also bounds ArrayBuffers) do.
 * - RLIMIT_NPROC counts per user and never binds uid 0: it is set only inside
 *   bubblewrap's fresh user namespace (there it counts the sandbox alone), and
 *   a pids cgroup bounds processes where the host runs as root (see pids_cgroup.ts).
 */
import type { Manifest } from "./manifest.ts";

/** The manifest's `limits`, every field filled in. Sizes in MiB. */
export interface Limits {
  /** Address space of each program (RLIMIT_AS), MiB. */
  memory_mb: number;
  /** The guest's V8 heap, MiB (its data segment gets this plus GUEST_DATA_ALLOWANCE_MB). */
  guest_memory_mb: number;
  /** Processes and threads in one program's sandbox (and in the capsule's). */
  processes: number;
  /** CPU seconds per program (the guest gets GUEST_CPU_FACTOR times this). */
  cpu_seconds: number;
  /** Largest file a program or the guest may write, MiB (RLIMIT_FSIZE). */
  file_size_mb: number;
  /** Open files per process (RLIMIT_NOFILE). */
  open_files: number;
  /** Growth of the write roots over one capsule run, MiB (metered by the host). */
  bytes_written_mb: number;
  /** Bytes (up plus down) programs may move to each network host over one run, MiB (egress proxy). */
  egress_mb: number;
}

/** The defaults: safe for one agent on a laptop, generous for normal scripts. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  memory_mb: 1024,
  guest_memory_mb: 768,
  processes: 256,
  cpu_seconds: 120,
  file_size_mb: 256,
  open_files: 512,
  bytes_written_mb: 1024,
  egress_mb: 512,
});

/** Accepted range of each limit (the manifest schema enforces it). */
export const LIMIT_RANGES: Readonly<Record<keyof Limits, [number, number]>> = Object.freeze({
  memory_mb: [64, 65_536],
  guest_memory_mb: [128, 16_384],
  processes: [8, 4_096],
  cpu_seconds: [1, 3_600],
  file_size_mb: [1, 65_536],
  open_files: [32, 65_536],
  bytes_written_mb: [1, 1_048_576],
  egress_mb: [1, 1_048_576],
});

/** Deno's own writable mappings (thread stacks, code space) beside the heap, measured ~600 MiB. */
export const GUEST_DATA_ALLOWANCE_MB = 1024;
/** The guest mostly waits for the model; it may use this many times a program's CPU time. */
export const GUEST_CPU_FACTOR = 5;
/** Seconds between SIGXCPU (soft limit) and SIGKILL (hard limit). */
const CPU_GRACE_S = 2;

/** The limits of one capsule run and how this machine enforces them. */
export interface LimitPlan {
  limits: Limits;
  /** false: nothing is enforced (benchmarks compare starting with and without). */
  enforce: boolean;
  /** util-linux's prlimit, or "" (then no rlimits are set). */
  prlimitPath: string;
  /** Where per-program pids cgroups go, or "" (see pids_cgroup.ts). */
  pidsCgroupBase: string;
}

/** The typed errors a breach ends a tool call with (the model and the run log see them). */
export type LimitCode =
  | "limit_memory"
  | "limit_processes"
  | "limit_cpu"
  | "limit_file_size"
  | "limit_open_files"
  | "limit_bytes_written";

/** One breach: its code and one line for the model. */
export interface LimitBreach {
  code: LimitCode;
  message: string;
}

/** The manifest's limits with the defaults filled in. */
export function effectiveLimits(manifest: Pick<Manifest, "limits">): Limits {
  return { ...DEFAULT_LIMITS, ...manifest.limits };
}

const MIB = 1024 * 1024;

/**
 * The `prlimit` options (before `--`) for a program or for the guest.
 * `nproc` only where it counts what we mean (a fresh user namespace).
 */
export function prlimitOptions(
  limits: Limits,
  who: "program" | "guest",
  nproc: boolean,
): string[] {
  const cpu = who === "guest" ? limits.cpu_seconds * GUEST_CPU_FACTOR : limits.cpu_seconds;
  const opts = who === "program"
    ? [`--as=${limits.memory_mb * MIB}`]
    : [`--data=${(limits.guest_memory_mb + GUEST_DATA_ALLOWANCE_MB) * MIB}`];
  if (nproc) opts.push(`--nproc=${limits.processes}`);
  opts.push(
    `--cpu=${cpu}:${cpu + CPU_GRACE_S}`,
    `--fsize=${limits.file_size_mb * MIB}`,
    `--nofile=${limits.open_files}`,
    "--core=0",
  );
  return opts;
}

/** One line per limit, for `closed-claw agent`, the dashboard and doctor. */
export function describeLimits(limits: Limits): { name: keyof Limits; label: string }[] {
  return [
    { name: "memory_mb", label: `memory ${limits.memory_mb} MiB per program (address space)` },
    { name: "guest_memory_mb", label: `agent heap ${limits.guest_memory_mb} MiB` },
    { name: "processes", label: `${limits.processes} processes/threads` },
    { name: "cpu_seconds", label: `CPU ${limits.cpu_seconds} s per program` },
    { name: "file_size_mb", label: `largest file ${limits.file_size_mb} MiB` },
    { name: "open_files", label: `${limits.open_files} open files` },
    { name: "bytes_written_mb", label: `${limits.bytes_written_mb} MiB written per run` },
  ];
}

const SIGXCPU = 24;
const SIGXFSZ = 25;

/** Marks in a program's stderr that a limit stopped it, most specific first. */
const STDERR_MARKS: [RegExp, LimitCode][] = [
  [/CPU time limit exceeded/, "limit_cpu"],
  [/File size limit exceeded|File too large|\[Errno 27\]/, "limit_file_size"],
  [/Too many open files|\[Errno 24\]/, "limit_open_files"],
  [/fork: (retry: )?Resource temporarily unavailable|can't start new thread/, "limit_processes"],
  [/BlockingIOError: \[Errno 11\]|Cannot fork|fork failed/, "limit_processes"],
  [/MemoryError|Cannot allocate memory|cannot allocate \d+ bytes|out of memory/i, "limit_memory"],
  [/std::bad_alloc|\[Errno 12\]/, "limit_memory"],
];

/** The breach a live stderr chunk shows that will not end by itself (a fork bomb spins). */
export function liveBreach(stderr: string): LimitCode | null {
  return /fork: retry: Resource temporarily unavailable/.test(stderr) ? "limit_processes" : null;
}

/** Which limit stopped a program that ended with `code`, judging by its exit and stderr. */
export function breachOf(code: number, stderr: string): LimitCode | null {
  if (code === 0) return null;
  if (code === 128 + SIGXCPU) return "limit_cpu";
  if (code === 128 + SIGXFSZ) return "limit_file_size";
  for (const [mark, limit] of STDERR_MARKS) if (mark.test(stderr)) return limit;
  return null;
}

/** The line the model sees for a breach. */
export function breachMessage(code: LimitCode, limits: Limits): string {
  const what: Record<LimitCode, string> = {
    limit_memory: `more than ${limits.memory_mb} MiB of memory (limits.memory_mb)`,
    limit_processes: `more than ${limits.processes} processes or threads (limits.processes)`,
    limit_cpu: `more than ${limits.cpu_seconds} s of CPU time (limits.cpu_seconds)`,
    limit_file_size: `a file larger than ${limits.file_size_mb} MiB (limits.file_size_mb)`,
    limit_open_files: `more than ${limits.open_files} open files (limits.open_files)`,
    limit_bytes_written:
      `more than ${limits.bytes_written_mb} MiB written in this run (limits.bytes_written_mb)`,
  };
  return `${code}: the program needed ${
    what[code]
  } and was stopped; do the work in smaller pieces or ask the user to raise the agent's limit`;
}
