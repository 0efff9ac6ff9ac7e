/**
 * How a CLI command is declared: its options (node:util parseArgs), its
 * positional arguments and a `run` function. Parsing is strict, so an unknown
 * flag or a missing value is one clear line and exit code 2.
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { UsageError } from "../core/errors.ts";
import type { LoadSettingsOptions, Settings } from "../core/settings.ts";
import type { Store } from "../store/mod.ts";

export interface OptionHelp {
  type: "string" | "boolean";
  short?: string;
  /** Shown in help as `--name <value>`. */
  value?: string;
  description: string;
  multiple?: boolean;
}

export interface CommandContext {
  /** Parsed option values. */
  options: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
  /** Settings, loaded on first use (commands that need none never fail on bad config). */
  settings(): Settings;
  /** The registry store, opened (and migrated) on first use. */
  store(): Store;
}

export interface Command {
  name: string;
  summary: string;
  /** e.g. `<agent_id>`; shown in help after the command name. */
  args?: string;
  /** How many positionals are required and allowed. */
  positionals?: { min: number; max: number };
  options?: Record<string, OptionHelp>;
  /** Extra help text: examples and notes. */
  details?: string;
  run(ctx: CommandContext): Promise<number>;
}

/** Options every command accepts. */
export const COMMON_OPTIONS: Record<string, OptionHelp> = {
  help: { type: "boolean", short: "h", description: "Show this help." },
};

export const JSON_OPTION: Record<string, OptionHelp> = {
  json: { type: "boolean", description: "Print JSON instead of a table." },
};

/** Parses a command's arguments strictly; throws UsageError with one clear line. */
export function parseCommandArgs(command: Command, argv: string[]) {
  const specs = { ...COMMON_OPTIONS, ...command.options };
  const config: ParseArgsOptionsConfig = {};
  for (const [name, spec] of Object.entries(specs)) {
    // node:util rejects keys that are present but undefined, so set only what is given.
    config[name] = { type: spec.type };
    if (spec.short) config[name].short = spec.short;
    if (spec.multiple) config[name].multiple = true;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: config, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(
      `${command.name}: ${usageProblem(error)}`,
      `Run \`closed-claw ${command.name} --help\` for its options.`,
    );
  }
  if (parsed.values.help) return { help: true as const, values: parsed.values, positionals: [] };
  const range = command.positionals ?? { min: 0, max: 0 };
  if (parsed.positionals.length < range.min) {
    throw new UsageError(
      `${command.name}: missing ${command.args ?? "argument"}.`,
      `Usage: closed-claw ${command.name} ${command.args ?? ""}`.trimEnd() + ".",
    );
  }
  if (parsed.positionals.length > range.max) {
    const extra = parsed.positionals.slice(range.max).join(" ");
    throw new UsageError(
      `${command.name}: unexpected argument "${extra}".`,
      range.max === 1 && command.args?.includes("task")
        ? "Put the task in quotes."
        : `Run \`closed-claw ${command.name} --help\` for its usage.`,
    );
  }
  return { help: false as const, values: parsed.values, positionals: parsed.positionals };
}

/** Turns node:util's parse errors into a short sentence. */
function usageProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = /Unknown option '([^']+)'/.exec(message);
  if (unknown) return `unknown option ${unknown[1]}.`;
  const missing = /Option '([^']+)' argument missing/.exec(message);
  if (missing) return `option ${missing[1].split(",").pop()!.trim()} needs a value.`;
  const type = /Option '([^']+)' does not take an argument/.exec(message);
  if (type) return `option ${type[1].split(",").pop()!.trim()} does not take a value.`;
  return message.split("\n")[0].replace(/\. To specify.*$/, "") + ".";
}

/** Reads a whole-number option with bounds; throws UsageError when it is not one. */
export function intOption(
  ctx: CommandContext,
  name: string,
  fallback: number,
  range: { min?: number; max?: number } = { min: 1 },
): number {
  const raw = ctx.options[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  const min = range.min ?? -Infinity;
  const max = range.max ?? Infinity;
  if (!Number.isInteger(n) || n < min || n > max) {
    const bounds = range.max !== undefined ? `from ${min} to ${max}` : `≥ ${min}`;
    throw new UsageError(`--${name} must be a whole number ${bounds}, not "${raw}".`);
  }
  return n;
}

/** Builds the help text of one command. */
export function commandHelp(command: Command): string {
  const lines = [
    `closed-claw ${command.name}${command.args ? ` ${command.args}` : ""}`,
    "",
    `  ${command.summary}`,
  ];
  const options = { ...command.options, ...COMMON_OPTIONS };
  lines.push("", "Options:");
  for (const [name, spec] of Object.entries(options)) {
    const flag = `${spec.short ? `-${spec.short}, ` : "    "}--${name}${
      spec.type === "string" ? ` <${spec.value ?? "value"}>` : ""
    }`;
    lines.push(`  ${flag.padEnd(34)} ${spec.description}`);
  }
  if (command.details) lines.push("", command.details.trimEnd());
  return lines.join("\n");
}

export type { LoadSettingsOptions };
