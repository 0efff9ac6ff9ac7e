/**
 * The Tools page's tester: runs one tool call for real, inside a throw-away
 * capsule that is allowed only that tool, so the call gets exactly the Deno
 * permissions (and OS sandbox) an agent would. The capsule's "model" is a
 * two-step script (call the tool, then finish), so no LLM is involved, and
 * the host applies the same policy checks it applies to agents.
 */
import { createCapsule, deleteCapsule } from "../capsule_runtime/factory.ts";
import { runCapsule } from "../capsule_runtime/host.ts";
import { resolvePermissions } from "../capsule_runtime/launcher.ts";
import type { ToolName } from "../capsule_runtime/manifest.ts";
import type { Settings } from "../core/settings.ts";
import { checkToolCall } from "../tools/host_check.ts";

export interface ToolTestResult {
  tool: string;
  ok: boolean;
  mode: "sandbox";
  sandbox: string;
  allowed: boolean;
  reason: string;
  result: Record<string, unknown> | null;
  error: string;
  ms: number;
}

const NEVER_CALLED = "the tool was never called";

function step(fields: Record<string, string>): string {
  return JSON.stringify({
    thought: "tool test",
    action: "final",
    tool: "",
    args_json: "{}",
    result: "",
    status: "ok",
    ...fields,
  });
}

/** Runs `tool` once with `args` in a sandboxed capsule; the capsule is deleted afterwards. */
export async function testToolInCapsule(
  settings: Settings,
  tool: ToolName,
  args: Record<string, unknown>,
  timeoutMs = 60_000,
): Promise<ToolTestResult> {
  const manifest = createCapsule(settings.agentsDir, {
    name: `tool-test-${tool}`,
    description: `Temporary capsule testing the ${tool} tool from the dashboard.`,
    tools_allowlist: [tool],
  });
  const began = performance.now();
  let decision = { allowed: false, reason: NEVER_CALLED };
  const done: { ok: boolean; error: string; result: Record<string, unknown> }[] = [];
  let sandbox = "";
  let turns = 0;
  try {
    const workspace = settings.workspace;
    const permissions = resolvePermissions(manifest, workspace, [
      workspace,
      ...settings.extraAllowedPaths,
    ]);
    const outcome = await runCapsule({
      settings,
      manifest,
      task: `Test the ${tool} tool.`,
      timeoutMs,
      maxSteps: 3,
      systemPrompt: "Tool tester.",
      // No model is asked: the scripted steps below are JSON steps.
      toolMode: "json",
      onEvent: (event) => {
        if (event.type === "started") sandbox = event.sandbox;
        if (event.type === "tool_done") {
          done.push({ ok: event.ok, error: event.error, result: event.result });
        }
      },
      hooks: {
        complete: () => {
          turns++;
          const text = turns === 1
            ? step({ action: "tool", tool, args_json: JSON.stringify(args) })
            : step({ result: "done" });
          return Promise.resolve({ text, usage: { input_tokens: 0, output_tokens: 0 } });
        },
        decideTool: async (call) => {
          const check = await checkToolCall(call.tool, call.args, {
            allowlist: manifest.tools_allowlist,
            ctx: {
              workspace,
              readRoots: permissions.readRoots,
              writeRoots: permissions.writeRoots,
              fileWrite: permissions.fileWrite,
              sqlPaths: permissions.sqlPaths,
              networkHosts: permissions.networkHosts,
            },
          });
          decision = check.allowed
            ? { allowed: true, reason: "" }
            : { allowed: false, reason: check.reason };
          return check.allowed
            ? { allowed: true, args: check.args, reason: "" }
            : { allowed: false, args: {}, reason: check.reason };
        },
      },
    });
    const finished = done.at(0);
    const neverCalled = !finished && !decision.allowed && decision.reason === NEVER_CALLED;
    return {
      tool,
      ok: decision.allowed && finished?.ok === true,
      mode: "sandbox",
      sandbox: sandbox || outcome.sandbox,
      allowed: decision.allowed,
      reason: decision.reason,
      result: finished?.result ?? null,
      error: neverCalled
        ? `${NEVER_CALLED}${outcome.error_message ? ` (${outcome.error_message})` : ""}`
        : finished?.error || (decision.allowed ? outcome.error_message ?? "" : decision.reason),
      ms: Math.round(performance.now() - began),
    };
  } finally {
    deleteCapsule(settings.agentsDir, manifest.agent_id);
  }
}
