/**
 * The settings table: every setting's variable, key, kind, group, label,
 * description, default and parser, one row each. core/settings.ts reads and
 * validates settings with it; the types, the dashboard's settings editor and
 * the table in docs/configuration.md all come from it.
 */
/** The model providers `CLOSED_CLAW_LLM_PROVIDER` accepts. */
export const PROVIDERS = [
  "openai",
  "openai-compatible",
  "ollama",
  "claude",
  "gemini",
  "replay",
] as const;
/** A model provider's name. */
export type ProviderName = typeof PROVIDERS[number];

/** How an approval is answered: ask on the terminal, always yes, always no, or in the dashboard. */
export const APPROVAL_MODES = ["interactive", "approve", "deny", "web"] as const;
/** How agents ask the model for tool calls (`CLOSED_CLAW_TOOL_CALLING`). */
export const TOOL_CALLING_MODES = ["auto", "native", "json"] as const;
/** One of {@link TOOL_CALLING_MODES}. */
export type ToolCallingMode = typeof TOOL_CALLING_MODES[number];
/** One of {@link APPROVAL_MODES}. */
export type ApprovalMode = typeof APPROVAL_MODES[number];
/** Which agents are asked about (`CLOSED_CLAW_AGENT_APPROVAL_SCOPE`): risky ones, or every new one too. */
export const AGENT_APPROVAL_SCOPES = ["risky", "all"] as const;

export type SettingGroup = "Paths" | "LLM" | "Embeddings" | "Policy" | "Runtime";
export type SettingKind = "path" | "text" | "secret" | "select" | "number" | "bool" | "list";

export interface SettingDef<K extends string, T> {
  env: string;
  key: K;
  kind: SettingKind;
  group: SettingGroup;
  label: string;
  description: string;
  /** The default as a user would write it in `.env` ("" for empty). */
  defaultText: string;
  options?: readonly string[];
  /** Parses a raw string; returns an error text naming what is allowed. */
  parse: (raw: string) => { ok: true; value: T } | { ok: false; allowed: string };
}

type Meta = { group: SettingGroup; label: string; description: string };

/**
 * A parser from a check: the value, or what is allowed. Plain functions,
 * not zod: every command loads the settings, and zod alone doubled the
 * start-up time of `closed-claw runs`.
 */
function parser<T>(read: (raw: string) => T | undefined, allowed: string) {
  return (raw: string) => {
    const value = read(raw);
    return value === undefined ? { ok: false as const, allowed } : { ok: true as const, value };
  };
}

function text<K extends string>(
  env: string,
  key: K,
  def: string,
  meta: Meta,
  kind: "text" | "path" | "secret" = "text",
): SettingDef<K, string> {
  return { env, key, kind, defaultText: def, ...meta, parse: (raw) => ({ ok: true, value: raw }) };
}

function num<K extends string>(
  env: string,
  key: K,
  def: number,
  range: { min?: number; max?: number; int?: boolean },
  meta: Meta,
): SettingDef<K, number> {
  const readNumber = (raw: string): number | undefined => {
    const text = raw.trim();
    const value = Number(text);
    if (text === "" || !Number.isFinite(value)) return undefined;
    if (range.int && !Number.isInteger(value)) return undefined;
    if (range.min !== undefined && value < range.min) return undefined;
    if (range.max !== undefined && value > range.max) return undefined;
    return value;
  };
  const kindText = range.int ? "a whole number" : "a number";
  const bounds = range.min !== undefined && range.max !== undefined
    ? ` from ${range.min} to ${range.max}`
    : range.min !== undefined
    ? ` ≥ ${range.min}`
    : "";
  return {
    env,
    key,
    kind: "number",
    defaultText: String(def),
    ...meta,
    parse: parser(readNumber, kindText + bounds),
  };
}

const TRUE = ["1", "true", "yes", "on"];
const FALSE = ["0", "false", "no", "off"];

function bool<K extends string>(
  env: string,
  key: K,
  def: boolean,
  meta: Meta,
): SettingDef<K, boolean> {
  const readBool = (raw: string): boolean | undefined => {
    const text = raw.trim().toLowerCase();
    return TRUE.includes(text) ? true : FALSE.includes(text) ? false : undefined;
  };
  return {
    env,
    key,
    kind: "bool",
    defaultText: String(def),
    ...meta,
    parse: parser(readBool, "true or false (also 1/0, yes/no, on/off)"),
  };
}

function select<K extends string, O extends string>(
  env: string,
  key: K,
  options: readonly O[],
  def: O,
  meta: Meta,
): SettingDef<K, O> {
  const readOption = (raw: string): O | undefined => {
    const text = raw.trim().toLowerCase();
    return options.find((o) => o === text);
  };
  return {
    env,
    key,
    kind: "select",
    options,
    defaultText: def,
    ...meta,
    parse: parser(readOption, `one of ${options.join(", ")}`),
  };
}

function list<K extends string>(
  env: string,
  key: K,
  meta: Meta,
): SettingDef<K, string[]> {
  return {
    env,
    key,
    kind: "list",
    defaultText: "",
    ...meta,
    parse: (raw) => ({
      ok: true,
      value: raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0),
    }),
  };
}

const P = (label: string, description: string): Meta => ({ group: "Paths", label, description });
const L = (label: string, description: string): Meta => ({ group: "LLM", label, description });
const E = (label: string, description: string): Meta => ({
  group: "Embeddings",
  label,
  description,
});
const Y = (label: string, description: string): Meta => ({ group: "Policy", label, description });
const R = (label: string, description: string): Meta => ({ group: "Runtime", label, description });

/** The settings table, in the order docs/configuration.md and the dashboard show it. */
export const SETTING_DEFS = [
  text(
    "CLOSED_CLAW_HOME",
    "home",
    ".closed_claw",
    P("Data directory", "Holds registry.db, runs/, agents/ and cassettes/."),
    "path",
  ),
  text(
    "CLOSED_CLAW_DB_PATH",
    "dbPathSetting",
    "",
    P("Registry database", "SQLite registry; empty means <data dir>/registry.db."),
    "path",
  ),
  text(
    "CLOSED_CLAW_AGENTS_DIR",
    "agentsDirSetting",
    "",
    P("Agents directory", "Agent capsules; empty means <data dir>/agents."),
    "path",
  ),
  text(
    "CLOSED_CLAW_RUN_LOGS_DIR",
    "runLogsDirSetting",
    "",
    P("Run logs directory", "JSONL run logs; empty means <data dir>/runs."),
    "path",
  ),
  text(
    "CLOSED_CLAW_WORKSPACE",
    "workspaceSetting",
    "",
    P("Workspace", "Folder the agents work in; empty means the current directory."),
    "path",
  ),
  list(
    "CLOSED_CLAW_EXTRA_ALLOWED_PATHS",
    "extraAllowedPaths",
    P("Extra allowed paths", "Comma-separated folders agents may also use, besides the workspace."),
  ),
  text(
    "CLOSED_CLAW_SOUL_MD",
    "soulMdSetting",
    "",
    P(
      "Soul file",
      "Markdown put before every agent's skills; empty means soul.md in the data folder (or ./soul.md once accepted with `closed-claw trust`).",
    ),
    "path",
  ),
  select(
    "CLOSED_CLAW_LLM_PROVIDER",
    "llmProvider",
    PROVIDERS,
    "openai",
    L("Provider", "Which model provider the coordinator and agents use."),
  ),
  text(
    "CLOSED_CLAW_LLM_MODEL",
    "llmModel",
    "",
    L(
      "Model",
      "Model id; empty means the provider's default (gpt-4o-mini, claude-3-5-haiku-latest, gemini-2.5-flash).",
    ),
  ),
  text(
    "CLOSED_CLAW_LLM_BASE_URL",
    "llmBaseUrl",
    "",
    L("Base URL", "Overrides the provider's base URL (Ollama, vLLM, LM Studio, OpenRouter)."),
  ),
  num(
    "CLOSED_CLAW_LLM_TIMEOUT_SEC",
    "llmTimeoutSec",
    45,
    { min: 1 },
    L("Timeout (s)", "Time limit of one model call."),
  ),
  select(
    "CLOSED_CLAW_TOOL_CALLING",
    "toolCalling",
    TOOL_CALLING_MODES,
    "auto",
    L(
      "Tool calling",
      "How agents call tools: native (the provider's tool calling), json (one JSON step per turn, for models without it), or auto (native, falling back to json when the model refuses tools).",
    ),
  ),
  num(
    "CLOSED_CLAW_LLM_MAX_RETRIES",
    "llmMaxRetries",
    3,
    { min: 0, max: 10, int: true },
    L("Retries", "Retries of a model call on 429, 5xx and network errors."),
  ),
  text(
    "CLOSED_CLAW_LLM_API_KEY",
    "llmApiKey",
    "",
    L("Generic API key", "Used instead of the provider's own key when set."),
    "secret",
  ),
  text("OPENAI_API_KEY", "openaiApiKey", "", L("OpenAI key", "Key for openai."), "secret"),
  text(
    "OPENAI_BASE_URL",
    "openaiBaseUrl",
    "",
    L("OpenAI base URL", "Default https://api.openai.com/v1."),
  ),
  text("ANTHROPIC_API_KEY", "anthropicApiKey", "", L("Anthropic key", "Key for claude."), "secret"),
  text(
    "ANTHROPIC_BASE_URL",
    "anthropicBaseUrl",
    "",
    L("Anthropic base URL", "Default https://api.anthropic.com."),
  ),
  text("GEMINI_API_KEY", "geminiApiKey", "", L("Gemini key", "Key for gemini."), "secret"),
  text(
    "GEMINI_BASE_URL",
    "geminiBaseUrl",
    "",
    L("Gemini base URL", "Default https://generativelanguage.googleapis.com."),
  ),
  text(
    "CLOSED_CLAW_REPLAY_CASSETTE",
    "replayCassette",
    "",
    L("Replay cassette", "Cassette file the replay provider answers from (recorded by a run)."),
    "path",
  ),
  num(
    "CLOSED_CLAW_MAX_COST_USD_PER_RUN",
    "maxCostUsdPerRun",
    1,
    { min: 0 },
    L("Cost budget per run (USD)", "A run stops when its model calls cost more; 0 means no limit."),
  ),
  num(
    "CLOSED_CLAW_MAX_TOKENS_PER_RUN",
    "maxTokensPerRun",
    0,
    { min: 0, int: true },
    L(
      "Token budget per run",
      "A run stops when its model calls use more tokens; 0 means no limit.",
    ),
  ),
  text(
    "CLOSED_CLAW_EMBEDDING_MODEL",
    "embeddingModel",
    "all-MiniLM-L6-v2",
    E("Embedding model", "transformers.js feature-extraction model (when enabled below)."),
  ),
  num(
    "CLOSED_CLAW_EMBEDDING_DIM",
    "embeddingDim",
    384,
    { min: 8, max: 4096, int: true },
    E("Embedding dimension", "Length of every embedding vector."),
  ),
  bool(
    "CLOSED_CLAW_ENABLE_SENTENCE_TRANSFORMERS",
    "enableTransformersEmbeddings",
    false,
    E("Neural embeddings", "Use transformers.js instead of the built-in hashing embedder."),
  ),
  bool(
    "CLOSED_CLAW_REQUIRE_SQLITE_VEC",
    "requireSqliteVec",
    true,
    E(
      "Require sqlite-vec",
      "Kept for compatibility: vector search is built in, so this has no effect.",
    ),
  ),
  num(
    "CLOSED_CLAW_LOW_CONFIDENCE_THRESHOLD",
    "lowConfidenceThreshold",
    0.62,
    { min: 0, max: 1 },
    Y("Reuse threshold", "An agent is reused only when its match score reaches this."),
  ),
  bool(
    "CLOSED_CLAW_CREATE_APPROVAL_REQUIRED",
    "createApprovalRequired",
    true,
    Y(
      "Approve risky agents",
      "Ask before a new or reused agent with programs, file writes, network or paid APIs gets a subtask.",
    ),
  ),
  select(
    "CLOSED_CLAW_CREATE_APPROVAL_MODE",
    "createApprovalMode",
    APPROVAL_MODES,
    "interactive",
    Y("Create approval mode", "How create/reuse decisions are approved."),
  ),
  select(
    "CLOSED_CLAW_API_APPROVAL_MODE",
    "apiApprovalMode",
    APPROVAL_MODES,
    "interactive",
    Y(
      "API approval mode",
      "How paid-API calls and private data bound for networked agents are approved.",
    ),
  ),
  list(
    "CLOSED_CLAW_PAID_API_PROVIDERS",
    "paidApiProviders",
    Y("Paid API hosts", "Comma-separated hosts whose calls need approval (e.g. api.stripe.com)."),
  ),
  num(
    "CLOSED_CLAW_API_APPROVAL_TIMEOUT_SEC",
    "apiApprovalTimeoutSec",
    30,
    { min: 1 },
    Y("Approval timeout (s)", "An unanswered terminal approval is denied after this long."),
  ),
  num(
    "CLOSED_CLAW_WEB_APPROVAL_TIMEOUT_SEC",
    "webApprovalTimeoutSec",
    600,
    { min: 1 },
    Y(
      "Web approval timeout (s)",
      "How long a web-mode approval waits for a person in the dashboard; then it is recorded as timed out.",
    ),
  ),
  text(
    "CLOSED_CLAW_WEB_TOKEN_FILE",
    "webTokenFileSetting",
    "",
    Y(
      "Dashboard token file",
      "File that keeps the dashboard's access token across restarts (created with mode 0600), like `web --token-file`; empty means a new token at each start.",
    ),
    "path",
  ),
  select(
    "CLOSED_CLAW_AGENT_APPROVAL_SCOPE",
    "agentApprovalScope",
    AGENT_APPROVAL_SCOPES,
    "risky",
    Y(
      "Agents asked about",
      "risky: new or reused agents with programs, file writes, network or paid APIs; all: every new agent too.",
    ),
  ),
  bool(
    "CLOSED_CLAW_ALLOW_UNSANDBOXED_EXEC",
    "allowUnsandboxedExec",
    false,
    Y(
      "Allow unsandboxed exec",
      "Allow terminal and python_exec where bubblewrap is not available.",
    ),
  ),
  num(
    "CLOSED_CLAW_AGENT_TIMEOUT_SEC",
    "agentTimeoutSec",
    120,
    { min: 1 },
    R(
      "Agent timeout (s)",
      "Time limit of one agent capsule run; the process group is killed after it.",
    ),
  ),
  num(
    "CLOSED_CLAW_AGENT_RETRIES",
    "agentRetries",
    2,
    { min: 0, max: 10, int: true },
    R("Agent retries", "Relaunches of a capsule that crashed; each replays the step journal."),
  ),
  bool(
    "CLOSED_CLAW_CAPSULE_REUSE",
    "capsuleReuse",
    true,
    R(
      "Start capsules early",
      "Start an agent's capsule early and keep it for its next subtask in the run (same plan, fresh state).",
    ),
  ),
  num(
    "CLOSED_CLAW_AGENT_MAX_STEPS",
    "agentMaxSteps",
    12,
    { min: 1, max: 100, int: true },
    R("Agent step budget", "Reasoning steps an agent may take before it must answer."),
  ),
  num(
    "CLOSED_CLAW_CIRCUIT_BREAKER_FAILURES",
    "circuitBreakerFailures",
    3,
    { min: 1, int: true },
    R("Breaker failures", "Consecutive failures of a provider before its circuit opens."),
  ),
  num(
    "CLOSED_CLAW_CIRCUIT_BREAKER_RESET_SEC",
    "circuitBreakerResetSec",
    120,
    { min: 1 },
    R("Breaker reset (s)", "Time before an open circuit lets one trial call through."),
  ),
  num(
    "CLOSED_CLAW_TASK_POOL_POLL_INTERVAL_SEC",
    "taskPoolPollIntervalSec",
    30,
    { min: 1 },
    R(
      "Pool idle check (s)",
      "Kept for compatibility: dependency cycles are found as soon as the plan is made, so this has no effect.",
    ),
  ),
  num(
    "CLOSED_CLAW_SUBTASK_MAX_ATTEMPTS",
    "subtaskMaxAttempts",
    2,
    { min: 1, max: 10, int: true },
    R("Subtask attempts", "Attempts per subtask; each retry sees the earlier failure."),
  ),
  num(
    "CLOSED_CLAW_MAX_TOOL_CALLS_PER_AGENT",
    "maxToolCallsPerAgent",
    50,
    { min: 1, int: true },
    R("Tool calls per agent", "Tool calls one agent run may make."),
  ),
  num(
    "CLOSED_CLAW_MAX_AGENTS_PER_RUN",
    "maxAgentsPerRun",
    10,
    { min: 1, int: true },
    R("Agents per run", "Agents one run may create or reuse, over all its phases."),
  ),
  num(
    "CLOSED_CLAW_MAX_SUBTASKS_PER_PHASE",
    "maxSubtasksPerPhase",
    4,
    { min: 1, max: 50, int: true },
    R("Subtasks per phase", "Plans are cut to this many subtasks per phase."),
  ),
  bool(
    "CLOSED_CLAW_SYNTHESIZE_SINGLE",
    "synthesizeSingle",
    false,
    R(
      "Synthesize single answers",
      "Rewrite the answer of a one-subtask run with a synthesis model call; off returns the subtask's answer as it is.",
    ),
  ),
  num(
    "CLOSED_CLAW_MAX_PARALLEL_AGENTS",
    "maxParallelAgents",
    4,
    { min: 1, max: 64, int: true },
    R("Parallel agents", "Subtasks run at the same time."),
  ),
  num(
    "CLOSED_CLAW_MAX_LINE_BYTES",
    "maxLineBytes",
    16 * 1024 * 1024,
    { min: 1024, int: true },
    R("Protocol line cap (bytes)", "Longest message line a capsule may send."),
  ),
  bool(
    "CLOSED_CLAW_EVOLUTION_ENABLED",
    "evolutionEnabled",
    true,
    R("Evolution", "New agents inherit and mutate the traits of the fittest related agent."),
  ),
  num(
    "CLOSED_CLAW_EVOLUTION_MUTATION_RATE",
    "evolutionMutationRate",
    0.3,
    { min: 0, max: 1 },
    R("Mutation rate", "Chance that each trait changes when an agent is derived."),
  ),
  text(
    "CLOSED_CLAW_NATS_URL",
    "natsUrl",
    "",
    R(
      "NATS server",
      "NATS URL(s), comma-separated: capsules then run on `closed-claw worker` machines; empty: here.",
    ),
  ),
  text("CLOSED_CLAW_NATS_USER", "natsUser", "", R("NATS user", "User name for NATS.")),
  text(
    "CLOSED_CLAW_NATS_PASSWORD",
    "natsPassword",
    "",
    R("NATS password", "Password for NATS."),
    "secret",
  ),
  text(
    "CLOSED_CLAW_NATS_TOKEN",
    "natsToken",
    "",
    R("NATS token", "Token for NATS."),
    "secret",
  ),
  text(
    "CLOSED_CLAW_NATS_CREDS",
    "natsCredsFile",
    "",
    R("NATS credentials file", "A .creds file (user JWT and nkey seed) for NATS."),
    "path",
  ),
  text(
    "CLOSED_CLAW_NATS_NKEY_SEED_FILE",
    "natsNkeySeedFile",
    "",
    R("NATS nkey seed file", "A file holding the nkey seed (SU…) to sign in to NATS with."),
    "path",
  ),
  text(
    "CLOSED_CLAW_NATS_TLS_CA",
    "natsTlsCa",
    "",
    R("NATS TLS CA", "CA certificate file: connect to NATS over TLS, verified against it."),
    "path",
  ),
  num(
    "CLOSED_CLAW_NATS_ACCEPT_TIMEOUT_SEC",
    "natsAcceptTimeoutSec",
    30,
    { min: 1, max: 3600 },
    R(
      "Worker accept timeout (s)",
      "How long a capsule waits for a worker to take it before it counts as not started.",
    ),
  ),
] as const;
