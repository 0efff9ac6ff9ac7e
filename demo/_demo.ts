/**
 * Shared by the demo and its recorder: the fixed folders a demo run uses
 * (recorded prompts name them, so they must not change), a fresh copy of the
 * sample workspace, and the `closed-claw run` command line.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The demo's task. */
export const DEMO_TASK =
  "Read the project notes and write todo_report.md listing the open TODO items, most urgent first, each with its owner from team.csv.";

/** Where a demo run works. Fixed, because the recorded prompts contain these paths. */
export const DEMO_ROOT = "/tmp/closed-claw-demo";
export const DEMO_WORKSPACE = join(DEMO_ROOT, "workspace");
export const DEMO_HOME = join(DEMO_ROOT, "data");

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = dirname(here);
export const CASSETTE = join(here, "cassette.json");

/** Replaces the demo folders with a fresh copy of demo/workspace. */
export async function prepareDemoRoot(): Promise<void> {
  await Deno.remove(DEMO_ROOT, { recursive: true }).catch(() => {});
  await Deno.mkdir(DEMO_WORKSPACE, { recursive: true });
  for await (const entry of Deno.readDir(join(here, "workspace"))) {
    if (entry.isFile) {
      await Deno.copyFile(join(here, "workspace", entry.name), join(DEMO_WORKSPACE, entry.name));
    }
  }
}

/** Runs `closed-claw run <demo task>` with `extraArgs`, in a clean environment. */
export function runDemoCli(
  extraArgs: string[],
  env: Record<string, string>,
): Promise<Deno.CommandStatus> {
  const keep = ["PATH", "HOME", "TERM", "NO_COLOR", "DENO_DIR", "COLUMNS"];
  const base: Record<string, string> = {};
  for (const name of keep) {
    const value = Deno.env.get(name);
    if (value !== undefined) base[name] = value;
  }
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-net",
      "--allow-env",
      "--allow-run",
      "--allow-sys",
      "--allow-ffi",
      "--config",
      join(REPO, "deno.json"),
      join(REPO, "main.ts"),
      "run",
      DEMO_TASK,
      "--workspace",
      DEMO_WORKSPACE,
      "--create-approval-mode",
      "approve",
      ...extraArgs,
    ],
    cwd: DEMO_ROOT,
    clearEnv: true,
    env: { ...base, CLOSED_CLAW_HOME: DEMO_HOME, ...env },
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
}
