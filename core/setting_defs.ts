/**
 * The settings table: every setting's variable, key, kind, group, label,
 * description, default and parser, one row each. core/settings.ts reads and
 * validates settings with it; the types, the dashboard's settings editor and
 * the table in docs/configuration.md all come from it.
 */
import { bool, E, L, list, num, P, select, text, Y } from "./setting_kinds.ts";
import { RUNTIME_SETTING_DEFS } from "./setting_defs_runtime.ts";

export type { SettingDef, SettingGroup, SettingKind } from "./setting_kinds.ts";

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
  ...RUNTIME_SETTING_DEFS,
] as const;
