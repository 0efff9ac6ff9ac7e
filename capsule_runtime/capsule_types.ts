/**
 * The host's public capsule types: the caller's hooks, the events a run
 * emits and the result it ends with. Kept apart from the code so the
 * session, the tool decision and the entry point share one definition.
 */
import type { CapsulePool, WarmKind } from "./capsule_pool.ts";
import type { EgressRecord } from "./egress_proxy.ts";
import type { Settings } from "../core/settings.ts";
import type { PaidApiApproval } from "../tools/host_check.ts";
import type { Resolver } from "../guest/policy/ssrf.ts";
import type { Manifest } from "./manifest.ts";
import type { LaunchPlan } from "./launcher.ts";
import type {
  ChatMessageWire,
  FinalMessage,
  ToolCallWire,
  ToolMode,
} from "../guest/protocol_types.ts";
import type { StepJournal } from "./step_journal.ts";
import type { CapsuleChannel } from "./supervisor.ts";
import type { HostToolOutcome } from "../guest/protocol_types.ts";

export interface ModelReply {
  text: string;
  usage: { input_tokens: number; output_tokens: number; cached_input_tokens?: number };
  /** Native tool calls (only for a request that declared tools). */
  tool_calls?: ToolCallWire[];
}

/** A tool declared to the model for native tool calling. */
export interface ToolDeclarationWire {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface ToolDecision {
  allowed: boolean;
  args: Record<string, unknown>;
  reason: string;
  /** Why a refusal, as a stable code (`ToolRefusalCode`); the host sets one when it is missing. */
  error_code?: string;
}

/** A paid-API call waiting for approval (see `CapsuleHooks.approve`). */
export interface ApprovalRequest extends PaidApiApproval {
  agent_id: string;
  tool: string;
  /** The validated args the capsule will run with if approved. */
  args: Record<string, unknown>;
  /** Aborted when the run is cancelled or times out: stop waiting and deny. */
  signal: AbortSignal;
}

/** The answer to an `ApprovalRequest`. */
export interface ApprovalAnswer {
  approved: boolean;
  /** Why, in one line (e.g. "approved_via_web", "timed_out_default_deny"). */
  note: string;
}

/**
 * What the caller (the coordinator) provides. Every tool call first passes the
 * host policy (`checkToolCall`: allowlist, schema, path/SSRF/SQL policy); a
 * call to a host in CLOSED_CLAW_PAID_API_PROVIDERS then goes to `approve`;
 * then `decideTool`, when given, has the last word. Only after all three does
 * the host answer the capsule's `tool_decision`.
 */
export interface CapsuleHooks {
  /** Answers one model call for the capsule; the host holds the keys. */
  complete(request: {
    messages: ChatMessageWire[];
    schema?: { name: string; json_schema: Record<string, unknown> };
    /** The capsule's tools, declared natively (the host's list, never the guest's). */
    tools?: ToolDeclarationWire[];
    /** How many leading system messages are the same on every step (a cacheable prefix). */
    cache_prefix?: number;
    signal: AbortSignal;
  }): Promise<ModelReply>;
  /**
   * Optional extra decision on a call the host policy (and approval) already
   * allowed; `args` are the validated, alias-normalised args. Returning
   * `allowed: false` refuses the call with `reason`; the returned `args` are
   * what the capsule runs with. A throw refuses the call.
   */
  decideTool?(call: {
    tool: string;
    args: Record<string, unknown>;
    reason: string;
    signal: AbortSignal;
    /**
     * Set for a paid-API call when there is no `approve` hook: decideTool
     * must then get it approved itself (prefer giving `approve`).
     */
    paidApi?: PaidApiApproval;
  }): Promise<ToolDecision>;
  /**
   * Approves or denies a call to a paid API host (http_api or web_fetch to a
   * host in CLOSED_CLAW_PAID_API_PROVIDERS) before the capsule may make it.
   * Without this hook such calls go to `decideTool` with `paidApi` set, or
   * are denied when there is no decideTool either. A throw counts as a denial.
   *
   * @example
   * ```ts
   * approve: async (req) => ({ approved: await askUser(`${req.endpoint}?`), note: "asked" })
   * ```
   */
  approve?(request: ApprovalRequest): Promise<ApprovalAnswer>;
}

export type CapsuleEvent =
  | {
    type: "started";
    pid: number;
    sandbox: LaunchPlan["sandbox"];
    spawn_ms: number;
    deno_flags: string[];
    refused_tools: LaunchPlan["refusedTools"];
    attempt: number;
    /** The worker machine that runs the capsule (absent: this machine). */
    worker?: string;
    /**
     * The capsule was already running: started ahead of its subtask, or kept
     * from the agent's last subtask with the same launch plan (capsule_pool.ts).
     */
    warm?: WarmKind;
  }
  | {
    type: "model_call";
    id: string;
    ok: boolean;
    ms: number;
    error?: string;
    usage?: ModelReply["usage"];
  }
  | {
    type: "tool_requested";
    id: string;
    tool: string;
    args: Record<string, unknown>;
    reason: string;
  }
  | {
    type: "tool_decided";
    id: string;
    tool: string;
    allowed: boolean;
    reason: string;
    args: Record<string, unknown>;
    ms: number;
  }
  | {
    type: "tool_done";
    id: string;
    tool: string;
    ok: boolean;
    error: string;
    ms: number;
    result: Record<string, unknown>;
  }
  | {
    type: "approval";
    id: string;
    tool: string;
    provider: string;
    endpoint: string;
    approved: boolean;
    note: string;
    ms: number;
  }
  | {
    /** A step answered from the journal: no model call, no tool run. */
    type: "step_replayed";
    step: number;
    kind: "model" | "tool";
    tool?: string;
    args?: Record<string, unknown>;
    allowed?: boolean;
    ok?: boolean;
    error?: string;
  }
  | {
    /** A read-only call that was in flight when the last attempt stopped, run again. */
    type: "step_rerun";
    step: number;
    tool: string;
    args: Record<string, unknown>;
  }
  | {
    /** The guest asked something else than the journal holds: live from `step` on. */
    type: "journal_diverged";
    step: number;
    detail: string;
  }
  | {
    /** A program of a host-run tool hit a resource limit (limits.ts); its tool call failed. */
    type: "limit_breached";
    id: string;
    tool: string;
    /** `limit_memory`, `limit_processes`, `limit_cpu`, `limit_file_size`, ... */
    limit: string;
    message: string;
  }
  /** A connection a program opened through the egress proxy, once refused or over. */
  | ({ type: "egress" } & EgressRecord)
  | { type: "log"; level: string; msg: string }
  /** The agent's MCP servers at this attempt: those serving tools, and why others are withheld. */
  | {
    type: "mcp_servers";
    served: { server: string; tools: string[] }[];
    withheld: { server: string; reason: string }[];
  }
  | { type: "protocol_error"; error: string; preview: string }
  | { type: "final"; status: string; result: string }
  | { type: "error"; code: string; message: string };

export interface RunCapsuleOptions {
  settings: Settings;
  manifest: Manifest;
  task: string;
  hooks: CapsuleHooks;
  context?: Record<string, unknown>;
  /** Default: settings.workspace. */
  workspace?: string;
  /** Roots the run may touch; default: the workspace plus CLOSED_CLAW_EXTRA_ALLOWED_PATHS. */
  allowedRoots?: string[];
  /** Default: composed from soul.md, skills, skill.md and memories. */
  systemPrompt?: string;
  sessionId?: string;
  runId?: string;
  signal?: AbortSignal;
  onEvent?: (event: CapsuleEvent) => void;
  /** Default: CLOSED_CLAW_AGENT_TIMEOUT_SEC. */
  timeoutMs?: number;
  /** Default: CLOSED_CLAW_AGENT_MAX_STEPS. */
  maxSteps?: number;
  /**
   * How the agent asks for tool calls. Default: from CLOSED_CLAW_TOOL_CALLING
   * (`auto` is `native`; the guest falls back to JSON steps itself when the
   * model refuses tools).
   */
  toolMode?: ToolMode;
  /**
   * DNS resolver for the host's SSRF check and the launch-time resolution of
   * network_hosts for Deno's --allow-net (tests; the guest always resolves itself).
   */
  resolver?: Resolver;
  /**
   * Tests only: run this guest script instead of guest/main.ts,
   * with exactly the same flags, sandbox and environment (hostile-capsule tests).
   */
  guestEntry?: string;
  /** false: run with Deno permissions only, even where bubblewrap works. Default true. */
  osSandbox?: boolean;
  /**
   * Where the conversation is journaled and replayed from (the coordinator
   * gives one in SQLite per subtask). Default: one in memory for this call,
   * so relaunches after a crash replay instead of re-running completed calls.
   */
  journal?: StepJournal;
  /**
   * Runs the capsule on a worker machine instead of here (workers/placement.ts,
   * with CLOSED_CLAW_NATS_URL). Every decision stays here: model calls, tool
   * checks, approvals, journal and events; the worker only runs the process.
   */
  placement?: CapsulePlacement;
  /**
   * The run's idle capsules (capsule_pool.ts): a first attempt takes one
   * spawned from the same launch plan instead of spawning, and a capsule
   * that ended its subtask cleanly goes back for the agent's next one.
   * Ignored with a placement.
   */
  pool?: CapsulePool;
}

/** What a placement needs to start one attempt of a capsule elsewhere. */
export interface RemoteLaunchRequest {
  /** This machine's plan for the capsule (the worker makes its own from the manifest). */
  plan: LaunchPlan;
  manifest: Manifest;
  workspace: string;
  allowedRoots: string[];
  runId?: string;
  attempt: number;
  onStderrLine(line: string): void;
  signal?: AbortSignal;
  /** The coordinator's paid-API hosts (programs' connections to them are approved here). */
  paidApiProviders: string[];
  /** Decides a program's connection to a paid-API host (the caller's `approve` hook). */
  approve?: CapsuleHooks["approve"];
  /** The session's events (the worker's egress records arrive as `egress` events). */
  emit(event: CapsuleEvent): void;
}

/** A capsule a worker accepted and started. */
export interface RemoteLaunch {
  channel: CapsuleChannel;
  /**
   * The plan the session checks against: the worker's sandbox and flags, its
   * tools only where this machine grants them too, both sides' denied paths.
   */
  plan: LaunchPlan;
  worker: string;
  /** Runs an exec tool's program on the worker, in the worker's program sandbox. */
  runProgram(
    tool: string,
    args: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<HostToolOutcome>;
}

/** Starts capsules on other machines (see RunCapsuleOptions.placement). */
export interface CapsulePlacement {
  /**
   * Resolves once a worker has accepted the capsule; rejects with a
   * `PlacementError` when none does or the worker refuses it.
   */
  launch(request: RemoteLaunchRequest): Promise<RemoteLaunch>;
}

/** Why a placement could not start a capsule; `code` becomes the result's error_code. */
export class PlacementError extends Error {
  constructor(readonly code: "capsule_not_ready" | "capsule_spawn_failed", message: string) {
    super(message);
    this.name = "PlacementError";
  }
}

/**
 * A program's result that can never come back (its worker is gone): the call
 * stays in flight in the journal, so a side-effecting one is in doubt, never
 * recorded as failed and run again.
 */
export class ProgramLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProgramLostError";
  }
}

export interface CapsuleResult {
  status: "ok" | "error" | "cancelled";
  result: string;
  error_code?: string;
  error_message?: string;
  artifacts: string[];
  memory_updates: FinalMessage["memory_updates"];
  latency_ms: number;
  spawn_ms: number;
  tool_calls: number;
  /** A tool with side effects was allowed to run (now, or in a step replayed from the journal). */
  side_effects: boolean;
  attempts: number;
  sandbox: LaunchPlan["sandbox"];
  stderr_tail: string;
  /** Protection weaker than the manifest asked for (LaunchPlan.warnings), also sent as `log` events. */
  warnings: string[];
}
