/**
 * The soul file: Markdown put before every agent's skills. It reaches every
 * prompt, so it is read only from the data folder or the user's config folder
 * (which capsules cannot write), or, for a file in the workspace, only while
 * its content is the one the user accepted (`closed-claw trust soul.md`).
 * Never through a symlink.
 */
import { join } from "node:path";
import { dataDirState, type Ledger, readLedger, readTrustedFile } from "./trust.ts";

/** The settings the soul lookup needs. */
export interface SoulSettings {
  soulMdSetting: string;
  soulMdPath: string;
  homeDir: string;
  cwd: string;
  configDir: string;
  homeExplicit: boolean;
}

/** Where the soul may come from, in order: the configured file, else the data folder's, else ./soul.md. */
export function soulCandidates(settings: SoulSettings): string[] {
  if (settings.soulMdSetting) return [settings.soulMdPath];
  return [join(settings.homeDir, "soul.md"), join(settings.cwd, "soul.md")];
}

/** The soul text to use ("" for none) and the files skipped, with why. `ledger`: as already read. */
export function readSoul(settings: SoulSettings, ledger: Ledger = readLedger(settings.configDir)): {
  text: string;
  ignored: { path: string; reason: string }[];
} {
  const ignored: { path: string; reason: string }[] = [];
  // The data folder counts only if it is the user's (a planted one is not).
  const ownData = dataDirState(settings.homeDir, {
    explicit: settings.homeExplicit,
    configDir: settings.configDir,
    ledger,
  }) !== "untrusted";
  const trustedDirs = [
    ...(ownData ? [settings.homeDir] : []),
    ...(settings.configDir ? [settings.configDir] : []),
  ];
  for (const path of soulCandidates(settings)) {
    const read = readTrustedFile(path, { configDir: settings.configDir, trustedDirs, ledger });
    if (read.state === "trusted") return { text: read.text, ignored };
    if (read.state === "ignored") ignored.push({ path, reason: read.reason });
  }
  return { text: "", ignored };
}
