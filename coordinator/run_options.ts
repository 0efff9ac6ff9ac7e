/**
 * Checking run options before anything is written, so bad input fails as one
 * clear error and leaves no run row behind.
 */
import { isAbsolute, resolve } from "node:path";
import { ClosedClawError } from "../core/errors.ts";
import { isWithin } from "../capsule_runtime/launcher.ts";
import { realOrSelf } from "../capsule_runtime/symlink_scan.ts";
import { APPROVAL_MODES, type ApprovalMode, type Settings } from "../core/settings.ts";
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

/**
 * The workspace a run asked for (the dashboard's form, an MCP client, which is
 * often a model), which must be inside the configured workspace or an extra
 * allowed path. Checked on real paths: a folder that is a symlink out of the
 * roots is refused, and the run gets the real path, so nothing later can
 * follow the link elsewhere.
 */
export function scopedWorkspace(settings: Settings, requested: string | undefined) {
  if (!requested?.trim()) return undefined;
  const base = settings.workspace;
  const path = isAbsolute(requested) ? resolve(requested) : resolve(base, requested);
  let real: string;
  try {
    real = Deno.realPathSync(path);
  } catch {
    throw new ClosedClawError("workspace_missing", `The workspace ${requested} does not exist.`);
  }
  const roots = [base, ...settings.extraAllowedPaths].map(realOrSelf);
  if (!roots.some((root) => isWithin(root, real))) {
    throw new ClosedClawError(
      "workspace_outside",
      `The workspace ${requested} is outside the configured workspace.`,
      { hint: "Use a folder inside CLOSED_CLAW_WORKSPACE or CLOSED_CLAW_EXTRA_ALLOWED_PATHS." },
    );
  }
  return real;
}
