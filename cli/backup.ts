/**
 * `backup [--to FILE]`: an online copy of `registry.db` (SQLite's backup API),
 * safe while runs and the dashboard are writing to it.
 */
import { backup } from "node:sqlite";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { ClosedClawError } from "../core/errors.ts";
import { openDatabase, quickCheck } from "../store/db.ts";
import { type Command, JSON_OPTION } from "./command.ts";
import { printJson, printLine } from "./output.ts";

/** `registry-<UTC time>.db` next to the database, e.g. `registry-20260101T120000Z.db`. */
function defaultTarget(dbPath: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return join(dirname(dbPath), "backups", `registry-${stamp}.db`);
}

/**
 * Copies the database at `source` to `target` (which must not exist yet) and
 * checks the copy opens; returns the copy's size in bytes.
 */
export async function backupDatabase(source: string, target: string): Promise<number> {
  try {
    Deno.lstatSync(target);
    throw new ClosedClawError("backup_exists", `${target} already exists; it was not replaced.`, {
      hint: "Name another file with --to.",
      exitCode: 2,
    });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  Deno.mkdirSync(dirname(target), { recursive: true });
  const db = openDatabase(source);
  try {
    await backup(db, target);
  } catch (error) {
    throw new ClosedClawError("backup_failed", `Cannot back up ${source} to ${target}: ${error}.`, {
      hint: "Check that the target folder is writable and has space.",
      cause: error,
    });
  } finally {
    db.close();
  }
  const copy = openDatabase(target, { readOnly: true });
  try {
    const check = quickCheck(copy);
    if (check !== "ok") {
      throw new ClosedClawError("backup_failed", `The copy ${target} is damaged: ${check}.`, {
        hint: "Try again; if it persists, run `closed-claw doctor`.",
      });
    }
  } finally {
    copy.close();
  }
  return Deno.statSync(target).size;
}

export const backupCommand: Command = {
  name: "backup",
  summary: "Copy registry.db while it is in use (runs, agents, approvals, audit).",
  options: {
    to: {
      type: "string",
      value: "file",
      description: "Where to write the copy (default: <data>/backups/registry-<time>.db).",
    },
    ...JSON_OPTION,
  },
  details: [
    "Example:",
    "  closed-claw backup --to ~/claw-backup.db",
    "Restore: stop closed-claw, then copy the backup over <data>/registry.db.",
  ].join("\n"),
  async run(ctx) {
    const settings = ctx.settings();
    const to = ctx.options.to;
    const target = typeof to === "string"
      ? (isAbsolute(to) ? to : resolve(settings.cwd, to))
      : defaultTarget(settings.dbPath);
    // Opening the store first refuses an empty or foreign file and brings the schema up to date.
    ctx.store();
    const bytes = await backupDatabase(settings.dbPath, target);
    if (ctx.options.json) printJson({ backup: target, bytes });
    else printLine(`Backed up ${settings.dbPath} to ${target} (${bytes} bytes).`);
    return 0;
  },
};
