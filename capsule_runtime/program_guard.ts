/**
 * Holds one program to its limits while it runs: `prlimit` before the
 * program (set in the kernel before it starts), a pids cgroup around the
 * sandbox where RLIMIT_NPROC cannot bind (root), and a watch that stops the
 * program at once when a limit is hit that would not end it (a fork bomb
 * spinning against the process limit, the write roots growing past the
 * run's budget). Afterwards it names the breach, if any, as a typed error.
 */
import type { ProcessOutcome } from "../guest/tools/process.ts";
import type { LaunchPlan } from "./launcher.ts";
import {
  breachMessage,
  breachOf,
  DEFAULT_LIMITS,
  type LimitCode,
  type Limits,
  liveBreach,
  prlimitOptions,
} from "./limits.ts";
import { createPidsGroup, inPidsGroup, type PidsGroup } from "./pids_cgroup.ts";
import { watchWrites, WriteMeter } from "./write_meter.ts";

const MIB = 1024 * 1024;

/** One meter per capsule run: the plan is made once per run and shared by its attempts. */
const meters = new WeakMap<LaunchPlan, WriteMeter | null>();

/** The run's write meter (shared by its programs and its MCP servers); null without write roots. */
export function meterFor(plan: LaunchPlan, limits: Limits): WriteMeter | null {
  if (!meters.has(plan)) {
    const box = plan.programSandbox;
    const roots = box ? box.writeRoots : plan.permissions.writeRoots;
    const skip = box ? [...box.hiddenDirs, ...box.readOnlyDirs] : [];
    meters.set(
      plan,
      roots.length ? new WriteMeter(roots, skip, limits.bytes_written_mb * MIB) : null,
    );
  }
  return meters.get(plan) ?? null;
}

/** The limits and their enforcement for one program run. */
export class ProgramGuard {
  readonly limits: Limits;
  readonly signal: AbortSignal;
  #abort = new AbortController();
  #breach: LimitCode | null = null;
  #group: PidsGroup | null = null;
  #meter: WriteMeter | null;
  #stopWatch: () => void = () => {};
  #tail = "";
  #decoder = new TextDecoder();

  constructor(readonly plan: LaunchPlan, signal?: AbortSignal) {
    this.limits = plan.limits?.limits ?? { ...DEFAULT_LIMITS };
    this.signal = signal ? AbortSignal.any([this.#abort.signal, signal]) : this.#abort.signal;
    this.#meter = plan.limits?.enforce === false ? null : meterFor(plan, this.limits);
  }

  /** Before the start: the run's write baseline, and the pids cgroup. Returns a breach already hit. */
  async begin(): Promise<LimitCode | null> {
    if (this.#meter && await this.#meter.over()) return "limit_bytes_written";
    const base = this.plan.limits?.enforce ? this.plan.limits.pidsCgroupBase : "";
    if (base) this.#group = createPidsGroup(base);
    // Refused forks show on stderr (onStderr); the group's own count is read at the end.
    if (this.#meter) {
      this.#stopWatch = watchWrites(this.#meter, () => this.#stop("limit_bytes_written"));
    }
    return null;
  }

  /** `argv` under prlimit (when util-linux's prlimit is here). */
  limited(argv: string[], sandboxed: boolean): string[] {
    const lp = this.plan.limits;
    if (!lp?.enforce || !lp.prlimitPath) return argv;
    // Only a fresh user namespace makes RLIMIT_NPROC count this program alone.
    return [lp.prlimitPath, ...prlimitOptions(this.limits, "program", sandboxed), "--", ...argv];
  }

  /** The outermost command: inside the pids cgroup when there is one. */
  outer(argv: string[]): string[] {
    return this.#group
      ? inPidsGroup(this.#group, argv, this.limits.processes, this.limits.memory_mb * 1024 * 1024)
      : argv;
  }

  /** Watches stderr for a breach that would not end the program by itself. */
  readonly onStderr = (chunk: Uint8Array): void => {
    this.#tail = (this.#tail + this.#decoder.decode(chunk, { stream: true })).slice(-400);
    const code = liveBreach(this.#tail);
    if (code) this.#stop(code);
  };

  #stop(code: LimitCode): void {
    if (this.#breach) return;
    this.#breach = code;
    this.#abort.abort(code);
  }

  /** After the program: stops watching, cleans up, and names the breach on the outcome. */
  async end(outcome: ProcessOutcome): Promise<ProcessOutcome> {
    this.#stopWatch();
    const refused = this.#group ? this.#group.refusals() > 0 : false;
    const oomKilled = this.#group ? this.#group.oomKills() > 0 : false;
    await this.#group?.remove();
    if (!outcome.ok) return outcome;
    let code = this.#breach;
    if (!code && oomKilled) code = "limit_memory";
    if (!code && !outcome.aborted) {
      code = breachOf(outcome.code, outcome.stderr.text) ??
        (refused && outcome.code !== 0 ? "limit_processes" : null);
    }
    if (!code && this.#meter && await this.#meter.over()) code = "limit_bytes_written";
    return code
      ? { ...outcome, limit: { code, message: breachMessage(code, this.limits) } }
      : outcome;
  }

  /** Releases the watch when the program never started. */
  async cancel(): Promise<void> {
    this.#stopWatch();
    await this.#group?.remove();
  }

  /** The outcome of a program refused before its start. */
  static refused(code: LimitCode, limits: Limits): ProcessOutcome {
    return { ok: false, error: breachMessage(code, limits) };
  }
}
