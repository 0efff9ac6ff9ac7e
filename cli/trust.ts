/**
 * `trust [FILE…]`: accepts the current content of config files that live where
 * capsules can write (`./.env`, `./soul.md`). Until then the host ignores them,
 * because a capsule could have planted them to redirect keys or inject prompts.
 * With no file, lists the candidates and whether each is used.
 */
import { resolve } from "node:path";
import { parseDotenv } from "../core/dotenv.ts";
import { UsageError } from "../core/errors.ts";
import { soulCandidates } from "../core/soul.ts";
import { readTrustedFile, trustDataDir, trustFile } from "../core/trust.ts";
import type { Command } from "./command.ts";
import { bold, clip, printLine, terminalSafe } from "./output.ts";

const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD/i;

/** A one-line summary of what a `.env` sets, with secret values hidden. */
export function describeDotenv(text: string): string {
  const entries = Object.entries(parseDotenv(text));
  if (!entries.length) return "no settings";
  return entries.map(([k, v]) => `${k}=${SECRET_NAME.test(k) ? "****" : clip(v, 60)}`).join(", ");
}

function isDirectory(path: string): boolean {
  try {
    return Deno.lstatSync(path).isDirectory;
  } catch {
    return false;
  }
}

export const trustCommand: Command = {
  name: "trust",
  summary:
    "Accept ./.env, ./soul.md or a data folder after reviewing them (until then they are not used).",
  args: "[file…]",
  positionals: { min: 0, max: 8 },
  details: [
    "Files in the workspace could have been written by an agent, so Closed Claw uses",
    "them only while their content is exactly what you accepted here. After any change",
    "(yours or an agent's) it ignores them again and says so.",
    "",
    "Examples:",
    "  closed-claw trust            list ./.env and the soul files and whether each is used",
    "  closed-claw trust .env       accept ./.env as it is now",
  ].join("\n"),
  run(ctx) {
    const settings = ctx.settings();
    if (!settings.configDir) {
      throw new UsageError(
        "There is no user config folder to record accepted files in.",
        "Set HOME, XDG_CONFIG_HOME or CLOSED_CLAW_CONFIG_DIR.",
      );
    }
    if (ctx.positionals.length === 0) {
      const candidates = [settings.envFile, ...soulCandidates(settings)].filter(Boolean);
      for (const path of candidates) {
        const read = readTrustedFile(path, {
          configDir: settings.configDir,
          trustedDirs: [settings.homeDir, settings.configDir],
        });
        const state = read.state === "trusted"
          ? "used"
          : read.state === "missing"
          ? "not there"
          : `ignored: ${read.reason}`;
        printLine(`${terminalSafe(path)}  ${state}`);
      }
      return Promise.resolve(0);
    }
    for (const name of ctx.positionals) {
      const path = resolve(settings.cwd, name);
      if (isDirectory(path)) {
        // A data folder (e.g. ./.closed_claw) that Closed Claw did not create for this user.
        const real = trustDataDir(path, settings.configDir);
        printLine(
          `${bold("Accepted")} ${terminalSafe(real)} (data folder: its agents, runs and soul)`,
        );
        continue;
      }
      // What is shown is the very text whose hash is recorded.
      let text = "";
      const real = trustFile(path, settings.configDir, (t) => text = t);
      const summary = /(^|\/)\.env[^/]*$/.test(path) ? ` (${describeDotenv(text)})` : "";
      printLine(`${bold("Accepted")} ${terminalSafe(real)}${terminalSafe(summary)}`);
    }
    return Promise.resolve(0);
  },
};
