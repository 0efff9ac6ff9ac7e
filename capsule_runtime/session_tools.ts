/**
 * What a capsule session needs to decide and run tool calls: the host policy
 * and the caller's hooks as the tool decision uses them, programs run here in
 * their own sandbox, and the message for a call left in doubt by a crash.
 */
import { checkToolCall } from "../tools/host_check.ts";
import type { HostToolOutcome, StartMessage } from "../guest/protocol_types.ts";
import { runTool, type ToolContext } from "../guest/tools/run.ts";
import type { CapsuleEvent, RunCapsuleOptions } from "./capsule_types.ts";
import type { LaunchPlan } from "./launcher.ts";
import type { ToolDecisionDeps } from "./tool_decision.ts";
import { programRunner } from "./program_runner.ts";
import { roundMs } from "./_format.ts";

/** Where a capsule's tools run and what they may touch: the host policy checks against it. */
export function toolContextOf(plan: LaunchPlan, workspace: string): ToolContext {
  const { permissions } = plan;
  return {
    workspace,
    readRoots: permissions.readRoots,
    writeRoots: permissions.writeRoots,
    fileWrite: permissions.fileWrite,
    sqlPaths: permissions.sqlPaths,
    networkHosts: permissions.networkHosts,
    denyPaths: plan.deniedPaths,
  };
}

/** The host policy and the caller's hooks, and the context the policy checks against. */
export function sessionToolDeps(
  options: RunCapsuleOptions,
  plan: LaunchPlan,
  start: StartMessage,
  emit: (event: CapsuleEvent) => void,
  signal: AbortSignal,
): { deps: ToolDecisionDeps; ctx: ToolContext } {
  const ctx = toolContextOf(plan, start.tool_context.workspace);
  const deps: ToolDecisionDeps = {
    check: (tool: string, args: Record<string, unknown>) =>
      checkToolCall(tool, args, {
        allowlist: plan.tools,
        ctx,
        resolver: options.resolver,
        paidApiProviders: options.settings.paidApiProviders,
      }),
    approve: options.hooks.approve?.bind(options.hooks),
    decideTool: options.hooks.decideTool?.bind(options.hooks),
    onApproval: emit,
    agentId: options.manifest.agent_id,
    signal,
  };
  return { deps, ctx };
}

/** Runs an exec tool's program in a sandbox of its own, started here. */
export async function runProgram(
  ctx: ToolContext,
  plan: LaunchPlan,
  tool: string,
  args: Record<string, unknown>,
  signal: AbortSignal,
): Promise<HostToolOutcome> {
  const t0 = performance.now();
  const ran = await runTool(tool, args, { ...ctx, signal, runProgram: programRunner(plan) });
  return { ...ran, ms: roundMs(performance.now() - t0) };
}

/** Why a call that was in flight when the agent stopped is not run again, naming it. */
export function inDoubtMessage(tool: string, args: Record<string, unknown>): string {
  const text = JSON.stringify(args);
  const summary = text.length > 300 ? `${text.slice(0, 300)}…` : text;
  return `The ${tool} call ${summary} was in flight when the agent stopped: it may or may not ` +
    "have happened, so it was not run again.";
}
