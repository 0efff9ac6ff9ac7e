/**
 * The data-flow gate: right before a subtask's capsule starts, every earlier
 * result about to enter its context (its dependencies' results and the
 * discovery results) is checked. Private data bound for an agent that can
 * reach the network is asked about under the run's API approval mode; a
 * denied result is replaced by a line saying what was withheld and why.
 * Every crossing is audited and logged (`data_flow_approval`), and decisions
 * are kept in the run state, so retries and resumes do not ask again.
 */
import { approvalTimeoutSec } from "./approvals.ts";
import type { Manifest } from "../capsule_runtime/manifest.ts";
import type { RunContext } from "./context.ts";
import {
  crossingKey,
  crossingsFor,
  crossingSummary,
  type FlowSource,
  isPrivate,
  networkReachOf,
  origin,
  PREVIEW_CHARS,
  privateToolsUsed,
  withheldLine,
} from "./data_flow.ts";
import type { DataFlowDecision, DataFlowState, Subtask } from "./types.ts";

/** What enters a capsule's context after the gate. */
export interface GatedContext {
  dependencyResults: Record<string, string>;
  discoveryResults: Record<string, string>;
  /** One line per withheld result (also put in place of the result). */
  withheld: string[];
}

function flowState(ctx: RunContext): DataFlowState {
  return ctx.state.data_flow ??= { decisions: {}, inherited: {} };
}

/** A result with where its data came from: its agent's calls and what it inherited. */
function source(ctx: RunContext, taskId: string, text: string): FlowSource {
  const { state } = ctx;
  const subtask = [...state.discovery_subtask_pool, ...state.execution_subtask_pool]
    .find((t) => t.task_id === taskId);
  return {
    task_id: taskId,
    title: subtask?.title ?? taskId,
    text,
    private_tools: privateToolsUsed(ctx.store.toolEvents.listForTask(state.run_id, taskId)),
    inherited_from: flowState(ctx).inherited[taskId] ?? [],
  };
}

/**
 * Checks what would enter `subtask`'s context for the agent `manifest`;
 * resolves to what may enter. Records inheritance: the subtask's result is
 * private when private data entered its context.
 */
export async function gateDataFlow(
  ctx: RunContext,
  subtask: Subtask,
  manifest: Manifest,
  dependencyResults: Record<string, string>,
): Promise<GatedContext> {
  const gated: GatedContext = {
    dependencyResults: { ...dependencyResults },
    discoveryResults: { ...ctx.state.discovery_results },
    withheld: [],
  };
  const texts = new Map([
    ...Object.entries(gated.discoveryResults),
    ...Object.entries(gated.dependencyResults),
  ]);
  texts.delete(subtask.task_id);
  const sources = [...texts].map(([id, text]) => source(ctx, id, text));
  const hosts = manifest.permissions.network_hosts;
  const networkTools = networkReachOf(manifest.tools_allowlist, hosts);
  const crossing = new Set(
    crossingsFor(sources, manifest.tools_allowlist, hosts).map((s) => s.task_id),
  );
  const entered: string[] = [];
  for (const src of sources) {
    if (!isPrivate(src) || src.text.trim() === "") continue;
    if (!crossing.has(src.task_id)) {
      entered.push(src.task_id);
      continue;
    }
    const decision = await decideCrossing(ctx, subtask, manifest, src, networkTools);
    if (ctx.signal.aborted) break;
    if (decision.approved) {
      entered.push(src.task_id);
      continue;
    }
    const line = withheldLine(src, networkTools, decision.note);
    gated.withheld.push(line);
    if (src.task_id in gated.dependencyResults) gated.dependencyResults[src.task_id] = line;
    if (src.task_id in gated.discoveryResults) gated.discoveryResults[src.task_id] = line;
  }
  const inherited = flowState(ctx).inherited;
  const before = inherited[subtask.task_id] ?? [];
  const all = [...new Set([...before, ...entered])].sort();
  if (all.length !== before.length) {
    inherited[subtask.task_id] = all;
    ctx.checkpoint();
  }
  return gated;
}

/** One crossing: the remembered decision, or a new approval asked, recorded and logged. */
async function decideCrossing(
  ctx: RunContext,
  subtask: Subtask,
  manifest: Manifest,
  src: FlowSource,
  networkTools: string[],
): Promise<DataFlowDecision> {
  const { state } = ctx;
  const key = crossingKey(src.task_id, subtask.task_id, manifest.agent_id);
  const known = flowState(ctx).decisions[key];
  if (known) return known;
  const to = { task_id: subtask.task_id, agent_id: manifest.agent_id, network_tools: networkTools };
  const outcome = await ctx.approvals.request({
    runId: state.run_id,
    kind: "data_flow",
    mode: state.runtime_policies.api_approval_mode,
    request: {
      type: "data_flow",
      from_task_id: src.task_id,
      from_title: src.title,
      from_origin: origin(src),
      to_task_id: subtask.task_id,
      to_title: subtask.title,
      to_agent_id: manifest.agent_id,
      to_tools: manifest.tools_allowlist,
      network_tools: networkTools,
      preview: src.text.slice(0, PREVIEW_CHARS),
      chars: src.text.length,
    },
    summary: crossingSummary(src, to),
    details: [
      "yes: the agent gets this data",
      "no: the agent gets a line saying what was withheld and why",
      `always: approve now and whenever agent ${manifest.agent_id} is handed data of this origin, ` +
      "while its network tools and hosts stay within these",
    ],
    rule: {
      kind: "data_flow",
      scope: "agent",
      subject: manifest.agent_id,
      grant: {
        origin: origin(src),
        network_tools: networkTools,
        network_hosts: manifest.permissions.network_hosts ?? [],
      },
    },
    timeoutSec: approvalTimeoutSec(ctx.settings, state.runtime_policies.api_approval_mode),
    signal: ctx.signal,
  });
  const decision: DataFlowDecision = {
    approval_id: outcome.approval_id,
    approved: outcome.approved,
    operator: outcome.operator,
    note: outcome.note,
  };
  // A run stopped while asking is asked again when it resumes.
  if (ctx.signal.aborted) return decision;
  flowState(ctx).decisions[key] = decision;
  state.approvals.push({
    ...decision,
    ...(outcome.status === "timed_out" ? { timed_out: true } : {}),
    kind: "data_flow",
    summary: `${src.task_id} → ${subtask.task_id} (${manifest.agent_id})`,
  });
  const record = {
    from: src.task_id,
    to: subtask.task_id,
    agent_id: manifest.agent_id,
    network_tools: networkTools,
    origin: origin(src),
    decision: decision.approved ? "approved" : "denied",
    approval_id: decision.approval_id,
    operator: decision.operator,
    note: decision.note,
  };
  ctx.store.audit.record("data_flow_approval", record, {
    runId: state.run_id,
    agentId: manifest.agent_id,
  });
  ctx.log.emit("data_flow_approval", record);
  ctx.checkpoint();
  return decision;
}
