/**
 * Files the host reads as configuration (`.env`, a soul file) may sit in a
 * folder that capsules can write. Such a file counts only when the user
 * accepted its exact content: the ledger in the user's config folder maps
 * each accepted file's real path to the SHA-256 of its content. A file that
 * is new, changed since it was accepted, or reached through a symlink is
 * ignored, so nothing a capsule plants can redirect keys or reach a prompt.
 */
import { dirname, join, resolve } from "node:path";
import { ClosedClawError } from "./errors.ts";
import { sha256Hex } from "./sha256.ts";

/** Variables that locate the user's config folder; read from the process environment only. */
export interface ConfigDirEnv {
  CLOSED_CLAW_CONFIG_DIR?: string;
  XDG_CONFIG_HOME?: string;
  HOME?: string;
}

/** The user's config folder: CLOSED_CLAW_CONFIG_DIR, else $XDG_CONFIG_HOME/closed-claw, else ~/.config/closed-claw. */
export function userConfigDir(env: ConfigDirEnv = processConfigEnv()): string {
  if (env.CLOSED_CLAW_CONFIG_DIR?.trim()) return resolve(env.CLOSED_CLAW_CONFIG_DIR);
  if (env.XDG_CONFIG_HOME?.trim()) return join(resolve(env.XDG_CONFIG_HOME), "closed-claw");
  if (env.HOME?.trim()) return join(resolve(env.HOME), ".config", "closed-claw");
  return "";
}

function processConfigEnv(): ConfigDirEnv {
  const get = (name: string) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined; // no --allow-env for it: treat as unset
    }
  };
  return {
    CLOSED_CLAW_CONFIG_DIR: get("CLOSED_CLAW_CONFIG_DIR"),
    XDG_CONFIG_HOME: get("XDG_CONFIG_HOME"),
    HOME: get("HOME"),
  };
}

/** The ledger file inside a config folder. */
export function ledgerPath(configDir: string): string {
  return join(configDir, "trusted_files.json");
}

/** A config file as read for a trust decision. */
export type ConfigFileRead =
  | { state: "missing" }
  | { state: "refused"; reason: string }
  | { state: "read"; realPath: string; sha256: string; text: string };

/** Reads a file for a trust decision: never through a symlink, only a regular file. */
export function readConfigFile(path: string): ConfigFileRead {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { state: "missing" };
    return { state: "refused", reason: `cannot be read (${errorName(error)})` };
  }
  if (info.isSymlink) return { state: "refused", reason: "is a symbolic link" };
  if (!info.isFile) return { state: "refused", reason: "is not a regular file" };
  try {
    const realPath = Deno.realPathSync(path);
    // Parent folders may be links too; the real path is what the ledger names.
    const bytes = Deno.readFileSync(realPath);
    return {
      state: "read",
      realPath,
      sha256: sha256(bytes),
      text: new TextDecoder().decode(bytes),
    };
  } catch (error) {
    return { state: "refused", reason: `cannot be read (${errorName(error)})` };
  }
}

function sha256(bytes: Uint8Array): string {
  return sha256Hex(bytes);
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : String(error);
}

/** The ledger's content: accepted files (real path → SHA-256) and the user's data folders. */
export interface Ledger {
  files: Record<string, string>;
  dataDirs: string[];
}

/** Reads the ledger in `configDir` (empty when there is none or it cannot be read). */
export function readLedger(configDir: string): Ledger {
  if (!configDir) return { files: {}, dataDirs: [] };
  let parsed;
  try {
    parsed = JSON.parse(Deno.readTextFileSync(ledgerPath(configDir)));
  } catch {
    return { files: {}, dataDirs: [] };
  }
  const files = parsed?.files && typeof parsed.files === "object" ? parsed.files : {};
  const dirs = parsed?.data_dirs;
  return {
    files: Object.fromEntries(
      Object.entries(files).filter(([, v]) => typeof v === "string"),
    ) as Record<string, string>,
    dataDirs: Array.isArray(dirs) ? dirs.filter((d): d is string => typeof d === "string") : [],
  };
}

/** What the host may use of a config file: its text, or why it is ignored. */
export type TrustedRead =
  | { state: "missing" }
  | { state: "ignored"; reason: string }
  | { state: "trusted"; text: string; realPath: string };

export interface TrustOptions {
  /** The user's config folder (where the ledger is). "" means no ledger: only trusted folders count. */
  configDir: string;
  /** Folders capsules can never write (the data folder, the config folder): files there need no ledger entry. */
  trustedDirs?: string[];
  /** The ledger as already read (to read it once for several files); default: read it now. */
  ledger?: Ledger;
}

/**
 * Reads a config file only if the user accepted this exact content, or it lies
 * in a folder capsules cannot write. Never follows a symlink.
 */
export function readTrustedFile(path: string, options: TrustOptions): TrustedRead {
  const read = readConfigFile(path);
  if (read.state === "missing") return read;
  if (read.state === "refused") return { state: "ignored", reason: read.reason };
  const inTrustedDir = (options.trustedDirs ?? []).some((dir) => isInside(read.realPath, dir));
  if (inTrustedDir) return { state: "trusted", text: read.text, realPath: read.realPath };
  const accepted = (options.ledger ?? readLedger(options.configDir)).files[read.realPath];
  if (accepted === read.sha256) {
    return { state: "trusted", text: read.text, realPath: read.realPath };
  }
  return {
    state: "ignored",
    reason: accepted ? "changed since you accepted it" : "not accepted by you yet",
  };
}

function isInside(path: string, dir: string): boolean {
  let real = dir;
  try {
    real = Deno.realPathSync(dir);
  } catch {
    // a folder that does not exist holds nothing
    return false;
  }
  return path === real || path.startsWith(real.endsWith("/") ? real : real + "/");
}

/**
 * Records a file's current content as accepted by the user. Refuses symlinks
 * and non-regular files. Returns the real path recorded; `onRead` gets the
 * very text whose hash is recorded (to show the user what was accepted).
 */
export function trustFile(
  path: string,
  configDir: string,
  onRead?: (text: string) => void,
): string {
  requireConfigDir(configDir);
  const read = readConfigFile(path);
  if (read.state !== "read") {
    const why = read.state === "missing" ? "does not exist" : read.reason;
    throw new ClosedClawError("trust_refused", `${path} ${why}; nothing was accepted.`, {
      hint: "Name a regular file (not a link).",
      exitCode: 2,
    });
  }
  onRead?.(read.text);
  const ledger = readLedger(configDir);
  ledger.files[read.realPath] = read.sha256;
  writeLedger(configDir, ledger);
  return read.realPath;
}

/**
 * Records `text` as the accepted content of the file at `realPath`: the text
 * the host itself just wrote there, never what the file holds by now (a
 * capsule could have swapped it in between).
 */
export function trustText(realPath: string, text: string, configDir: string): void {
  requireConfigDir(configDir);
  const ledger = readLedger(configDir);
  ledger.files[realPath] = sha256(new TextEncoder().encode(text));
  writeLedger(configDir, ledger);
}

function requireConfigDir(configDir: string): void {
  if (!configDir) {
    throw new ClosedClawError(
      "config_dir_unknown",
      "There is no user config folder to record it.",
      {
        hint: "Set HOME, XDG_CONFIG_HOME or CLOSED_CLAW_CONFIG_DIR.",
        exitCode: 2,
      },
    );
  }
}

function writeLedger(configDir: string, { files, dataDirs }: Ledger): void {
  const path = ledgerPath(configDir);
  Deno.mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  const text = JSON.stringify({ files, data_dirs: [...new Set(dataDirs)] }, null, 2) + "\n";
  Deno.writeTextFileSync(tmp, text, { mode: 0o600 });
  Deno.renameSync(tmp, path);
}

/**
 * Whether a data folder may be used. Its registry decides which agents exist
 * and its soul reaches every prompt, so a default `./.closed_claw` that is
 * already there counts only if Closed Claw created it for this user (or the
 * user accepted it): otherwise a capsule could have planted it in any folder
 * it could write. A folder named by CLOSED_CLAW_HOME, a folder that does not
 * exist yet, or a machine without a config folder need nothing.
 */
export function dataDirState(
  homeDir: string,
  options: { explicit: boolean; configDir: string; ledger?: Ledger },
): "trusted" | "new" | "untrusted" {
  if (options.explicit || !options.configDir) return "trusted";
  let real: string;
  try {
    real = Deno.realPathSync(homeDir);
  } catch {
    return "new";
  }
  const ledger = options.ledger ?? readLedger(options.configDir);
  return ledger.dataDirs.includes(real) ? "trusted" : "untrusted";
}

/** Records a data folder as the user's (created by Closed Claw, or accepted). */
export function trustDataDir(homeDir: string, configDir: string): string {
  requireConfigDir(configDir);
  const real = Deno.realPathSync(homeDir);
  const ledger = readLedger(configDir);
  ledger.dataDirs.push(real);
  writeLedger(configDir, ledger);
  return real;
}

/** The content hash of each file now ("" when missing or unreadable), to notice changes later. */
export function fingerprints(paths: readonly string[]): Map<string, string> {
  return new Map(
    paths.filter(Boolean).map((path) => {
      const read = readConfigFile(path);
      return [path, read.state === "read" ? read.sha256 : ""];
    }),
  );
}

/** The files whose content differs from `before` and that now exist: created or changed meanwhile. */
export function changedSince(before: Map<string, string>): string[] {
  const now = fingerprints([...before.keys()]);
  return [...before.keys()].filter((path) =>
    now.get(path) !== "" && now.get(path) !== before.get(path)
  );
}
