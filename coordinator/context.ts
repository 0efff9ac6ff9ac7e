/**
 * Everything one running run shares between the pipeline's functions: the
 * services it calls, its state, its run log, and how it stops.
 */
import type { CapsulePlacement } from "../capsule_runtime/capsule_types.ts";
import type { CapsulePool } from "../capsule_runtime/capsule_pool.ts";
import type { Settings } from "../core/settings.ts";
import type { Redactor } from "../core/redact.ts";
import type { ToolName } from "../capsule_runtime/manifest.ts";
import type { Store } from "../store/mod.ts";
import type { Embedder } from "../store/embedder.ts";
import type { VectorIndex } from "../store/vector_index.ts";
import type { LlmService } from "../llm/types.ts";
import type { ApprovalService } from "./approvals.ts";
import type { RunLog } from "./run_log.ts";
import type { RunState } from "./types.ts";

/** Why a run stopped early: the user cancelled, or its budget ran out. */
export interface StopReason {
  kind: "cancel" | "budget";
  reason: string;
}

export interface RunContext {
  settings: Settings;
  store: Store;
  llm: LlmService;
  log: RunLog;
  state: RunState;
  approvals: ApprovalService;
  embedder: Embedder;
  index: VectorIndex;
  redactor: Redactor;
  workspace: string;
  /** Roots capsules may touch: the workspace plus the extra allowed paths. */
  allowedRoots: string[];
  /** Tools capsules of this run may use. */
  toolsAllowed: ToolName[];
  /** Aborted when the run stops (cancel or budget); capsules are killed at once. */
  signal: AbortSignal;
  stop(stop: StopReason): void;
  stopped(): StopReason | null;
  /** Writes the state and the subtasks to SQLite. */
  checkpoint(): void;
  /** Serialises agent acquisition per role, so parallel subtasks share one agent. */
  roleLocks: Map<string, Promise<unknown>>;
  /** Set with CLOSED_CLAW_NATS_URL: capsules run on worker machines (workers/placement.ts). */
  placement?: CapsulePlacement;
  /**
   * This run's idle local capsules (prestarted, or kept for an agent's next
   * subtask); closed when the run ends or stops. Absent with a placement.
   */
  capsules?: CapsulePool;
}

/** Emits `task_pool_update`: a snapshot of a phase's subtasks. */
export function emitPool(ctx: RunContext, phase: "discovery" | "execution"): void {
  const pool = phase === "discovery"
    ? ctx.state.discovery_subtask_pool
    : ctx.state.execution_subtask_pool;
  ctx.log.emit("task_pool_update", {
    phase,
    tasks: pool.map((t) => ({
      task_id: t.task_id,
      title: t.title,
      role_tag: t.role_tag,
      depends_on: t.depends_on,
      status: t.status,
      assigned_agent_id: t.assigned_agent_id,
      error: t.error,
      attempts: t.attempts,
      result_preview: t.result.slice(0, 300),
    })),
  });
}

/** Emits the run's token and cost totals so far (for the live view and dashboard). */
export function emitUsage(ctx: RunContext): void {
  const usage = ctx.llm.runUsage(ctx.state.run_id);
  ctx.log.emit("usage_update", {
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
    cost_usd: usage.costUsd,
  });
}
