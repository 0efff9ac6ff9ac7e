/** Test helpers: temporary folders that clean themselves up. */
import { join } from "node:path";
import { loadSettings, type Settings } from "../../core/settings.ts";
import { trustDataDir } from "../../core/trust.ts";

/** A fresh temporary folder; `await using` removes it. */
export async function tempDir(prefix = "claw-test-"): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Settings rooted in `dir`, ignoring the machine's environment and `.env`.
 * The data folder is created and recorded as the user's in `dir`'s config
 * folder, as the CLI would have done, so a CLI started with HOME = `dir` uses it.
 */
export function testSettings(dir: string, env: Record<string, string> = {}): Settings {
  const settings = loadSettings({
    cwd: dir,
    envFile: false,
    env: {
      CLOSED_CLAW_HOME: join(dir, ".closed_claw"),
      CLOSED_CLAW_CONFIG_DIR: join(dir, ".config", "closed-claw"),
      ...env,
    },
  });
  Deno.mkdirSync(settings.homeDir, { recursive: true });
  trustDataDir(settings.homeDir, join(dir, ".config", "closed-claw"));
  return settings;
}
