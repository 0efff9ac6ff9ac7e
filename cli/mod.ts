/**
 * The `closed-claw` command line: finds the command, parses its arguments
 * strictly, runs it, and turns every error into one clear line and an exit
 * code (2 for usage errors). Stack traces only with CLOSED_CLAW_DEBUG=1.
 *
 * It starts light: `--help` and `--version` load no command, and a command
 * loads only its own module (cli/commands.ts), settings and the store when
 * it runs; provider SDKs, transformers.js and the web stack load where used.
 */
import denoConfig from "../deno.json" with { type: "json" };
import { ClosedClawError, UsageError } from "../core/errors.ts";
import type { Settings } from "../core/settings.ts";
import type { Store } from "../store/mod.ts";
import type { CommandContext } from "./command.ts";
import { COMMANDS } from "./commands.ts";
import { importLazily } from "./_lazy.ts";
import { bold, printError, printLine, printWarning } from "./output.ts";
import { hereCommand } from "./invocation.ts";

export { COMMANDS };
export type { CommandEntry } from "./commands.ts";

export const VERSION: string = denoConfig.version;

/** `../core/settings.ts`, `../store/mod.ts`, `./command.ts` and `./menu.ts`, when first needed. */
const lazily = {
  settings: () =>
    importLazily<typeof import("../core/settings.ts")>(
      new URL("../core/settings.ts", import.meta.url),
    ),
  store: () =>
    importLazily<typeof import("../store/mod.ts")>(new URL("../store/mod.ts", import.meta.url)),
  command: () =>
    importLazily<typeof import("./command.ts")>(new URL("./command.ts", import.meta.url)),
  menu: () => importLazily<typeof import("./menu.ts")>(new URL("./menu.ts", import.meta.url)),
};

function globalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `${
      bold("closed-claw")
    } ${VERSION}: a local multi-agent orchestrator with sandboxed agent capsules.`,
    "",
    "Usage: closed-claw <command> [options]   (no command opens the interactive menu)",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Options: --help (on any command), --version",
    "Settings come from the environment, ./.env (once accepted with `closed-claw trust`), the data folder's .env",
    "and your config.env (saved by `closed-claw setup`); see docs/configuration.md.",
  ].join("\n");
}

/** Levenshtein distance, for "did you mean" suggestions. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = current;
    }
  }
  return row[b.length];
}

function unknownCommand(name: string): UsageError {
  const best = COMMANDS.map((c) => ({ c, d: distance(name, c.name) })).sort((x, y) => x.d - y.d)[0];
  const suggestion = best && best.d <= 2 ? ` Did you mean \`${best.c.name}\`?` : "";
  return new UsageError(
    `Unknown command "${name}".${suggestion}`,
    "Run `closed-claw --help` to see the commands.",
  );
}

/** Loads settings and says, once, which config files were ignored and how to accept them. */
function loadSettingsAndWarn(loadSettings: () => Settings): Settings {
  const settings = loadSettings();
  for (const file of settings.ignoredFiles) {
    printWarning(
      `Ignoring ${file.path}: ${file.reason} (an agent could have written it). Review it, then run \`closed-claw trust ${file.path}\` to use it.`,
    );
  }
  return settings;
}

/** A command's context; settings and the store are loaded here, opened on first use. */
async function makeContext(
  options: CommandContext["options"],
  positionals: string[],
): Promise<CommandContext & { dispose(): void }> {
  const [{ loadSettings, ensureDataDirs }, { openStore }] = await Promise.all([
    lazily.settings(),
    lazily.store(),
  ]);
  let settings: Settings | undefined;
  let store: Store | undefined;
  const loaded = () => (settings ??= loadSettingsAndWarn(loadSettings));
  return {
    options,
    positionals,
    settings: loaded,
    store: () => {
      if (store) return store;
      ensureDataDirs(loaded()); // refuses a planted data folder, records a new one
      return (store = openStore(loaded().dbPath));
    },
    dispose: () => store?.close(),
  };
}

/** Runs the CLI with `argv` (without the program name); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    const [name, ...rest] = argv;
    if (name === undefined || name === "menu") {
      const { runMenu } = await lazily.menu();
      return await runMenu(main);
    }
    if (name === "--help" || name === "-h" || name === "help") {
      if (name === "help" && rest[0]) return main([rest[0], "--help"]);
      printLine(hereCommand(globalHelp()));
      return 0;
    }
    if (name === "--version" || name === "-V" || name === "version") {
      printLine(`closed-claw ${VERSION}`);
      return 0;
    }
    if (name.startsWith("-")) {
      throw new UsageError(`Unknown option ${name}.`, "Run `closed-claw --help` for usage.");
    }
    const entry = COMMANDS.find((c) => c.name === name);
    if (!entry) throw unknownCommand(name);
    const [command, { commandHelp, parseCommandArgs }] = await Promise.all([
      entry.load(),
      lazily.command(),
    ]);
    const parsed = parseCommandArgs(command, rest);
    if (parsed.help) {
      printLine(commandHelp(command));
      return 0;
    }
    const ctx = await makeContext(parsed.values, parsed.positionals);
    try {
      return await command.run(ctx);
    } finally {
      ctx.dispose();
    }
  } catch (error) {
    return reportError(error);
  }
}

/** Prints an error as one line and returns its exit code. */
export function reportError(error: unknown): number {
  if (error instanceof ClosedClawError) {
    printError(error.toLine());
    return error.exitCode;
  }
  if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
    printError(`${(error as Error).message}.`);
    return 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  printError(`${message.split("\n")[0]} (set CLOSED_CLAW_DEBUG=1 to see details)`);
  if (Deno.env.get("CLOSED_CLAW_DEBUG")) console.error(error);
  return 1;
}
