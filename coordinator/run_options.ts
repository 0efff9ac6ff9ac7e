/**
 * Checking run options before anything is written, so bad input fails as one
 * clear error and leaves no run row behind.
 */
import { ClosedClawError } from "../core/errors.ts";
import { APPROVAL_MODES, type ApprovalMode } from "../core/settings.ts";
import { TOOL_NAMES, type ToolName } from "../capsule_runtime/manifest.ts";
import type { RunOptions } from "./types.ts";

/** Options kept on the run row, so `resume` can rebuild the run. */
export type StoredOptions = Omit<RunOptions, "task" | "context" | "signal" | "onEvent" | "ask">;

/** An approval mode option, or an error naming the allowed ones. */
export function checkMode(name: string, mode: string | undefined): ApprovalMode | undefined {
  if (mode === undefined) return undefined;
  if (!(APPROVAL_MODES as readonly string[]).includes(mode)) {
    throw new ClosedClawError(
      "invalid_option",
      `${name} must be one of ${APPROVAL_MODES.join(", ")}, not "${mode}".`,
      { exitCode: 2 },
    );
  }
  return mode as ApprovalMode;
}

/** A budget option: a finite number ≥ 0, or absent. */
export function checkCost(maxCostUsd: number | undefined): void {
  if (maxCostUsd === undefined || (Number.isFinite(maxCostUsd) && maxCostUsd >= 0)) return;
  throw new ClosedClawError(
    "invalid_option",
    `--max-cost-usd must be a number ≥ 0, not ${maxCostUsd}.`,
    { exitCode: 2 },
  );
}

/** The tools a run may use: all when not given, else known names without duplicates. */
export function checkTools(tools: readonly string[] | undefined): ToolName[] {
  if (!tools) return [...TOOL_NAMES];
  const unknown = tools.filter((t) => !(TOOL_NAMES as readonly string[]).includes(t));
  if (unknown.length) {
    throw new ClosedClawError("invalid_option", `Unknown tools: ${unknown.join(", ")}.`, {
      hint: `Tools are ${TOOL_NAMES.join(", ")}.`,
      exitCode: 2,
    });
  }
  return [...new Set(tools)] as ToolName[];
}

/** The workspace option must be an existing folder. */
export function statDir(path: string): void {
  try {
    if (Deno.statSync(path).isDirectory) return;
  } catch {
    // reported below
  }
  throw new ClosedClawError("workspace_missing", `The workspace ${path} is not a folder.`, {
    hint: "Pass an existing folder with --workspace.",
    exitCode: 2,
  });
}
