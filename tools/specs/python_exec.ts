/** Host spec of `python_exec`: a Python 3 snippet run with `python3 -c`. */
import { z } from "zod";
import { MAX_CODE_CHARS, pythonExecTool } from "../../guest/tools/python_exec.ts";
import { timeoutArg } from "./_shared.ts";
import { defineHostTool, type HostToolSpec } from "./types.ts";

export const pythonExecSpec: HostToolSpec<"python_exec"> = defineHostTool(pythonExecTool, {
  description:
    "Run a Python 3 snippet (`python3 -c code`, at most 30,000 characters) in the workspace and " +
    "return {returncode, stdout, stderr}. Standard input is closed: input() gets EOF, so put data in the " +
    "code. Print what you need to see; output is cut at 50,000 characters per stream. Default timeout " +
    "15 s (max 300), then the process is killed.",
  argsSchema: z.object({
    code: z.string().min(1).max(MAX_CODE_CHARS).describe("Python 3 source, run with `python3 -c`."),
    timeout_s: timeoutArg(15, pythonExecTool.maxTimeoutS),
  }).strict(),
  riskLevel: "high",
  // The program runs in a sandbox of its own that the host starts (see
  // capsule_runtime/program_sandbox.ts), so the capsule needs no permission for it.
  launch: () => ({}),
});
