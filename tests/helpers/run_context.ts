/**
 * Test helpers: a complete, typed `RunState` and `RunContext` for coordinator
 * unit tests, so a test states only the fields it cares about (no casts).
 */
import { Redactor } from "../../core/redact.ts";
import { ApprovalService } from "../../coordinator/approvals.ts";
import type { RunContext, StopReason } from "../../coordinator/context.ts";
import { newRunState, type RunState } from "../../coordinator/types.ts";
import type { LlmService } from "../../llm/types.ts";
import { HashEmbedder } from "../../store/hash_embedder.ts";
import { VectorIndex } from "../../store/vector_index.ts";

/** A fresh run's state (as `startRun` makes it), with `overrides` on top. */
export function runState(overrides: Partial<RunState> = {}): RunState {
  return {
    ...newRunState({
      run_id: "run1",
      session_id: "session1",
      task: "test task",
      context: {},
      runtime_policies: { create_approval_mode: "approve", api_approval_mode: "approve" },
    }),
    ...overrides,
  };
}

/** An `LlmService` for tests that must not call a model: calls reject, usage is zero. */
export function noLlm(): LlmService {
  const refuse = () => Promise.reject(new Error("this test has no model"));
  return {
    provider: "openai",
    model: "none",
    complete: refuse,
    structured: refuse,
    runUsage: () => ({ inputTokens: 0, outputTokens: 0, costUsd: 0 }),
  };
}

/**
 * A `RunContext` over the caller's settings, store and run log. Everything
 * else has a working default: `runState()`, no model, the hashing embedder
 * with an index of its dimension, an `ApprovalService` over the store, the
 * settings' workspace, no tools, a live signal, a `stop` that records its
 * reason and aborts the signal, and a `checkpoint` that does nothing.
 */
export function runContext(
  ctx: Pick<RunContext, "settings" | "store" | "log"> & Partial<RunContext>,
): RunContext {
  const { settings, store } = ctx;
  const controller = new AbortController();
  let stopped: StopReason | null = null;
  const embedder = ctx.embedder ?? new HashEmbedder();
  const redactor = ctx.redactor ?? new Redactor();
  const workspace = ctx.workspace ?? settings.workspace;
  return {
    llm: ctx.llm ?? noLlm(),
    state: ctx.state ?? runState(),
    approvals: ctx.approvals ?? new ApprovalService(store, { redactor }),
    embedder,
    index: ctx.index ?? new VectorIndex(store.db, embedder.dim),
    redactor,
    workspace,
    allowedRoots: [workspace],
    toolsAllowed: [],
    signal: controller.signal,
    stop: (reason) => {
      stopped ??= reason;
      controller.abort();
    },
    stopped: () => stopped,
    checkpoint: () => {},
    roleLocks: new Map(),
    ...ctx,
  };
}
