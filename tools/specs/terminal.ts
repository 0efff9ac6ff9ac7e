/** Host spec of `terminal`: a bash command line in the workspace. */
import { z } from "zod";
import { deniedCommand, MAX_CMD_CHARS, terminalTool } from "../../guest/tools/terminal.ts";
import { timeoutArg } from "./_shared.ts";
import { defineHostTool, type HostToolSpec } from "./types.ts";

export const terminalSpec: HostToolSpec<"terminal"> = defineHostTool(terminalTool, {
  description:
    "Run a shell command line with bash in the workspace and return {returncode, stdout, stderr}. " +
    "Pipes, &&, redirects, globs and $VAR work; every call is a fresh shell (cd does not carry over). " +
    "Standard input is closed, so nothing interactive works. " +
    "Output is cut at 50,000 characters per stream; default timeout 15 s (max 300), then the process is killed. " +
    "Obviously destructive commands (rm -rf, mkfs, dd of=…) are refused.",
  argsSchema: z.object({
    cmd: z.string().min(1).max(MAX_CMD_CHARS).describe(
      "Command line, run with `bash -c` in the workspace (pipes, &&, redirects and globs work).",
    ),
    timeout_s: timeoutArg(15, terminalTool.maxTimeoutS),
  }).strict(),
  riskLevel: "high",
  check: (args) => {
    const denied = deniedCommand(String(args.cmd));
    return denied
      ? { ok: false, reason: `command refused by the destructive-command denylist (${denied})` }
      : { ok: true };
  },
  // The program runs in a sandbox of its own that the host starts (see
  // capsule_runtime/program_sandbox.ts), so the capsule needs no permission for it.
  launch: () => ({}),
});
