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

/**
 * `llm_result.error_code` when the model or server refused native tool
 * calling: the loop starts over in `json` mode.
 */
export const TOOLS_UNSUPPORTED = "tools_unsupported";

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

/**
 * What the host accepts of a native tool call the guest sends back in a
 * later request (capsule_runtime/protocol.ts). The host relays a model's
 * calls within them (capsule_runtime/wire_tool_calls.ts), so the guest never
 * holds a call its next request could not carry.
 */
export const TOOL_CALL_LIMITS = {
  idChars: 128,
  nameChars: 64,
  perReply: 64,
  argsErrorChars: 2000,
} as const;

/** A native tool call on the wire (the model's call id, the tool, its arguments). */
export interface ToolCallWire {
  id: string;
  name: string;
  args: Record<string, unknown>;
  /** Set when the model's arguments were not a JSON object (`args` is then `{}`). */
  args_error?: string;
}

export interface ChatMessageWire {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
  /** assistant: the native tool calls of this turn. */
  tool_calls?: ToolCallWire[];
  /** tool: the id of the call this result answers. */
  tool_call_id?: string;
  /** tool: the tool that answered. */
  name?: string;
}

/**
 * How the agent loop talks to the model: `native` declares the tools to the
 * provider and reads its tool calls; `json` asks for one JSON step per turn
 * (for models and servers without tool calling).
 */
export type ToolMode = "native" | "json";

export interface ToolSpecWire {
  name: string;
  description: string;
  args_schema: Record<string, unknown>;
  risk_level: string;
  side_effects: boolean;
}

/**
 * A skill-library guide the agent may read (`read_skill`): the model sees
 * only its id (in read_skill's declaration); the text is sent once, in
 * `start`, and given to the model when it asks. The description is not shown
 * to the model (every step would carry it); the field stays for guests and
 * hosts of other versions.
 */
export interface SkillWire {
  id: string;
  description: string;
  text: string;
}

/** The loop's own tool for reading a skill's full guide (answered in the capsule, no host decision). */
export const READ_SKILL_TOOL = "read_skill";

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
  /** JSON Schema of one agent step, sent with every `llm_request` in `json` mode. */
  step_schema: Record<string, unknown>;
  /** The skill guides this agent may read with `read_skill`. */
  skills?: SkillWire[];
  /** How to ask the model for steps (absent from older hosts: `json`). */
  tool_mode?: ToolMode;
  /**
   * The run-specific part of the system prompt (workspace, memories), sent as
   * a second system message after the stable `system_prompt`, so the stable
   * part stays a cacheable prefix.
   */
  system_tail?: string;
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
  usage?: { input_tokens: number; output_tokens: number; cached_input_tokens?: number };
  /** Native tool calls the model asked for (only for a request with `native_tools`). */
  tool_calls?: ToolCallWire[];
  /**
   * Calls of `tool_calls` the host checked and allowed as it relayed the
   * reply (built-in tools that change nothing and need no approval): the
   * guest runs each at once with these args, telling the host in a
   * `tool_request` marked `preapproved`, instead of waiting for a decision.
   */
  preapproved?: PreapprovedCall[];
}
/** A call the host allowed ahead (see LlmResultMessage.preapproved). */
export interface PreapprovedCall {
  call_id: string;
  tool: string;
  /** The validated, alias-normalised args to run it with. */
  args: Record<string, unknown>;
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
   * Whether the allowed call changes anything (a write, a program, a POST).
   * The guest runs calls without side effects concurrently and waits for
   * them before one with side effects.
   */
  side_effects?: boolean;
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
  /** Declare the capsule's tools natively (the host adds their declarations; not with \`schema\`). */
  native_tools?: boolean;
}
export interface ToolRequestMessage {
  v: number;
  type: "tool_request";
  id: string;
  tool: string;
  args: Record<string, unknown>;
  reason: string;
  /** The model's id for the call (native tool calling). */
  call_id?: string;
  /** The host allowed this call ahead (`llm_result.preapproved`): no decision follows. */
  preapproved?: boolean;
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
