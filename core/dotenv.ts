/**
 * A small `.env` reader and writer. Reading never touches `Deno.env`:
 * copying `.env` entries into the process environment would leak keys into
 * every child process.
 */
import { dirname } from "node:path";
import { ClosedClawError } from "./errors.ts";
import { readTrustedFile, trustText } from "./trust.ts";

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/;

/** Parses `.env` text into a map. Later keys win; comments and blank lines are skipped. */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim() || line.trimStart().startsWith("#")) continue;
    const match = LINE.exec(line);
    if (!match) continue;
    out[match[1]] = parseValue(match[2]);
  }
  return out;
}

function parseValue(raw: string): string {
  const value = raw.trim();
  const quote = value[0];
  if ((quote === '"' || quote === "'") && value.lastIndexOf(quote) > 0) {
    const inner = value.slice(1, value.lastIndexOf(quote));
    if (quote === "'") return inner;
    return inner.replace(
      /\\(["\\nrt])/g,
      (_m, c: string) => ({ n: "\n", r: "\r", t: "\t" } as Record<string, string>)[c] ?? c,
    );
  }
  // An unquoted value ends at " #" (an inline comment).
  const comment = value.search(/\s#/);
  return (comment >= 0 ? value.slice(0, comment) : value).trim();
}

/** Reads and parses a `.env` file; a missing file is an empty map. */
export function readDotenv(path: string): Record<string, string> {
  try {
    return parseDotenv(Deno.readTextFileSync(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return {};
    throw new ClosedClawError("dotenv_unreadable", `Cannot read ${path}: ${String(error)}.`, {
      hint: "Check the file's permissions.",
    });
  }
}

/** Formats one value so that `parseDotenv` reads it back unchanged. */
export function formatDotenvValue(value: string): string {
  if (/[\r\n\0]/.test(value)) {
    throw new ClosedClawError("dotenv_newline", "A setting value cannot contain a line break.", {
      hint: "Remove the line break and try again.",
      exitCode: 2,
    });
  }
  if (value === "" || /^[A-Za-z0-9_./:@,+-]+$/.test(value)) return value;
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/**
 * Sets keys in a `.env` file, keeping comments, order and other keys. Existing
 * keys are replaced in place; new keys are appended. Values with line breaks are
 * refused, so nothing can inject extra lines.
 */
export function upsertDotenv(path: string, changes: Record<string, string>): void {
  let text = "";
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  writeDotenv(path, upsertDotenvText(text, changes));
}

/** `text` with `changes` set (see `upsertDotenv`). */
function upsertDotenvText(text: string, changes: Record<string, string>): string {
  for (const key of Object.keys(changes)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new ClosedClawError("dotenv_bad_key", `"${key}" is not a valid variable name.`, {
        exitCode: 2,
      });
    }
  }
  const formatted = Object.fromEntries(
    Object.entries(changes).map(([k, v]) => [k, formatDotenvValue(v)]),
  );
  const lines = text === "" ? [] : text.replace(/\r?\n$/, "").split(/\r?\n/);
  const seen = new Set<string>();
  const updated = lines.map((line) => {
    const match = LINE.exec(line);
    if (!match || line.trimStart().startsWith("#") || !(match[1] in formatted)) return line;
    seen.add(match[1]);
    return `${match[1]}=${formatted[match[1]]}`;
  });
  for (const [key, value] of Object.entries(formatted)) {
    if (!seen.has(key)) updated.push(`${key}=${value}`);
  }
  return updated.join("\n") + "\n";
}

function writeDotenv(path: string, text: string): void {
  const tmp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  Deno.writeTextFileSync(tmp, text, { mode: 0o600 });
  Deno.renameSync(tmp, path);
}

/**
 * Saves `.env` changes made by the user (setup, the dashboard) and records the
 * result as accepted, so later runs read it. A file that exists but was never
 * accepted, or changed since, may have been planted by a capsule: it is
 * refused instead of being built on. The changes are made to the very text
 * that was checked, and the ledger records the text written, never a re-read
 * (a capsule could swap the file in between).
 */
export function saveAcceptedDotenv(
  path: string,
  changes: Record<string, string>,
  configDir: string,
): void {
  const read = readTrustedFile(path, { configDir });
  if (read.state === "ignored") throw notAccepted(path, read.reason);
  const text = upsertDotenvText(read.state === "trusted" ? read.text : "", changes);
  writeDotenv(path, text);
  trustText(Deno.realPathSync(path), text, configDir);
}

/**
 * Saves changes to the user's own settings file (`<config folder>/config.env`,
 * written by `closed-claw setup` and the dashboard's key form): its folder is
 * made 0700 and the file 0600, since it holds keys. Capsules can neither read
 * nor write the config folder, so no acceptance is needed.
 */
export function saveUserConfig(path: string, changes: Record<string, string>): void {
  Deno.mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  upsertDotenv(path, changes);
  Deno.chmodSync(path, 0o600);
}

/** Throws when `path` exists but is not a file the user accepted. */
export function assertEnvAccepted(path: string, configDir: string): void {
  const read = readTrustedFile(path, { configDir });
  if (read.state === "ignored") throw notAccepted(path, read.reason);
}

function notAccepted(path: string, reason: string): ClosedClawError {
  return new ClosedClawError(
    "env_not_accepted",
    `${path} is ${reason}; nothing was saved (a capsule could have written it).`,
    {
      hint: `Review it, then run \`closed-claw trust ${path}\` (or delete it) and try again.`,
      exitCode: 2,
    },
  );
}
