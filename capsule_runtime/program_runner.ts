/**
 * Starts the programs of terminal and python_exec for a capsule, from the
 * host: inside their own bubblewrap sandbox when the plan has one, otherwise
 * (only with CLOSED_CLAW_ALLOW_UNSANDBOXED_EXEC) directly, with a fixed
 * environment that holds no keys.
 */
import { type ProcessOptions, type ProcessOutcome, runProcess } from "../guest/tools/process.ts";
import type { LaunchPlan } from "./launcher.ts";
import { programEnv, programSandboxArgs } from "./program_sandbox.ts";

/** The `runProgram` a host-run tool uses for this capsule. */
export function programRunner(
  plan: LaunchPlan,
): (command: string, args: string[], options: ProcessOptions) => Promise<ProcessOutcome> {
  const sandbox = plan.programSandbox;
  return (command, args, options) => {
    const env = programEnv(options.extraEnv);
    if (!sandbox) {
      return runProcess(command, args, { ...options, env, extraEnv: undefined });
    }
    const argv = programSandboxArgs({ ...sandbox, env }, [command, ...args]);
    return runProcess(sandbox.bwrapPath, argv, {
      ...options,
      // bubblewrap itself needs nothing; the program's environment is set inside.
      cwd: "/",
      env: { PATH: env.PATH },
      extraEnv: undefined,
    });
  };
}
