/**
 * The coordinator's typed run state and its public option and outcome types.
 * The whole state is JSON, checkpointed into `runs.state_json` after every
 * transition, so a run can resume in another process.
 */
import type { ApprovalMode, ProviderName, Settings } from "../core/settings.ts";
import type { ToolName } from "../capsule_runtime/manifest.ts";
import type { Store } from "../store/mod.ts";
import type { SubtaskStatus } from "../store/subtasks_repo.ts";
import type { LlmService } from "../llm/types.ts";
import type { RunLogEvent } from "./run_log.ts";

export type Phase = "discovery" | "execution";
export type Complexity = "simple" | "complex";

/**
 * Pipeline stages in order; `stage` in the state is the last one finished.
 * Resume continues with the stage after it. `classified` is no longer
 * reached on its own (the first plan classifies the task); runs stored at it,
 * and resumed runs with nothing planned, plan from the start.
 */
export const STAGES = [
  "ingested",
  "classified",
  "planned",
  "discovery_done",
  "execution_planned",
  "execution_done",
  "validated",
  "audited",
  "synthesized",
] as const;
export type Stage = typeof STAGES[number];

/** One subtask of a phase pool, with the tools it needs and its earlier failures. */
export interface Subtask {
  task_id: string;
  title: string;
  description: string;
  role_tag: string;
  depends_on: string[];
  acceptance_criteria: string[];
  requires_tool: boolean;
  /** Tools the planner expects the subtask to need; routing only reuses agents that have them. */
  tools: ToolName[];
  /** Whether the subtask must write files (reuse then needs an agent allowed to write). */
  writes_files: boolean;
  /**
   * Hosts its programs (through the egress proxy) and network tools must reach, as the planner
   * proposed and `network_hosts.ts` checked; routing only reuses agents that have them all.
   * Absent in runs planned before hosts existed.
   */
  network_hosts?: string[];
  /**
   * Catalogue MCP servers the planner named for it (unknown names dropped at
   * planning); the agent that runs it must be granted them all. Absent: none.
   */
  mcp_servers?: string[];
  phase: Phase;
  status: SubtaskStatus;
  assigned_agent_id: string | null;
  result: string;
  error: string;
  attempts: number;
  /** Why earlier attempts failed, shown to the next attempt. */
  prior_failures: string[];
  started_at: string | null;
  finished_at: string | null;
}

/** What one agent did in this run, for metrics and fitness. */
export interface AgentRunStats {
  subtasks: number;
  succeeded: number;
  failed: number;
  latency_ms: number;
  tool_calls: number;
  tool_ok: number;
}

export interface ApprovalRecord {
  approval_id: string;
  kind: "api_call" | "agent_create" | "agent_reuse" | "data_flow";
  approved: boolean;
  operator: string;
  note: string;
  summary: string;
  /** True when nobody answered in time (absent in older runs). */
  timed_out?: boolean;
  /** The "always" rule that answered, or that the answer created. */
  rule_id?: string;
}

/** A decided data-flow crossing: private data of `from` into `to`'s networked agent. */
export interface DataFlowDecision {
  approval_id: string;
  approved: boolean;
  operator: string;
  note: string;
}

/** What the data-flow rule remembers across checkpoints and resumes. */
export interface DataFlowState {
  /** `from>to>agent` → the decision, so retries and resumes do not ask again. */
  decisions: Record<string, DataFlowDecision>;
  /** task_id → the subtasks whose private data entered its context (its result inherits it). */
  inherited: Record<string, string[]>;
}

export interface RunState {
  run_id: string;
  session_id: string;
  task: string;
  context: Record<string, unknown>;
  runtime_policies: { create_approval_mode: ApprovalMode; api_approval_mode: ApprovalMode };
  stage: Stage;
  task_complexity: Complexity | null;
  discovery_subtask_pool: Subtask[];
  execution_subtask_pool: Subtask[];
  /** role_tag → agent_id; agents are shared per role across both phases. */
  role_agent_map: Record<string, string>;
  created_agents: { agent_id: string; name: string; role_tag: string }[];
  discovery_results: Record<string, string>;
  execution_results: Record<string, string>;
  approvals: ApprovalRecord[];
  tool_event_count: number;
  /**
   * Model calls (llm_calls rows: every attempt, repairs included) the run made
   * before its first tool call, not counting the agent step that asked for it:
   * the calls between the task and the first work. Null until a tool is called
   * (absent in older runs). Set once and checkpointed, so a resume keeps it.
   */
  model_calls_before_first_tool?: number | null;
  agent_stats: Record<string, AgentRunStats>;
  /** `agent_stats` as of the last audit, so a resumed run records only what is new. */
  audited_stats: Record<string, AgentRunStats>;
  response_status: "ok" | "error" | "cancelled" | null;
  response_result: string;
  response_error: string;
  /** Data-flow approvals and which subtasks received private data (absent in older runs). */
  data_flow?: DataFlowState;
  /** Milliseconds spent before the last interruption (resume adds to it). */
  elapsed_ms: number;
}

/** The fields a run starts with; everything else in `RunState` starts empty. */
export type RunStart = Pick<
  RunState,
  "run_id" | "session_id" | "task" | "context" | "runtime_policies"
>;

/** The state of a run before its first stage. */
export function newRunState(start: RunStart): RunState {
  return {
    ...start,
    stage: "ingested",
    task_complexity: null,
    discovery_subtask_pool: [],
    execution_subtask_pool: [],
    role_agent_map: {},
    created_agents: [],
    discovery_results: {},
    execution_results: {},
    approvals: [],
    tool_event_count: 0,
    model_calls_before_first_tool: null,
    agent_stats: {},
    audited_stats: {},
    response_status: null,
    response_result: "",
    response_error: "",
    elapsed_ms: 0,
  };
}

/** What `startRun` needs from its caller. */
export interface CoordinatorDeps {
  settings: Settings;
  store: Store;
  /** The model service; default: `createLlmService` from the run's options. */
  llm?: LlmService;
}

/**
 * Answers an interactive approval on a terminal: true (approve), false (deny),
 * "always" (approve and store the offered rule), or null when there is no answer.
 */
export type AskApproval = (question: {
  kind: "api_call" | "agent_create" | "agent_reuse" | "data_flow";
  /** The sentence, then the grant and what each answer does, one per line. */
  text: string;
  timeoutSec: number;
  /** ISO time the request times out (a countdown shows it). */
  deadline?: string;
  /** Whether "always" may be answered. */
  always?: boolean;
  signal: AbortSignal;
}) => Promise<boolean | "always" | null>;

/** How to run a task. */
export interface RunOptions {
  /** What to do, in plain words. */
  task: string;
  /** Groups runs; default: a new random id. */
  sessionId?: string;
  /** Extra facts handed to the planner and the agents. */
  context?: Record<string, unknown>;
  /** Who approves creating a new agent when a close match exists; default: the settings'. */
  createApprovalMode?: ApprovalMode;
  /** Who approves calls to paid APIs and private data bound for networked agents; default: the settings'. */
  apiApprovalMode?: ApprovalMode;
  /** Model provider for this run; default: the settings'. */
  llmProvider?: ProviderName;
  /** Model for this run; default: the settings'. */
  llmModel?: string;
  /** Record the run's model replies into `<data>/cassettes/<run_id>.json`. */
  record?: boolean;
  /** Replay model replies from this cassette (the demo). */
  replay?: string;
  /** Stop the run when its model calls cost more (USD). */
  maxCostUsd?: number;
  /** Folder the capsules work in; default: the settings' workspace. */
  workspace?: string;
  /** Capsules in this run may use only these tools. */
  toolsAllowed?: ToolName[];
  /** Cancels the run when aborted. */
  signal?: AbortSignal;
  /** Receives every run-log event as it happens. */
  onEvent?(event: RunLogEvent): void;
  /** Terminal prompt for `interactive` approvals; without it they are refused. */
  ask?: AskApproval;
}

/**
 * The options a resumed run takes again (the rest come from the stored run).
 * `maxCostUsd` raises (or lowers) the run's budget from now on; it is kept
 * for later resumes. Spend before the resume still counts: it is the same run.
 */
export type ResumeOptions = Pick<RunOptions, "signal" | "onEvent" | "ask" | "maxCostUsd">;

/** Model tokens and cost of a run. */
export interface RunUsage {
  /** Tokens sent to the model. */
  inputTokens: number;
  /** Tokens the model wrote. */
  outputTokens: number;
  /** Estimated cost in USD. */
  costUsd: number;
}

/** How a run ended. */
export interface RunOutcome {
  /** The run's id. */
  runId: string;
  /** `ok`, `error` or `cancelled`. */
  status: "ok" | "error" | "cancelled";
  /** The synthesized answer (an explanation when it failed). */
  result: string;
  /** Why it failed; empty when ok. */
  error: string;
  /** Tokens and cost. */
  usage: RunUsage;
}

/** A run started in the background. */
export interface RunHandle {
  /** The run's id (`run_…`), known at once. */
  runId: string;
  /** Settles with the outcome when the run ends. */
  done: Promise<RunOutcome>;
  /** Stops the run; capsules are killed at once. */
  cancel(reason?: string): void;
}
