/** Everything the dashboard shows about one agent. */
import { join } from "node:path";
import { agentDetail } from "../../capsule_runtime/registry.ts";
import { capsuleDir } from "../../capsule_runtime/factory.ts";
import { publicManifest } from "../../capsule_runtime/manifest.ts";
import { planLaunch } from "../../capsule_runtime/host.ts";
import { describeLimits, effectiveLimits } from "../../capsule_runtime/limits.ts";
import { limitFacts, limitStatus } from "../../capsule_runtime/limit_facts.ts";
import { MemoryStore } from "../../store/memory.ts";
import { probeBubblewrap } from "../../capsule_runtime/bwrap_probe.ts";
import { egressProxyAvailable } from "../../capsule_runtime/egress_bridge.ts";
import { programNetwork } from "../../coordinator/network_hosts.ts";
import type { WebDeps } from "../deps.ts";

function recentMemories(agentsDir: string, agentId: string, limit: number) {
  const path = join(capsuleDir(agentsDir, agentId), "memory.db");
  try {
    Deno.statSync(path);
  } catch {
    return [];
  }
  const memory = MemoryStore.open(path);
  try {
    return memory.recent(limit);
  } finally {
    memory.close();
  }
}

/** Everything the agent-detail page shows; null when the agent is unknown. */
export async function agentView(deps: WebDeps, agentId: string) {
  const detail = agentDetail(deps.settings.agentsDir, deps.store, agentId);
  if (!detail) return null;
  let denoFlags: string[] = [];
  let sandbox = "";
  let refused: { tool: string; reason: string }[] = [];
  const bwrap = await probeBubblewrap();
  const proxy = egressProxyAvailable({ bwrapPath: bwrap.works ? bwrap.path : "" });
  try {
    const plan = await planLaunch(deps.settings, detail.manifest);
    denoFlags = plan.denoFlags;
    sandbox = plan.sandbox;
    refused = plan.refusedTools;
  } catch (error) {
    sandbox = `unavailable: ${(error as Error).message}`;
  }
  const toolEvents = deps.store.toolEvents.listForAgent(agentId, 200);
  return {
    ...publicManifest(detail.manifest),
    skill_md: detail.skill_md,
    memory_entries: detail.memory_entries,
    memories: recentMemories(deps.settings.agentsDir, agentId, 20),
    deno_flags: denoFlags,
    sandbox,
    limits: effectiveLimits(detail.manifest),
    limit_lines: describeLimits(effectiveLimits(detail.manifest)).map((l) => l.label),
    /** Which limits this machine enforces (the same lines as `doctor`). */
    limit_enforcement: limitStatus(limitFacts(), sandbox === "bwrap"),
    refused_tools: refused,
    /** The hosts its programs may reach through the egress proxy, and whether they can here. */
    program_network: programNetwork(
      detail.manifest.tools_allowlist,
      detail.manifest.permissions.network_hosts,
      proxy,
    ),
    metrics: {
      usage_count: detail.manifest.usage_count,
      success_rate: detail.manifest.success_rate,
      avg_latency_ms: detail.manifest.avg_latency_ms,
      tool_calls: toolEvents.length,
      tool_errors: toolEvents.filter((e) => !e.ok).length,
    },
    recent_tool_calls: toolEvents.slice(0, 20),
  };
}

/** The agent-detail view's shape. */
export type AgentView = NonNullable<Awaited<ReturnType<typeof agentView>>>;
