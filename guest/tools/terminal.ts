/**
 * terminal: runs a command line with `bash -c` in the workspace, so pipes,
 * `&&`, redirects, globs and `$VAR` work as agents expect. A shell is safe
 * only because the OS sandbox (bubblewrap) bounds what it can reach; without
 * the sandbox the tool is refused unless the user opts in. Guest-safe.
 *
 * The denylist below is a courtesy that stops obvious accidents (`rm -rf`);
 * it is NOT a security boundary — the OS sandbox and Deno's --allow-run are.
 */
import { ArgError, optionalNumber, requireString } from "./args.ts";
import { DEFAULT_MAX_OUTPUT_CHARS, runProcess } from "./process.ts";
import { defineGuestTool, type GuestToolDef } from "./tool_def.ts";
import { failure, type ToolContext, type ToolResult } from "./types.ts";

/** Longest accepted command line. */
export const MAX_CMD_CHARS = 10_000;

/** Destructive patterns refused as a courtesy (common ones, plus obvious variants). */
const DENYLIST: [RegExp, string][] = [
  [
    /\brm\b(?=[^;&|\n]*\s-(?:-recursive\b|[a-zA-Z]*[rR]))(?=[^;&|\n]*\s-(?:-force\b|[a-zA-Z]*f))/,
    "rm -r -f",
  ],
  [/\brmdir\s+\/s\b/i, "rmdir /s"],
  [/\bformat\s+[a-z]:/i, "format X:"],
  [/\bmkfs(\.\w+)?\b/, "mkfs"],
  [/\bdd\b[^;&|\n]*\bof=/, "dd of="],
  [/:\s*\(\s*\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;?\s*:/, "fork bomb"],
  [/>\s*\/dev\/(sd|nvme|hd|vd)[a-z0-9]*/, "write to a disk device"],
  [/\b(curl|wget)\b[^;&\n]*\|\s*(sudo\s+)?(ba|z|da|k|fi)?sh\b/, "download piped to a shell"],
  [/\bchmod\s+(-\w+\s+)*0?777\b/, "chmod 777"],
  [/\b(nc|ncat|netcat)\b[^;&|\n]*\s-[a-zA-Z]*[le]/, "netcat listener or exec"],
  [/\b(powershell|pwsh)\b[^;&|\n]*\s-e(nc|ncodedcommand)?\b/i, "powershell -enc"],
  [/\bfind\b[^;&|\n]*\s-delete\b/, "find -delete"],
];

/** The denylist entry a command line matches, or `null`. */
export function deniedCommand(cmd: string): string | null {
  for (const [pattern, label] of DENYLIST) if (pattern.test(cmd)) return label;
  return null;
}

/**
 * Runs the `terminal` tool.
 *
 * @example
 * ```ts
 * await runTerminal({ cmd: "ls | wc -l" }, ctx); // stdout "3\n"
 * ```
 */
export async function runTerminal(
  args: Record<string, unknown>,
  ctx: ToolContext,
): Promise<ToolResult> {
  let cmd: string, timeoutS: number;
  try {
    cmd = requireString(args, "cmd", MAX_CMD_CHARS);
    timeoutS = optionalNumber(args, "timeout_s", 15, 1, 300);
  } catch (error) {
    if (error instanceof ArgError) return failure(`terminal: ${error.message}`);
    throw error;
  }
  const denied = deniedCommand(cmd);
  if (denied) {
    return failure(
      `command refused by the destructive-command denylist (${denied}); ` +
        "ask the user to run it themselves if it is really needed",
    );
  }
  const outcome = await (ctx.runProgram ?? runProcess)("bash", ["-c", cmd], {
    cwd: ctx.workspace,
    env: ctx.env,
    timeoutMs: timeoutS * 1000,
    maxOutputChars: ctx.limits?.maxOutputChars ?? DEFAULT_MAX_OUTPUT_CHARS,
    signal: ctx.signal,
  });
  return processResult(outcome, timeoutS);
}

/** Shapes a process outcome as the tool's `{returncode, stdout, stderr}` result. */
export function processResult(
  outcome: Awaited<ReturnType<typeof runProcess>>,
  timeoutS: number,
  stderrPrefix = "",
): ToolResult {
  if (!outcome.ok) return failure(outcome.error);
  const result = {
    returncode: outcome.code,
    stdout: outcome.stdout.text,
    stderr: stderrPrefix + outcome.stderr.text,
    timed_out: outcome.timedOut,
  };
  // A resource limit stopped it: a typed error the model can act on (`limit_cpu: ...`).
  if (outcome.limit) {
    return failure(outcome.limit.message, { ...result, limit: outcome.limit.code });
  }
  if (outcome.timedOut) {
    return failure(`timed out after ${timeoutS} s; the process was killed`, result);
  }
  if (outcome.aborted) return failure("cancelled; the process was killed", result);
  if (outcome.code !== 0) {
    const detail = result.stderr.trim() || `exit code ${outcome.code}`;
    return failure(detail, result);
  }
  return { ok: true, result, error: "" };
}

/** The terminal tool: starts programs, so it is an `exec` tool and never re-run silently. */
export const terminalTool: GuestToolDef<"terminal"> = defineGuestTool({
  name: "terminal",
  aliases: { command: "cmd", shell: "cmd", run: "cmd", exec: "cmd", timeout: "timeout_s" },
  maxTimeoutS: 300,
  sideEffects: "always",
  permission: "exec",
  run: runTerminal,
});
