/**
 * Runs one child process for terminal and python_exec: no shell, stdin closed,
 * stdout and stderr drained concurrently into capped buffers, killed on
 * timeout or abort. Guest-safe.
 *
 * When the capsule holds the full run permission the child gets its own
 * process group, and the whole group is killed on timeout and after exit (no
 * background leftovers). With a narrow `--allow-run=<bin>` Deno refuses
 * `kill(-pgid)`, so the child stays in the capsule's group instead: the host's
 * group kill of the capsule (or bwrap's --die-with-parent) reaps what is left.
 */
import { type CappedText, TextCapper } from "../policy/output.ts";
import { describeError, firstLine } from "./errors.ts";

/** Default per-stream output cap: 50,000 characters, as documented for the CLI. */
export const DEFAULT_MAX_OUTPUT_CHARS = 50_000;

/** Environment names copied to children by default. */
export const CHILD_ENV_NAMES = [
  "PATH",
  "HOME",
  "LANG",
  "LC_ALL",
  "LC_CTYPE",
  "TZ",
  "TMPDIR",
  "TERM",
  "USER",
  "LOGNAME",
  "SYSTEMROOT",
] as const;

/** How to run a child. */
export interface ProcessOptions {
  cwd: string;
  /** Explicit environment; when absent, `CHILD_ENV_NAMES` are copied from ours. */
  env?: Record<string, string>;
  /** Added on top of the environment (e.g. PYTHONUNBUFFERED). */
  extraEnv?: Record<string, string>;
  timeoutMs: number;
  maxOutputChars: number;
  signal?: AbortSignal;
  /** Sees each chunk of stderr as it arrives (the host watches it for limit breaches). */
  onStderr?: (chunk: Uint8Array) => void;
}

/** What happened to the child. */
export type ProcessOutcome =
  | {
    ok: true;
    /** Exit code (128+n when killed by signal n). */
    code: number;
    signal: string | null;
    stdout: CappedText;
    stderr: CappedText;
    timedOut: boolean;
    aborted: boolean;
    /** Set by the host when a resource limit stopped the program (code like `limit_cpu`). */
    limit?: { code: string; message: string };
  }
  | { ok: false; error: string };

/** Grace period for pipes to close after the child exits (a grandchild may hold them). */
const DRAIN_GRACE_MS = 1_000;

/** Whether we may signal a whole process group (needs the full run permission). */
function canKillGroups(): boolean {
  try {
    return Deno.permissions.querySync({ name: "run" }).state === "granted";
  } catch {
    return false;
  }
}

/** The child environment: explicit, or the safe names copied from our own env. */
function childEnv(
  explicit?: Record<string, string>,
): { env?: Record<string, string>; clearEnv: boolean } {
  if (explicit) return { env: explicit, clearEnv: true };
  const env: Record<string, string> = {};
  for (const name of CHILD_ENV_NAMES) {
    try {
      const value = Deno.env.get(name);
      if (value !== undefined) env[name] = value;
    } catch {
      // No --allow-env for this name: fall back to inheriting (the launcher
      // already gave the capsule a scrubbed environment).
      return { clearEnv: false };
    }
  }
  return { env, clearEnv: true };
}

async function drain(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  capper: TextCapper,
  onChunk?: (chunk: Uint8Array) => void,
): Promise<void> {
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      capper.push(value);
      onChunk?.(value);
    }
  } catch {
    // The stream was cancelled after the grace period; keep what we have.
  } finally {
    reader.releaseLock();
  }
}

function killChild(child: Deno.ChildProcess, group: boolean): void {
  if (group) {
    try {
      Deno.kill(-child.pid, "SIGKILL");
      return;
    } catch {
      // Group already gone or not signalable: fall through to the child.
    }
  }
  try {
    child.kill("SIGKILL");
  } catch {
    // Already exited.
  }
}

/**
 * Runs `command` with `args` and returns its capped output. Never throws.
 *
 * @example
 * ```ts
 * const out = await runProcess("echo", ["hi"], { cwd: ".", timeoutMs: 5000, maxOutputChars: 100 });
 * if (out.ok) console.log(out.stdout.text); // "hi\n"
 * ```
 */
export async function runProcess(
  command: string,
  args: string[],
  options: ProcessOptions,
): Promise<ProcessOutcome> {
  if (options.signal?.aborted) return { ok: false, error: "cancelled before start" };
  try {
    const info = await Deno.stat(options.cwd);
    if (!info.isDirectory) {
      return { ok: false, error: `workspace '${options.cwd}' is not a directory` };
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return { ok: false, error: `workspace '${options.cwd}' does not exist` };
    }
    // Without read permission on the workspace, let spawn report the problem.
  }
  const group = canKillGroups();
  const { env, clearEnv } = childEnv(options.env);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command, {
      args,
      cwd: options.cwd,
      env: { ...env, ...options.extraEnv },
      clearEnv,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: group,
    }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return { ok: false, error: `command not found on PATH: ${command}` };
    }
    if (error instanceof Deno.errors.NotCapable) {
      return {
        ok: false,
        error:
          `running '${command}' is not permitted by the capsule's Deno permissions (--allow-run)`,
      };
    }
    if (error instanceof Deno.errors.PermissionDenied) {
      return { ok: false, error: `permission denied executing '${command}'` };
    }
    return { ok: false, error: describeError(error, `starting '${command}'`) };
  }

  const stdout = new TextCapper(options.maxOutputChars);
  const stderr = new TextCapper(options.maxOutputChars);
  const readers = [child.stdout.getReader(), child.stderr.getReader()];
  const drained = Promise.all([
    drain(readers[0], stdout),
    drain(readers[1], stderr, options.onStderr),
  ]);
  let timedOut = false;
  let aborted = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killChild(child, group);
  }, options.timeoutMs);
  const onAbort = () => {
    aborted = true;
    killChild(child, group);
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });
  // An abort that came while the child was being started fired no listener: act on it now.
  if (options.signal?.aborted) onAbort();

  try {
    const status = await child.status;
    // Reap anything the child left running in its group.
    if (group) {
      try {
        Deno.kill(-child.pid, "SIGKILL");
      } catch {
        // Nothing left: the normal case.
      }
    }
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<"late">((resolve) => {
      graceTimer = setTimeout(() => resolve("late"), DRAIN_GRACE_MS);
    });
    if (await Promise.race([drained, grace]) === "late") {
      // A grandchild we could not kill still holds a pipe: stop waiting.
      await Promise.allSettled(readers.map((reader) => reader.cancel()));
      await drained;
    }
    clearTimeout(graceTimer);
    return {
      ok: true,
      code: status.code,
      signal: status.signal,
      stdout: stdout.finish(),
      stderr: stderr.finish(),
      timedOut,
      aborted,
    };
  } catch (error) {
    killChild(child, group);
    return { ok: false, error: `process failed: ${firstLine(error)}` };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}
