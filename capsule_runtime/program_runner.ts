/**
 * Starts the programs of terminal and python_exec for a capsule, from the
 * host: inside their own bubblewrap sandbox when the plan has one, otherwise
 * (only with CLOSED_CLAW_ALLOW_UNSANDBOXED_EXEC) directly, with a fixed
 * environment that holds no keys. Either way under the manifest's resource
 * limits (program_guard.ts): a breach ends the call with a typed error.
 */
import { type ProcessOptions, type ProcessOutcome, runProcess } from "../guest/tools/process.ts";
import type { LaunchPlan } from "./launcher.ts";
import { ProgramGuard } from "./program_guard.ts";
import {
  type MaskedPath,
  programEnv,
  programSandboxArgs,
  type ProgramSandboxInput,
} from "./program_sandbox.ts";
import { scanRoots } from "./symlink_scan.ts";

/** Entries scanned again before each program (the full scan ran at launch). */
const RESCAN_LIMIT = 20_000;

/**
 * The launch's secret list plus secrets created since (a `.env` or key file
 * written during the run by a program, the user or another tool), so each
 * program starts with every secret in its roots masked.
 */
export function withNewSecrets(sandbox: ProgramSandboxInput): MaskedPath[] {
  const roots = [...new Set([...sandbox.readRoots, ...sandbox.writeRoots])];
  const found = scanRoots(roots, sandbox.hiddenDirs, RESCAN_LIMIT).secrets;
  const known = new Set(sandbox.secrets.map((s) => s.path));
  return [...sandbox.secrets, ...found.filter((s) => !known.has(s.path))];
}

/** The `runProgram` a host-run tool uses for this capsule. */
export function programRunner(
  plan: LaunchPlan,
): (command: string, args: string[], options: ProcessOptions) => Promise<ProcessOutcome> {
  const sandbox = plan.programSandbox;
  return async (command, args, options) => {
    const env = programEnv(options.extraEnv);
    const guard = new ProgramGuard(plan, options.signal);
    const early = await guard.begin();
    if (early) return ProgramGuard.refused(early, guard.limits);
    const watched = { ...options, signal: guard.signal, onStderr: guard.onStderr };
    let outcome: ProcessOutcome;
    try {
      if (!sandbox) {
        const [cmd, ...argv] = guard.outer(guard.limited([command, ...args], false));
        outcome = await runProcess(cmd, argv, { ...watched, env, extraEnv: undefined });
      } else {
        const inner = guard.limited([command, ...args], true);
        const secrets = withNewSecrets(sandbox);
        const bwrap = [
          sandbox.bwrapPath,
          ...programSandboxArgs({ ...sandbox, env, secrets }, inner),
        ];
        const [cmd, ...argv] = guard.outer(bwrap);
        outcome = await runProcess(cmd, argv, {
          ...watched,
          // bubblewrap itself needs nothing; the program's environment is set inside.
          cwd: "/",
          env: { PATH: env.PATH },
          extraEnv: undefined,
        });
      }
    } catch (error) {
      await guard.cancel();
      throw error;
    }
    return await guard.end(outcome);
  };
}
