/**
 * The data-flow rule against the "lethal trifecta" (private data, untrusted
 * content, a way out), as pure decisions. A subtask's result is *private*
 * when its agent read the workspace, a database or ran a program (any
 * allowed call of a tool that is not a network tool, except writing a file),
 * or when private data of another subtask entered its context. Private data
 * may enter the context of a capsule that can reach the network only with an
 * approval; `data_flow_gate.ts` asks and records.
 */
import type { ToolName } from "../capsule_runtime/manifest.ts";
import { toolsWithPermission } from "../guest/tools/registry.ts";

/**
 * Tools that reach the network. Programs (`terminal`, `python_exec`) have
 * none unless the manifest grants hosts (`networkReachOf`).
 */
export const NETWORK_TOOLS: readonly ToolName[] = toolsWithPermission("network");
const EXEC_TOOLS: readonly ToolName[] = toolsWithPermission("exec");

/** How many characters of the data an approval shows. */
export const PREVIEW_CHARS = 300;

/** file_io operations that only write (they bring no data back). */
const WRITE_ONLY_OPS = new Set(["write", "append"]);

/** One recorded tool call, as far as the rule cares. */
export interface CallFact {
  tool: string;
  args: Record<string, unknown>;
  allowed: boolean;
}

/** Whether a call brought private data into its agent's context. */
export function readsPrivateData(call: CallFact): boolean {
  if (!call.allowed) return false;
  if ((NETWORK_TOOLS as readonly string[]).includes(call.tool)) return false;
  return !(call.tool === "file_io" && WRITE_ONLY_OPS.has(String(call.args.op ?? "")));
}

/** The private-data tools a subtask's calls used, sorted, once each. */
export function privateToolsUsed(calls: readonly CallFact[]): string[] {
  return [...new Set(calls.filter(readsPrivateData).map((c) => c.tool))].sort();
}

/** The network tools among an agent's tools. */
export function networkToolsOf(tools: readonly string[]): string[] {
  return tools.filter((t) => (NETWORK_TOOLS as readonly string[]).includes(t));
}

/**
 * The tools through which an agent reaches the network: its network tools,
 * and its exec tools when the manifest grants hosts (their programs reach
 * them through the egress proxy).
 */
export function networkReachOf(
  tools: readonly string[],
  networkHosts: readonly string[],
): string[] {
  const exec = (t: string) =>
    networkHosts.length > 0 && (EXEC_TOOLS as readonly string[]).includes(t);
  return tools.filter((t) => (NETWORK_TOOLS as readonly string[]).includes(t) || exec(t));
}

/** A result that may enter a subtask's context, with where its data came from. */
export interface FlowSource {
  task_id: string;
  title: string;
  text: string;
  /** Private-data tools its own agent used. */
  private_tools: string[];
  /** Subtasks whose private data entered its context. */
  inherited_from: string[];
}

/** Whether a result carries private data. */
export function isPrivate(source: FlowSource): boolean {
  return source.private_tools.length > 0 || source.inherited_from.length > 0;
}

/**
 * The sources whose entry into a capsule with `targetTools` needs an
 * approval: private, non-empty ones, when the target can reach the network.
 */
export function crossingsFor(
  sources: readonly FlowSource[],
  targetTools: readonly string[],
  networkHosts: readonly string[] = [],
) {
  if (networkReachOf(targetTools, networkHosts).length === 0) return [];
  return sources.filter((s) => isPrivate(s) && s.text.trim() !== "");
}

/** The key a decision is remembered under (retries and resumes reuse it). */
export function crossingKey(from: string, to: string, agentId: string): string {
  return `${from}>${to}>${agentId}`;
}

/** Where a source's private data came from, in words. */
export function origin(source: FlowSource): string {
  const parts = [
    ...(source.private_tools.length ? [`read with ${source.private_tools.join(", ")}`] : []),
    ...(source.inherited_from.length
      ? [`built on private data of ${source.inherited_from.join(", ")}`]
      : []),
  ];
  return parts.join("; ");
}

/** The one line a human reads to decide a crossing (with a preview of the data). */
export function crossingSummary(
  source: FlowSource,
  to: { task_id: string; agent_id: string; network_tools: readonly string[] },
): string {
  const preview = source.text.slice(0, PREVIEW_CHARS);
  const more = source.text.length > PREVIEW_CHARS ? `… (${source.text.length} chars)` : "";
  return `Private data of subtask ${source.task_id} (${
    origin(source)
  }) would flow to agent ${to.agent_id} for subtask ${to.task_id}, which can reach the network (${
    to.network_tools.join(", ")
  }). Preview: ${JSON.stringify(preview)}${more}`;
}

/** What stands in the context instead of a withheld result: what and why. */
export function withheldLine(
  source: FlowSource,
  networkTools: readonly string[],
  note: string,
): string {
  return `[withheld] The result of subtask ${source.task_id} was withheld from this agent: it carries private data (${
    origin(source)
  }) and this agent can reach the network (${
    networkTools.join(", ")
  }); the data-flow approval was denied (${note}). Work without it.`;
}
