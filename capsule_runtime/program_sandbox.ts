/**
 * The sandbox around a program that `terminal` or `python_exec` starts. The
 * host starts each program in a bubblewrap sandbox of its own, not inside the
 * capsule: in a separate PID namespace the program cannot see the capsule's
 * process, so it can neither open the capsule's protocol pipe through
 * `/proc/<pid>/fd` nor ptrace it. Its files follow the manifest: read roots
 * read-only, write roots writable (only when the manifest grants writes),
 * secrets masked at any depth, the data and config folders hidden, and the
 * product's own code read-only. It never has a network of its own: with
 * `egressSocket` set, the egress proxy's socket is bound in and a bridge on
 * 127.0.0.1 inside the sandbox leads to it (egress_bridge.ts), so the only
 * way out is the proxy and its policy.
 *
 * Pure: every fact comes in through `ProgramSandboxInput`, so it is tested by table.
 */
import type { SystemPath } from "./launcher.ts";
import { EGRESS_SOCKET, egressEnv, withBridge } from "./egress_bridge.ts";
import { isInside } from "../guest/policy/paths.ts";

/** A path to hide inside the sandbox; folders get an empty tmpfs, files /dev/null. */
export interface MaskedPath {
  path: string;
  isDir: boolean;
}

export interface ProgramSandboxInput {
  bwrapPath: string;
  /** System folders bound read-only (or recreated as symlinks). */
  systemPaths: SystemPath[];
  /** /etc files programs need (resolv.conf is not among them: there is no network). */
  etcPaths: string[];
  /** The program's working folder (real path). */
  workspace: string;
  /** Folders the program may read (real paths). */
  readRoots: string[];
  /** Folders the program may write (real paths); empty unless the manifest grants writes. */
  writeRoots: string[];
  /** Folders that must not be visible at all (data folder, user config folder). */
  hiddenDirs: string[];
  /** Folders that stay read-only even inside a writable root (the product's code). */
  readOnlyDirs: string[];
  /** Secret files and folders found inside the roots (real paths). */
  secrets: MaskedPath[];
  /** The program's whole environment. */
  env: Record<string, string>;
  /** Size of the program's /tmp (a tmpfs, so memory) in bytes; absent: bwrap's default. */
  tmpSizeBytes?: number;
  /**
   * The host path of the egress proxy's Unix socket (set by runCapsule when
   * the manifest grants network_hosts and the proxy runs); absent: no network.
   */
  egressSocket?: string;
}

/** The fixed environment of programs: no keys, no host variables. */
export function programEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    HOME: "/tmp",
    TMPDIR: "/tmp",
    LANG: "C.UTF-8",
    ...extra,
  };
}

/** The folders not inside another one of the list (hiding those hides the rest). */
export function outermost(dirs: readonly string[]): string[] {
  return dirs.filter((dir) => !dirs.some((other) => other !== dir && isInside(dir, other)));
}

/** The bubblewrap arguments (without the bwrap binary) that run `argv` in its sandbox. */
export function programSandboxArgs(input: ProgramSandboxInput, argv: string[]): string[] {
  // A new user, PID, IPC, UTS, cgroup and network namespace; no capabilities.
  const args = ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"];
  for (const sys of input.systemPaths) {
    if (sys.symlinkTarget) args.push("--symlink", sys.symlinkTarget, sys.path);
    else args.push("--ro-bind", sys.path, sys.path);
  }
  for (const etc of input.etcPaths) args.push("--ro-bind-try", etc, etc);
  args.push("--proc", "/proc", "--dev", "/dev");
  // Every writable tmpfs is memory: /tmp and /dev/shm (POSIX shared memory) get the
  // bound; /dev itself, the sandbox's root and the masks below are made read-only.
  const size = input.tmpSizeBytes ? ["--size", String(input.tmpSizeBytes)] : [];
  args.push(...size, "--tmpfs", "/dev/shm", "--remount-ro", "/dev");
  args.push(...size, "--tmpfs", "/tmp", "--dir", input.workspace);
  const writable = [...new Set(input.writeRoots)];
  const readable = [...new Set(input.readRoots)].filter((r) => !writable.includes(r));
  // Read-only first, so a writable sub-folder overrides its read-only parent.
  for (const root of readable) args.push("--ro-bind-try", root, root);
  for (const root of writable) args.push("--bind-try", root, root);
  const visible = [...readable, ...writable];
  const shown = (path: string) => visible.some((root) => isInside(path, root));
  for (const dir of input.readOnlyDirs) if (shown(dir)) args.push("--ro-bind-try", dir, dir);
  // A masking tmpfs is read-only: an empty folder, not a place to fill memory.
  const empty = (dir: string) => args.push("--tmpfs", dir, "--remount-ro", dir);
  for (const secret of input.secrets) {
    if (!shown(secret.path)) continue;
    if (secret.isDir) empty(secret.path);
    else args.push("--ro-bind", "/dev/null", secret.path);
  }
  // Last, so nothing bound above can show them again.
  for (const dir of outermost(input.hiddenDirs)) if (shown(dir)) empty(dir);
  const egress = input.egressSocket;
  if (egress) args.push("--bind", egress, EGRESS_SOCKET);
  // The root (bubblewrap's own tmpfs, holding the mount points) is read-only too.
  args.push("--remount-ro", "/");
  args.push("--chdir", input.workspace, "--clearenv");
  const env = egress ? { ...input.env, ...egressEnv() } : input.env;
  for (const [key, value] of Object.entries(env)) args.push("--setenv", key, value);
  args.push("--", ...(egress ? withBridge(argv) : argv));
  return args;
}
