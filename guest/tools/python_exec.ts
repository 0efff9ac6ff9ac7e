/**
 * python_exec: runs `python3 -c <code>` in the workspace with stdin closed and
 * a timeout. Code that waits for input gets EOF at once, and a warning about
 * it is prepended to stderr. Guest-safe.
 */
import { ArgError, optionalNumber, requireString } from "./args.ts";
import { DEFAULT_MAX_OUTPUT_CHARS, runProcess } from "./process.ts";
import { processResult } from "./terminal.ts";
import { defineGuestTool, type GuestToolDef } from "./tool_def.ts";
import { failure, type ToolContext, type ToolResult } from "./types.ts";

/** Longest accepted snippet: 30,000 characters. */
export const MAX_CODE_CHARS = 30_000;

/** The interpreter to run; found on PATH. */
export const PYTHON_BIN = "python3";

const INTERACTIVE = /\binput\s*\(|\bsys\.stdin\b|\braw_input\s*\(|\bfileinput\.input\s*\(/;

/** The warning prepended to stderr when the code reads stdin. */
export const STDIN_WARNING =
  "WARNING: this code reads standard input (input()/sys.stdin), but stdin is closed: " +
  "reads return EOF. Pass data in the code instead.\n";

/**
 * Runs the `python_exec` tool.
 *
 * @example
 * ```ts
 * await runPythonExec({ code: "print(6 * 7)" }, ctx); // stdout "42\n"
 * ```
 */
export async function runPythonExec(
  args: Record<string, unknown>,
  ctx: ToolContext,
): Promise<ToolResult> {
  let code: string, timeoutS: number;
  try {
    code = requireString(args, "code", MAX_CODE_CHARS);
    timeoutS = optionalNumber(args, "timeout_s", 15, 1, 300);
  } catch (error) {
    if (error instanceof ArgError) return failure(`python_exec: ${error.message}`);
    throw error;
  }
  const outcome = await (ctx.runProgram ?? runProcess)(PYTHON_BIN, ["-c", code], {
    cwd: ctx.workspace,
    env: ctx.env,
    // Unbuffered, so output printed before a timeout is not lost.
    extraEnv: { PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1" },
    timeoutMs: timeoutS * 1000,
    maxOutputChars: ctx.limits?.maxOutputChars ?? DEFAULT_MAX_OUTPUT_CHARS,
    signal: ctx.signal,
  });
  return processResult(outcome, timeoutS, INTERACTIVE.test(code) ? STDIN_WARNING : "");
}

/** The python_exec tool: starts python3, so it is an `exec` tool and never re-run silently. */
export const pythonExecTool: GuestToolDef<"python_exec"> = defineGuestTool({
  name: "python_exec",
  aliases: { script: "code", python: "code", snippet: "code", timeout: "timeout_s" },
  maxTimeoutS: 300,
  sideEffects: "always",
  permission: "exec",
  run: runPythonExec,
});
