/**
 * Finds out whether bubblewrap can sandbox a process on this machine. Being
 * installed is not enough: containers often forbid the user namespaces it
 * needs, so the probe runs a real, minimal sandbox.
 */

export interface BwrapStatus {
  /** `bwrap` was found. */
  installed: boolean;
  /** A test sandbox with new namespaces started and exited cleanly. */
  works: boolean;
  version: string;
  path: string;
  /** Why it does not work, when it does not. */
  error: string;
}

let cached: Promise<BwrapStatus> | null = null;

/** Probes once per process; later calls reuse the answer. */
export function probeBubblewrap(): Promise<BwrapStatus> {
  cached ??= probe();
  return cached;
}

async function probe(): Promise<BwrapStatus> {
  const path = findOnPath("bwrap");
  if (!path) {
    return { installed: false, works: false, version: "", path: "", error: "bwrap not found" };
  }
  const version = await run(path, ["--version"]);
  const test = await run(path, [
    "--ro-bind",
    "/",
    "/",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
    "--unshare-all",
    "--die-with-parent",
    "--",
    "/bin/true",
  ]);
  return {
    installed: true,
    works: test.code === 0,
    version: version.stdout.trim(),
    path,
    error: test.code === 0 ? "" : test.stderr.trim().split("\n")[0] || `exit code ${test.code}`,
  };
}

async function run(cmd: string, args: string[]) {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    })
      .output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
  } catch (error) {
    return { code: -1, stdout: "", stderr: String(error) };
  }
}

/** The first executable named `name` on PATH, or "". */
export function findOnPath(name: string): string {
  const dirs = (Deno.env.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin").split(":");
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = `${dir}/${name}`;
    try {
      const info = Deno.statSync(candidate);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return candidate;
    } catch {
      // not here
    }
  }
  return "";
}
