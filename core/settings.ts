/**
 * Every setting, from the environment and the config files (lowest first: the
 * user's `config.env`, the data folder's `.env`, the project's `.env`; the
 * environment wins over all), validated once into one typed object. The table in
 * setting_defs.ts drives validation, the types, the dashboard's settings editor and the
 * table in docs/configuration.md.
 */
import { isAbsolute, join, resolve } from "node:path";
import { ClosedClawError } from "./errors.ts";
import { parseDotenv, readDotenv } from "./dotenv.ts";
import {
  dataDirState,
  readLedger,
  readTrustedFile,
  trustDataDir,
  type TrustOptions,
  userConfigDir,
} from "./trust.ts";
import { readSoul } from "./soul.ts";
import {
  type AGENT_APPROVAL_SCOPES,
  type ApprovalMode,
  type ProviderName,
  SETTING_DEFS,
  type SettingDef,
  type SettingGroup,
  type SettingKind,
  type ToolCallingMode,
} from "./setting_defs.ts";

export {
  AGENT_APPROVAL_SCOPES,
  APPROVAL_MODES,
  type ApprovalMode,
  type ProviderName,
  PROVIDERS,
  SETTING_DEFS,
  type SettingGroup,
  type SettingKind,
  TOOL_CALLING_MODES,
  type ToolCallingMode,
} from "./setting_defs.ts";

type Defs = typeof SETTING_DEFS[number];
type ValueOf<D> = D extends SettingDef<string, infer T> ? T : never;

/** The raw validated values, one per table row (written out for the public API's docs). */
export interface RawSettings {
  /** `CLOSED_CLAW_HOME`: Holds registry.db, runs/, agents/ and cassettes/. */
  home: string;
  /** `CLOSED_CLAW_DB_PATH`: SQLite registry; empty means <data dir>/registry.db. */
  dbPathSetting: string;
  /** `CLOSED_CLAW_AGENTS_DIR`: Agent capsules; empty means <data dir>/agents. */
  agentsDirSetting: string;
  /** `CLOSED_CLAW_RUN_LOGS_DIR`: JSONL run logs; empty means <data dir>/runs. */
  runLogsDirSetting: string;
  /** `CLOSED_CLAW_WORKSPACE`: Folder the agents work in; empty means the current directory. */
  workspaceSetting: string;
  /** `CLOSED_CLAW_EXTRA_ALLOWED_PATHS`: Comma-separated folders agents may also use, besides the workspace. */
  extraAllowedPaths: string[];
  /** `CLOSED_CLAW_SOUL_MD`: Markdown put before every agent's skills; empty means soul.md in the data folder (or ./soul.md once accepted with `closed-claw trust`). */
  soulMdSetting: string;
  /** `CLOSED_CLAW_LLM_PROVIDER`: Which model provider the coordinator and agents use. */
  llmProvider: ProviderName;
  /** `CLOSED_CLAW_LLM_MODEL`: Model id; empty means the provider's default (gpt-4o-mini, claude-3-5-haiku-latest, gemini-2.5-flash). */
  llmModel: string;
  /** `CLOSED_CLAW_LLM_BASE_URL`: Overrides the provider's base URL (Ollama, vLLM, LM Studio, OpenRouter). */
  llmBaseUrl: string;
  /** `CLOSED_CLAW_LLM_TIMEOUT_SEC`: Time limit of one model call. */
  llmTimeoutSec: number;
  /** `CLOSED_CLAW_TOOL_CALLING`: How agents call tools: native (the provider's tool calling), json (one JSON step per turn, for models without it), or auto (native, falling back to json when the model refuses tools). */
  toolCalling: ToolCallingMode;
  /** `CLOSED_CLAW_LLM_MAX_RETRIES`: Retries of a model call on 429, 5xx and network errors. */
  llmMaxRetries: number;
  /** `CLOSED_CLAW_LLM_API_KEY`: Used instead of the provider's own key when set. */
  llmApiKey: string;
  /** `OPENAI_API_KEY`: Key for openai. */
  openaiApiKey: string;
  /** `OPENAI_BASE_URL`: Default https://api.openai.com/v1. */
  openaiBaseUrl: string;
  /** `ANTHROPIC_API_KEY`: Key for claude. */
  anthropicApiKey: string;
  /** `ANTHROPIC_BASE_URL`: Default https://api.anthropic.com. */
  anthropicBaseUrl: string;
  /** `GEMINI_API_KEY`: Key for gemini. */
  geminiApiKey: string;
  /** `GEMINI_BASE_URL`: Default https://generativelanguage.googleapis.com. */
  geminiBaseUrl: string;
  /** `CLOSED_CLAW_REPLAY_CASSETTE`: Cassette file the replay provider answers from (recorded by a run). */
  replayCassette: string;
  /** `CLOSED_CLAW_MAX_COST_USD_PER_RUN`: A run stops when its model calls cost more; 0 means no limit. */
  maxCostUsdPerRun: number;
  /** `CLOSED_CLAW_MAX_TOKENS_PER_RUN`: A run stops when its model calls use more tokens; 0 means no limit. */
  maxTokensPerRun: number;
  /** `CLOSED_CLAW_EMBEDDING_MODEL`: transformers.js feature-extraction model (when enabled below). */
  embeddingModel: string;
  /** `CLOSED_CLAW_EMBEDDING_DIM`: Length of every embedding vector. */
  embeddingDim: number;
  /** `CLOSED_CLAW_ENABLE_SENTENCE_TRANSFORMERS`: Use transformers.js instead of the built-in hashing embedder. */
  enableTransformersEmbeddings: boolean;
  /** `CLOSED_CLAW_REQUIRE_SQLITE_VEC`: Kept for compatibility: vector search is built in, so this has no effect. */
  requireSqliteVec: boolean;
  /** `CLOSED_CLAW_LOW_CONFIDENCE_THRESHOLD`: An agent is reused only when its match score reaches this. */
  lowConfidenceThreshold: number;
  /** `CLOSED_CLAW_CREATE_APPROVAL_REQUIRED`: Ask before a new or reused agent with programs, file writes, network or paid APIs gets a subtask. */
  createApprovalRequired: boolean;
  /** `CLOSED_CLAW_CREATE_APPROVAL_MODE`: How create/reuse decisions are approved. */
  createApprovalMode: ApprovalMode;
  /** `CLOSED_CLAW_API_APPROVAL_MODE`: How paid API calls and private data flowing to networked agents are approved. */
  apiApprovalMode: ApprovalMode;
  /** `CLOSED_CLAW_PAID_API_PROVIDERS`: Comma-separated hosts whose calls need approval (e.g. api.stripe.com). */
  paidApiProviders: string[];
  /** `CLOSED_CLAW_API_APPROVAL_TIMEOUT_SEC`: An unanswered terminal approval is denied after this long. */
  apiApprovalTimeoutSec: number;
  /** `CLOSED_CLAW_WEB_APPROVAL_TIMEOUT_SEC`: How long a web-mode approval waits for a person in the dashboard; then it is recorded as timed out. */
  webApprovalTimeoutSec: number;
  /** `CLOSED_CLAW_WEB_TOKEN_FILE`: File that keeps the dashboard's access token across restarts; empty means a new token at each start. */
  webTokenFileSetting: string;
  /** `CLOSED_CLAW_AGENT_APPROVAL_SCOPE`: risky: new or reused agents with programs, file writes, network or paid APIs; all: every new agent too. */
  agentApprovalScope: typeof AGENT_APPROVAL_SCOPES[number];
  /** `CLOSED_CLAW_ALLOW_UNSANDBOXED_EXEC`: Allow terminal and python_exec where bubblewrap is not available. */
  allowUnsandboxedExec: boolean;
  /** `CLOSED_CLAW_AGENT_TIMEOUT_SEC`: Time limit of one agent capsule run; the process group is killed after it. */
  agentTimeoutSec: number;
  /** `CLOSED_CLAW_AGENT_RETRIES`: Relaunches of a capsule that crashed; each replays the step journal. */
  agentRetries: number;
  /** `CLOSED_CLAW_CAPSULE_REUSE`: Start an agent's capsule early and keep it for its next subtask in the run (same plan, fresh state). */
  capsuleReuse: boolean;
  /** `CLOSED_CLAW_AGENT_MAX_STEPS`: Reasoning steps an agent may take before it must answer. */
  agentMaxSteps: number;
  /** `CLOSED_CLAW_CIRCUIT_BREAKER_FAILURES`: Consecutive failures of a provider before its circuit opens. */
  circuitBreakerFailures: number;
  /** `CLOSED_CLAW_CIRCUIT_BREAKER_RESET_SEC`: Time before an open circuit lets one trial call through. */
  circuitBreakerResetSec: number;
  /** `CLOSED_CLAW_TASK_POOL_POLL_INTERVAL_SEC`: Kept for compatibility; has no effect (cycles are found at planning). */
  taskPoolPollIntervalSec: number;
  /** `CLOSED_CLAW_SUBTASK_MAX_ATTEMPTS`: Attempts per subtask; each retry sees the earlier failure. */
  subtaskMaxAttempts: number;
  /** `CLOSED_CLAW_MAX_TOOL_CALLS_PER_AGENT`: Tool calls one agent run may make. */
  maxToolCallsPerAgent: number;
  /** `CLOSED_CLAW_MAX_AGENTS_PER_RUN`: Agents one run may create or reuse, over all its phases. */
  maxAgentsPerRun: number;
  /** `CLOSED_CLAW_MAX_SUBTASKS_PER_PHASE`: Plans are cut to this many subtasks per phase. */
  maxSubtasksPerPhase: number;
  /** `CLOSED_CLAW_SYNTHESIZE_SINGLE`: Rewrite the answer of a one-subtask run with a synthesis model call; off returns the subtask's answer as it is. */
  synthesizeSingle: boolean;
  /** `CLOSED_CLAW_MAX_PARALLEL_AGENTS`: Subtasks run at the same time. */
  maxParallelAgents: number;
  /** `CLOSED_CLAW_MAX_LINE_BYTES`: Longest message line a capsule may send. */
  maxLineBytes: number;
  /** `CLOSED_CLAW_EVOLUTION_ENABLED`: New agents inherit and mutate the traits of the fittest related agent. */
  evolutionEnabled: boolean;
  /** `CLOSED_CLAW_EVOLUTION_MUTATION_RATE`: Chance that each trait changes when an agent is derived. */
  evolutionMutationRate: number;
  /** `CLOSED_CLAW_NATS_URL`: NATS URL(s), comma-separated: capsules then run on `closed-claw worker` machines; empty: here. */
  natsUrl: string;
  /** `CLOSED_CLAW_NATS_USER`: User name for NATS. */
  natsUser: string;
  /** `CLOSED_CLAW_NATS_PASSWORD`: Password for NATS. */
  natsPassword: string;
  /** `CLOSED_CLAW_NATS_TOKEN`: Token for NATS. */
  natsToken: string;
  /** `CLOSED_CLAW_NATS_CREDS`: A .creds file (user JWT and nkey seed) for NATS. */
  natsCredsFile: string;
  /** `CLOSED_CLAW_NATS_NKEY_SEED_FILE`: A file holding the nkey seed (SU…) to sign in to NATS with. */
  natsNkeySeedFile: string;
  /** `CLOSED_CLAW_NATS_TLS_CA`: CA certificate file: connect to NATS over TLS, verified against it. */
  natsTlsCa: string;
  /** `CLOSED_CLAW_NATS_ACCEPT_TIMEOUT_SEC`: How long a capsule waits for a worker to take it before it counts as not started. */
  natsAcceptTimeoutSec: number;
}

/** True when A and B are the same type (each assignable to the other). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
// RawSettings must list exactly the table's rows: update it (and EnvName) with the table.
const _rawSettingsMatchTable: Same<RawSettings, { [D in Defs as D["key"]]: ValueOf<D> }> = true;

/** The typed settings object every part of the product receives. */
export interface Settings extends Readonly<RawSettings> {
  /** The data folder (absolute, like every path below). */
  readonly homeDir: string;
  /** The registry database. */
  readonly dbPath: string;
  /** Where capsules live. */
  readonly agentsDir: string;
  /** Where `<run_id>.jsonl` run logs go. */
  readonly runLogsDir: string;
  /** Recorded model replies (`<data>/cassettes`). */
  readonly cassettesDir: string;
  /** Downloaded embedding models (`<data>/models`). */
  readonly modelCacheDir: string;
  /** The folder capsules work in. */
  readonly workspace: string;
  /** The soul file put before every agent's skills. */
  readonly soulMdPath: string;
  /** The folder `.env` was read from. */
  readonly cwd: string;
  /** The `.env` file settings come from (written by `setup`), whether or not it was read. */
  readonly envFile: string;
  /** The user's config folder (holds the ledger of accepted files); "" when unknown. */
  readonly configDir: string;
  /** The per-user settings file `setup` writes (`<configDir>/config.env`); "" when there is no config folder. */
  readonly userConfigFile: string;
  /** Whether CLOSED_CLAW_HOME named the data folder (else it is the default ./.closed_claw). */
  readonly homeExplicit: boolean;
  /** Config files found but not used, with why (e.g. a `.env` nobody accepted). */
  readonly ignoredFiles: readonly { path: string; reason: string }[];
}

/** The name of a settings variable, e.g. `CLOSED_CLAW_HOME` (one per row of `SETTING_DEFS`). */
export type EnvName =
  | "CLOSED_CLAW_HOME"
  | "CLOSED_CLAW_DB_PATH"
  | "CLOSED_CLAW_AGENTS_DIR"
  | "CLOSED_CLAW_RUN_LOGS_DIR"
  | "CLOSED_CLAW_WORKSPACE"
  | "CLOSED_CLAW_EXTRA_ALLOWED_PATHS"
  | "CLOSED_CLAW_SOUL_MD"
  | "CLOSED_CLAW_LLM_PROVIDER"
  | "CLOSED_CLAW_LLM_MODEL"
  | "CLOSED_CLAW_LLM_BASE_URL"
  | "CLOSED_CLAW_LLM_TIMEOUT_SEC"
  | "CLOSED_CLAW_TOOL_CALLING"
  | "CLOSED_CLAW_LLM_MAX_RETRIES"
  | "CLOSED_CLAW_LLM_API_KEY"
  | "OPENAI_API_KEY"
  | "OPENAI_BASE_URL"
  | "ANTHROPIC_API_KEY"
  | "ANTHROPIC_BASE_URL"
  | "GEMINI_API_KEY"
  | "GEMINI_BASE_URL"
  | "CLOSED_CLAW_REPLAY_CASSETTE"
  | "CLOSED_CLAW_MAX_COST_USD_PER_RUN"
  | "CLOSED_CLAW_MAX_TOKENS_PER_RUN"
  | "CLOSED_CLAW_EMBEDDING_MODEL"
  | "CLOSED_CLAW_EMBEDDING_DIM"
  | "CLOSED_CLAW_ENABLE_SENTENCE_TRANSFORMERS"
  | "CLOSED_CLAW_REQUIRE_SQLITE_VEC"
  | "CLOSED_CLAW_LOW_CONFIDENCE_THRESHOLD"
  | "CLOSED_CLAW_CREATE_APPROVAL_REQUIRED"
  | "CLOSED_CLAW_CREATE_APPROVAL_MODE"
  | "CLOSED_CLAW_API_APPROVAL_MODE"
  | "CLOSED_CLAW_PAID_API_PROVIDERS"
  | "CLOSED_CLAW_API_APPROVAL_TIMEOUT_SEC"
  | "CLOSED_CLAW_WEB_APPROVAL_TIMEOUT_SEC"
  | "CLOSED_CLAW_WEB_TOKEN_FILE"
  | "CLOSED_CLAW_AGENT_APPROVAL_SCOPE"
  | "CLOSED_CLAW_ALLOW_UNSANDBOXED_EXEC"
  | "CLOSED_CLAW_AGENT_TIMEOUT_SEC"
  | "CLOSED_CLAW_AGENT_RETRIES"
  | "CLOSED_CLAW_CAPSULE_REUSE"
  | "CLOSED_CLAW_AGENT_MAX_STEPS"
  | "CLOSED_CLAW_CIRCUIT_BREAKER_FAILURES"
  | "CLOSED_CLAW_CIRCUIT_BREAKER_RESET_SEC"
  | "CLOSED_CLAW_TASK_POOL_POLL_INTERVAL_SEC"
  | "CLOSED_CLAW_SUBTASK_MAX_ATTEMPTS"
  | "CLOSED_CLAW_MAX_TOOL_CALLS_PER_AGENT"
  | "CLOSED_CLAW_MAX_AGENTS_PER_RUN"
  | "CLOSED_CLAW_MAX_SUBTASKS_PER_PHASE"
  | "CLOSED_CLAW_SYNTHESIZE_SINGLE"
  | "CLOSED_CLAW_MAX_PARALLEL_AGENTS"
  | "CLOSED_CLAW_MAX_LINE_BYTES"
  | "CLOSED_CLAW_EVOLUTION_ENABLED"
  | "CLOSED_CLAW_EVOLUTION_MUTATION_RATE"
  | "CLOSED_CLAW_NATS_URL"
  | "CLOSED_CLAW_NATS_USER"
  | "CLOSED_CLAW_NATS_PASSWORD"
  | "CLOSED_CLAW_NATS_TOKEN"
  | "CLOSED_CLAW_NATS_CREDS"
  | "CLOSED_CLAW_NATS_NKEY_SEED_FILE"
  | "CLOSED_CLAW_NATS_TLS_CA"
  | "CLOSED_CLAW_NATS_ACCEPT_TIMEOUT_SEC";

export interface LoadSettingsOptions {
  /** Variables to read instead of `Deno.env` (tests pass their own). */
  env?: Record<string, string | undefined>;
  /** Folder that relative paths and `.env` are resolved against. Default: `Deno.cwd()`. */
  cwd?: string;
  /**
   * `.env` path; `false` reads none. A path given here is read as it is (the
   * caller chose it). Default: `<cwd>/.env`, read only when the user accepted
   * its content (`closed-claw trust`), since capsules may write the workspace.
   */
  envFile?: string | false;
  /** The user's config folder. Default: from CLOSED_CLAW_CONFIG_DIR, XDG_CONFIG_HOME or HOME. */
  configDir?: string;
  /** Values that win over both the environment and `.env` (CLI flags). */
  overrides?: Partial<Record<EnvName, string>>;
}

/** Reads every env variable the table names, without needing `--allow-env` for others. */
function readProcessEnv(): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const def of SETTING_DEFS) out[def.env] = Deno.env.get(def.env);
  return out;
}

/**
 * Loads and validates the settings. A bad value throws a `ClosedClawError`
 * (`config_invalid`) whose message names the variable, the value and what is allowed.
 *
 * @example
 * ```ts
 * const settings = loadSettings({ env: { CLOSED_CLAW_HOME: "/tmp/claw" }, envFile: false });
 * console.log(settings.dbPath); // /tmp/claw/registry.db
 * ```
 */
export function loadSettings(options: LoadSettingsOptions = {}): Settings {
  const cwd = resolve(options.cwd ?? Deno.cwd());
  const envFile = options.envFile === false ? "" : resolve(cwd, options.envFile ?? ".env");
  const env = options.env ?? readProcessEnv();
  const configDir = options.configDir ?? userConfigDir(options.env ?? undefined);
  const ignoredFiles: { path: string; reason: string }[] = [];
  // Read once: the .env files, the data folder and the soul are all checked against it.
  const ledger = readLedger(configDir);
  const trust: TrustOptions = { configDir, trustedDirs: configDir ? [configDir] : [], ledger };
  const userConfigFile = configDir ? userConfigPath(configDir) : "";
  const fromUser = readEnvFile(userConfigFile, false, trust, ignoredFiles);
  const fromProject = readEnvFile(
    envFile,
    typeof options.envFile === "string",
    trust,
    ignoredFiles,
  );
  // The data folder may be named by any layer above it; its `.env` then sits between them.
  const homeGiven = options.overrides?.CLOSED_CLAW_HOME ?? env.CLOSED_CLAW_HOME ??
    fromProject.CLOSED_CLAW_HOME ?? fromUser.CLOSED_CLAW_HOME ?? "";
  const dataEnv = readDataEnv(cwd, homeGiven, trust, ignoredFiles);
  const fromData = dataEnv.values;
  const fromFile = { ...fromUser, ...fromData, ...fromProject };
  // Which file a value came from: its name in an error, and the file to fix.
  const sourceOf = (name: string): [string, string] =>
    name in fromProject
      ? [".env", envFile || ".env"]
      : name in fromData
      ? ["the data folder's .env", dataEnv.path]
      : [userConfigFile, userConfigFile];
  const raw: Record<string, unknown> = {};
  for (const def of SETTING_DEFS) {
    const override = options.overrides?.[def.env as EnvName];
    const given = override ?? env[def.env] ?? fromFile[def.env];
    const source = override !== undefined
      ? "option"
      : env[def.env] !== undefined
      ? "environment"
      : sourceOf(def.env)[0];
    const text = given === undefined || given.trim() === "" ? def.defaultText : given;
    const parsed = (def as SettingDef<string, unknown>).parse(text);
    if (!parsed.ok) {
      throw new ClosedClawError(
        "config_invalid",
        `${def.env}=${
          JSON.stringify(given)
        } (from ${source}) is not valid: expected ${parsed.allowed}.`,
        {
          hint: `Fix or remove it in ${
            source === "environment" || source === "option"
              ? `the environment or ${envFile || ".env"}`
              : sourceOf(def.env)[1]
          }.`,
          exitCode: 2,
        },
      );
    }
    raw[def.key] = parsed.value;
  }
  const r = raw as unknown as RawSettings;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(cwd, expandHome(p)));
  const homeDir = abs(r.home);
  const settings = {
    ...r,
    homeDir,
    homeExplicit: homeGiven.trim() !== "",
    dbPath: r.dbPathSetting ? abs(r.dbPathSetting) : join(homeDir, "registry.db"),
    agentsDir: r.agentsDirSetting ? abs(r.agentsDirSetting) : join(homeDir, "agents"),
    runLogsDir: r.runLogsDirSetting ? abs(r.runLogsDirSetting) : join(homeDir, "runs"),
    cassettesDir: join(homeDir, "cassettes"),
    modelCacheDir: join(homeDir, "models"),
    workspace: r.workspaceSetting ? abs(r.workspaceSetting) : cwd,
    extraAllowedPaths: r.extraAllowedPaths.map(abs),
    soulMdPath: r.soulMdSetting ? abs(r.soulMdSetting) : join(homeDir, "soul.md"),
    cwd,
    envFile,
    configDir,
    userConfigFile,
  };
  const soul = readSoul(settings, ledger);
  return Object.freeze({
    ...settings,
    ignoredFiles: Object.freeze([...ignoredFiles, ...soul.ignored]),
  });
}

/**
 * The `.env` entries to use. A file the caller named is read as it is; the
 * default one only when the user accepted this exact content, because a
 * capsule with write access could have planted it to redirect keys.
 */
function readEnvFile(
  path: string,
  named: boolean,
  trust: TrustOptions,
  ignored: { path: string; reason: string }[],
): Record<string, string> {
  if (!path) return {};
  if (named) return readDotenv(path);
  const read = readTrustedFile(path, trust);
  if (read.state === "trusted") return parseDotenv(read.text);
  if (read.state === "ignored") ignored.push({ path, reason: read.reason });
  return {};
}

/** The per-user settings file in a config folder, written by `closed-claw setup`. */
export function userConfigPath(configDir: string): string {
  return join(configDir, "config.env");
}

/**
 * The data folder's `.env`, when the data folder is the user's (named by
 * CLOSED_CLAW_HOME, or created by Closed Claw for them): capsules cannot
 * write there. A default data folder nobody accepted is not read.
 */
function readDataEnv(
  cwd: string,
  homeGiven: string,
  trust: TrustOptions,
  ignored: { path: string; reason: string }[],
): { path: string; values: Record<string, string> } {
  const explicit = homeGiven.trim() !== "";
  const home = explicit
    ? (isAbsolute(homeGiven) ? homeGiven : resolve(cwd, expandHome(homeGiven)))
    : resolve(cwd, ".closed_claw");
  const path = join(home, ".env");
  const state = dataDirState(home, { explicit, configDir: trust.configDir, ledger: trust.ledger });
  if (state !== "trusted") return { path, values: {} };
  return { path, values: readEnvFile(path, false, { ...trust, trustedDirs: [home] }, ignored) };
}

function expandHome(path: string): string {
  if (path !== "~" && !path.startsWith("~/")) return path;
  const home = Deno.env.get("HOME") ?? "";
  return home + path.slice(1);
}

/**
 * Creates the data folders a fresh install needs, after checking that an
 * existing default data folder is the user's (see `dataDirState`): one a
 * capsule planted would decide which agents exist. A folder created here is
 * recorded as the user's.
 */
export function ensureDataDirs(settings: Settings): void {
  const state = dataDirState(settings.homeDir, {
    explicit: settings.homeExplicit,
    configDir: settings.configDir,
  });
  if (state === "untrusted") {
    throw new ClosedClawError(
      "data_dir_not_accepted",
      `${settings.homeDir} was not created by Closed Claw for you: an agent could have planted it, with its own agents and soul.`,
      {
        hint:
          `Review it, then run \`closed-claw trust ${settings.homeDir}\` to use it, or set CLOSED_CLAW_HOME.`,
        exitCode: 2,
      },
    );
  }
  for (const dir of [settings.homeDir, settings.agentsDir, settings.runLogsDir]) {
    Deno.mkdirSync(dir, { recursive: true });
  }
  Deno.mkdirSync(join(settings.dbPath, ".."), { recursive: true });
  if (state === "new") {
    try {
      trustDataDir(settings.homeDir, settings.configDir);
    } catch {
      // no config folder to record it in: nothing more to do
    }
  }
}

/** One row of the settings catalogue shown by the dashboard and `/api/settings`. */
export interface SettingInfo {
  key: string;
  env: string;
  type: SettingKind;
  label: string;
  description: string;
  group: SettingGroup;
  default: string;
  options?: readonly string[];
}

/** The settings catalogue: every setting with its type, default and meaning. */
export function settingsCatalogue(): SettingInfo[] {
  return SETTING_DEFS.map((d) => ({
    key: d.key,
    env: d.env,
    type: d.kind,
    label: d.label,
    description: d.description,
    group: d.group,
    default: d.defaultText,
    ...("options" in d && d.options ? { options: d.options } : {}),
  }));
}

/** Checks one raw value against its setting; returns an error line or null. */
export function validateSettingValue(env: string, value: string): string | null {
  const def = SETTING_DEFS.find((d) => d.env === env);
  if (!def) return `${env} is not a Closed Claw setting.`;
  if (value.trim() === "") return null;
  const parsed = (def as SettingDef<string, unknown>).parse(value);
  return parsed.ok
    ? null
    : `${env}=${JSON.stringify(value)} is not valid: expected ${parsed.allowed}.`;
}
