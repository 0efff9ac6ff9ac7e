/**
 * The `closed-claw` command line: finds the command, parses its arguments
 * strictly, runs it, and turns every error into one clear line and an exit
 * code (2 for usage errors). Stack traces only with CLOSED_CLAW_DEBUG=1.
 */
import denoConfig from "../deno.json" with { type: "json" };
import { ClosedClawError, UsageError } from "../core/errors.ts";
import { loadSettings, type Settings } from "../core/settings.ts";
import { openStore, type Store } from "../store/mod.ts";
import { type Command, type CommandContext, commandHelp, parseCommandArgs } from "./command.ts";
import {
  agentCommand,
  agentsCommand,
  deleteAgentCommand,
  deleteAllAgentsCommand,
} from "./agents.ts";
import { auditCommand, runlogCommand, runsCommand } from "./runs.ts";
import { doctorCommand } from "./doctor.ts";
import { setupCommand } from "./setup.ts";
import { initCommand } from "./init.ts";
import { toolsCommand } from "./tools.ts";
import { trustCommand } from "./trust.ts";
import { cancelRunCommand, resumeCommand, runCommand } from "./run.ts";
import { webCommand } from "./web.ts";
import { backupCommand } from "./backup.ts";
import { bold, printError, printLine, printWarning } from "./output.ts";
import { runMenu } from "./menu.ts";

export const VERSION: string = denoConfig.version;

/** Every command, in the order `--help` lists them. */
export const COMMANDS: Command[] = [
  setupCommand,
  initCommand,
  doctorCommand,
  trustCommand,
  runCommand,
  resumeCommand,
  cancelRunCommand,
  agentsCommand,
  agentCommand,
  runsCommand,
  auditCommand,
  runlogCommand,
  backupCommand,
  toolsCommand,
  deleteAgentCommand,
  deleteAllAgentsCommand,
  webCommand,
];

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
    "Settings come from the environment and ./.env (once accepted with `closed-claw trust`); see the README's configuration table.",
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
function loadSettingsAndWarn(): Settings {
  const settings = loadSettings();
  for (const file of settings.ignoredFiles) {
    printWarning(
      `Ignoring ${file.path}: ${file.reason} (an agent could have written it). Review it, then run \`closed-claw trust ${file.path}\` to use it.`,
    );
  }
  return settings;
}

function makeContext(options: CommandContext["options"], positionals: string[]): CommandContext & {
  dispose(): void;
} {
  let settings: Settings | undefined;
  let store: Store | undefined;
  return {
    options,
    positionals,
    settings: () => (settings ??= loadSettingsAndWarn()),
    store: () => (store ??= openStore((settings ??= loadSettingsAndWarn()).dbPath)),
    dispose: () => store?.close(),
  };
}

/** Runs the CLI with `argv` (without the program name); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    const [name, ...rest] = argv;
    if (name === undefined || name === "menu") return await runMenu(main);
    if (name === "--help" || name === "-h" || name === "help") {
      if (name === "help" && rest[0]) return main([rest[0], "--help"]);
      printLine(globalHelp());
      return 0;
    }
    if (name === "--version" || name === "-V" || name === "version") {
      printLine(`closed-claw ${VERSION}`);
      return 0;
    }
    if (name.startsWith("-")) {
      throw new UsageError(`Unknown option ${name}.`, "Run `closed-claw --help` for usage.");
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) throw unknownCommand(name);
    const parsed = parseCommandArgs(command, rest);
    if (parsed.help) {
      printLine(commandHelp(command));
      return 0;
    }
    const ctx = makeContext(parsed.values, parsed.positionals);
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
