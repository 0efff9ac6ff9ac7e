/**
 * What this machine offers to enforce resource limits, found once per
 * process: util-linux's `prlimit`, a writable pids cgroup (root only),
 * whether bubblewrap can size a tmpfs, and a plain account of which limits
 * hold here (`doctor` prints it).
 */
import { findOnPath } from "./bwrap_probe.ts";
import { isRoot, memoryCgroupBase, pidsCgroupBase } from "./pids_cgroup.ts";

export interface LimitFacts {
  /** util-linux's prlimit, or "". */
  prlimitPath: string;
  /** Where per-program pids cgroups go, or "". */
  pidsCgroupBase: string;
  /** The host runs as uid 0 (RLIMIT_NPROC never binds root). */
  root: boolean;
}

let cached: LimitFacts | undefined;

/** The facts, probed once. */
export function limitFacts(): LimitFacts {
  if (cached) return cached;
  cached = {
    prlimitPath: Deno.build.os === "linux" ? findOnPath("prlimit") : "",
    pidsCgroupBase: pidsCgroupBase(),
    root: Deno.build.os === "linux" && isRoot(),
  };
  return cached;
}

const bwrapSizes = new Map<string, boolean>();

/** Whether this bubblewrap knows `--size` (0.8+), to bound a sandbox's /tmp. */
export function bwrapKnowsSize(bwrapPath: string): boolean {
  let known = bwrapSizes.get(bwrapPath);
  if (known === undefined) {
    try {
      const out = new Deno.Command(bwrapPath, {
        args: ["--help"],
        stdout: "piped",
        stderr: "piped",
      })
        .outputSync();
      known = new TextDecoder().decode(out.stdout).includes("--size");
    } catch {
      known = false;
    }
    bwrapSizes.set(bwrapPath, known);
  }
  return known;
}

/** One line per kind of limit: whether it holds here, and how. */
export function limitStatus(
  facts: LimitFacts,
  bwrapWorks: boolean,
): { limit: string; active: boolean; how: string }[] {
  const rl = facts.prlimitPath !== "";
  const how = (yes: string) => rl ? yes : "not enforced: util-linux's prlimit is missing";
  let processes = "not enforced: needs bubblewrap (RLIMIT_NPROC in its own user namespace)";
  let procActive = false;
  if (facts.root && facts.pidsCgroupBase) {
    [procActive, processes] = [true, `pids cgroup (${facts.pidsCgroupBase})`];
  } else if (facts.root) {
    processes = "not enforced: running as root, where RLIMIT_NPROC never binds, " +
      "and no writable pids cgroup (cgroup v2 delegation or v1 pids)";
  } else if (bwrapWorks && rl) {
    [procActive, processes] = [true, "RLIMIT_NPROC inside bubblewrap's user namespace"];
  }
  return [
    {
      limit: "memory (programs)",
      active: rl,
      how: how(
        facts.root && memoryCgroupBase()
          ? `RLIMIT_AS via prlimit + memory cgroup (${memoryCgroupBase()}), which also counts memfd and shared memory`
          : "RLIMIT_AS via prlimit (memory in memfd files or pipes is not counted without a memory cgroup, which needs root)",
      ),
    },
    {
      limit: "memory (agent)",
      active: true,
      how: rl ? "V8 heap flag + RLIMIT_DATA" : "V8 heap flag",
    },
    { limit: "processes/threads", active: procActive && rl, how: rl ? processes : how("") },
    { limit: "CPU time", active: rl, how: how("RLIMIT_CPU via prlimit") },
    { limit: "largest file", active: rl, how: how("RLIMIT_FSIZE via prlimit") },
    { limit: "open files", active: rl, how: how("RLIMIT_NOFILE via prlimit") },
    { limit: "bytes written per run", active: true, how: "the host meters the write roots" },
  ];
}
