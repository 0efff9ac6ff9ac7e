/**
 * The capsule protocol's message types: newline-delimited JSON on the
 * capsule's stdin (host → guest) and stdout (guest → host). Types only, so
 * the guest can import this file without pulling in any dependency.
 */

export const PROTOCOL_VERSION = 1;

/**
 * `llm_result.error_code` values after which another model call cannot help:
 * the run's budget is spent, calls are paused, the run was cancelled, or no
 * key works. Codes, not message text, so a reworded message changes nothing.
 */
export const FATAL_LLM_ERROR_CODES: readonly string[] = [
  "budget_exceeded",
  "budget_overrun",
  "circuit_open",
  "cancelled",
  "key_missing",
  "auth",
];

/** `error_code` of a failed model call whose error carried no code of its own. */
export const LLM_CALL_FAILED = "model_call_failed";

/** Why the host refused a tool call (`tool_decision.error_code`). */
export type ToolRefusalCode =
  | "tool_limit" // the capsule's tool-call limit is reached
  | "tool_policy" // allowlist, argument schema, path, SSRF or SQL policy
  | "approval_denied" // a paid-API call was not approved
  | "refused_by_caller" // the caller's own decision said no
  | "decision_failed"; // the caller's decision threw

/** `tool_done.error_code` of a tool that ran and failed. */
export const TOOL_FAILED = "tool_failed";

export interface ChatMessageWire {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface ToolSpecWire {
  name: string;
  description: string;
  args_schema: Record<string, unknown>;
  risk_level: string;
  side_effects: boolean;
}

export interface GuestLimits {
  max_steps: number;
  max_tool_calls: number;
  max_consecutive_errors: number;
  /** Characters of one tool result shown to the model. */
  max_observation_chars: number;
}

/** What the guest needs to run its tools under its own permissions. */
export interface ToolContextWire {
  workspace: string;
  read_roots: string[];
  write_roots: string[];
  file_write: boolean;
  sql_paths: string[];
  network_hosts: string[];
  /** CLOSED_CLAW_PAID_API_PROVIDERS: redirects may not reach these unapproved. */
  paid_hosts?: string[];
}

// host → guest
export interface StartMessage {
  v: number;
  type: "start";
  task: string;
  context: Record<string, unknown>;
  system_prompt: string;
  tools: ToolSpecWire[];
  tool_context: ToolContextWire;
  limits: GuestLimits;
  /** JSON Schema of one agent step, sent with every `llm_request`. */
  step_schema: Record<string, unknown>;
}
export interface LlmResultMessage {
  v: number;
  type: "llm_result";
  id: string;
  ok: boolean;
  message?: string;
  error?: string;
  /** Set when `ok` is false: the failure's kind, e.g. `budget_exceeded`, `rate_limited`. */
  error_code?: string;
  usage?: { input_tokens: number; output_tokens: number };
}
export interface ToolDecisionMessage {
  v: number;
  type: "tool_decision";
  id: string;
  allowed: boolean;
  /** The validated, alias-normalised args the guest must use. */
  args: Record<string, unknown>;
  reason: string;
  /** Set when `allowed` is false: a `ToolRefusalCode` (a caller's own decision may add others). */
  error_code?: string;
  /**
   * Set when the host ran the call itself (programs of terminal/python_exec run
   * in a sandbox the host starts, apart from the capsule): the guest uses this
   * result and sends no `tool_done`.
   */
  outcome?: HostToolOutcome;
}
/** The result of a call the host ran. */
export interface HostToolOutcome {
  ok: boolean;
  result: Record<string, unknown>;
  error: string;
  ms: number;
}
export interface CancelMessage {
  v: number;
  type: "cancel";
  reason?: string;
}
export type HostMessage = StartMessage | LlmResultMessage | ToolDecisionMessage | CancelMessage;

// guest → host
export interface ReadyMessage {
  v: number;
  type: "ready";
}
export interface LlmRequestMessage {
  v: number;
  type: "llm_request";
  id: string;
  messages: ChatMessageWire[];
  schema?: { name: string; json_schema: Record<string, unknown> };
}
export interface ToolRequestMessage {
  v: number;
  type: "tool_request";
  id: string;
  tool: string;
  args: Record<string, unknown>;
  reason: string;
}
export interface ToolDoneMessage {
  v: number;
  type: "tool_done";
  id: string;
  ok: boolean;
  result: Record<string, unknown>;
  error: string;
  /** Set when `ok` is false. */
  error_code?: string;
  ms: number;
}
export interface LogMessage {
  v: number;
  type: "log";
  level: "debug" | "info" | "warn" | "error";
  msg: string;
}
export interface FinalMessage {
  v: number;
  type: "final";
  status: "ok" | "error";
  result: string;
  artifacts: string[];
  memory_updates: { kind: string; content: string }[];
  error_code?: string;
  error_message?: string;
  steps?: number;
}
export type GuestMessage =
  | ReadyMessage
  | LlmRequestMessage
  | ToolRequestMessage
  | ToolDoneMessage
  | LogMessage
  | FinalMessage;
