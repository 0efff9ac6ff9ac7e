import assert from "node:assert/strict";
import { join } from "node:path";
import { loadSettings, settingsCatalogue, validateSettingValue } from "../../core/settings.ts";
import { parseDotenv, upsertDotenv } from "../../core/dotenv.ts";
import { trustFile } from "../../core/trust.ts";
import { ClosedClawError } from "../../core/errors.ts";
import { tempDir } from "../helpers/temp.ts";

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ClosedClawError);
    assert.equal(error.code, "config_invalid");
    assert.equal(error.exitCode, 2);
    return error.toLine();
  }
  assert.fail("expected a config error");
}

Deno.test("defaults match the seed and put every data path under CLOSED_CLAW_HOME", () => {
  const s = loadSettings({ cwd: "/work/x", envFile: false, env: {} });
  assert.equal(s.homeDir, "/work/x/.closed_claw");
  assert.equal(s.dbPath, "/work/x/.closed_claw/registry.db");
  assert.equal(s.agentsDir, "/work/x/.closed_claw/agents");
  assert.equal(s.runLogsDir, "/work/x/.closed_claw/runs");
  assert.equal(s.workspace, "/work/x");
  assert.equal(s.lowConfidenceThreshold, 0.62);
  assert.equal(s.subtaskMaxAttempts, 2);
  assert.equal(s.maxParallelAgents, 4);
  assert.equal(s.apiApprovalMode, "interactive");
  assert.deepEqual(s.paidApiProviders, []);
  assert.equal(s.enableTransformersEmbeddings, false);
});

Deno.test("the environment wins over .env, and .env is read without touching Deno.env", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    join(dir.path, ".env"),
    "# comment\nCLOSED_CLAW_MAX_PARALLEL_AGENTS=2\nexport OPENAI_API_KEY='sk-file'\nCLOSED_CLAW_PAID_API_PROVIDERS=api.a.com, api.b.com # hosts\n",
  );
  // The user accepted this .env (a file nobody accepted is ignored: core_trust_test.ts).
  const configDir = join(dir.path, "config");
  trustFile(join(dir.path, ".env"), configDir);
  const s = loadSettings({
    cwd: dir.path,
    configDir,
    env: { CLOSED_CLAW_MAX_PARALLEL_AGENTS: "3" },
  });
  assert.equal(s.maxParallelAgents, 3);
  assert.equal(s.openaiApiKey, "sk-file");
  assert.deepEqual(s.paidApiProviders, ["api.a.com", "api.b.com"]);
  assert.equal(Deno.env.get("OPENAI_API_KEY") === "sk-file", false);
});

Deno.test("a bad value names the variable, the value, where it came from and what is allowed", () => {
  const line = configError(() =>
    loadSettings({ envFile: false, env: { CLOSED_CLAW_AGENT_TIMEOUT_SEC: "soon" } })
  );
  assert.match(line, /CLOSED_CLAW_AGENT_TIMEOUT_SEC="soon" \(from environment\)/);
  assert.match(line, /expected a number ≥ 1/);
  assert.ok(!line.includes("\n"));
  assert.match(
    configError(() =>
      loadSettings({ envFile: false, env: { CLOSED_CLAW_LLM_PROVIDER: "siemens" } })
    ),
    /expected one of openai, openai-compatible, ollama, claude, gemini, replay/,
  );
  assert.match(
    configError(() =>
      loadSettings({ envFile: false, env: { CLOSED_CLAW_MAX_PARALLEL_AGENTS: "0" } })
    ),
    /whole number from 1 to 64/,
  );
  assert.match(
    configError(() =>
      loadSettings({ envFile: false, env: { CLOSED_CLAW_EVOLUTION_ENABLED: "sure" } })
    ),
    /true or false/,
  );
  assert.match(
    configError(() =>
      loadSettings({ envFile: false, env: { CLOSED_CLAW_LOW_CONFIDENCE_THRESHOLD: "1.5" } })
    ),
    /from 0 to 1/,
  );
  assert.match(
    configError(() =>
      loadSettings({ envFile: false, env: {}, overrides: { CLOSED_CLAW_LLM_TIMEOUT_SEC: "-1" } })
    ),
    /\(from option\)/,
  );
});

Deno.test("booleans accept the usual spellings and empty values mean the default", () => {
  const s = loadSettings({
    envFile: false,
    env: { CLOSED_CLAW_ENABLE_SENTENCE_TRANSFORMERS: "YES", CLOSED_CLAW_AGENT_RETRIES: "  " },
  });
  assert.equal(s.enableTransformersEmbeddings, true);
  assert.equal(s.agentRetries, 2);
});

Deno.test("the catalogue lists every setting once, and values are validated one by one", () => {
  const catalogue = settingsCatalogue();
  const envs = catalogue.map((c) => c.env);
  assert.equal(new Set(envs).size, envs.length);
  for (
    const seedSetting of [
      "CLOSED_CLAW_DB_PATH",
      "CLOSED_CLAW_AGENTS_DIR",
      "CLOSED_CLAW_RUN_LOGS_DIR",
      "CLOSED_CLAW_EMBEDDING_MODEL",
      "CLOSED_CLAW_EMBEDDING_DIM",
      "CLOSED_CLAW_LOW_CONFIDENCE_THRESHOLD",
      "CLOSED_CLAW_CREATE_APPROVAL_REQUIRED",
      "CLOSED_CLAW_CREATE_APPROVAL_MODE",
      "CLOSED_CLAW_API_APPROVAL_MODE",
      "CLOSED_CLAW_PAID_API_PROVIDERS",
      "CLOSED_CLAW_API_APPROVAL_TIMEOUT_SEC",
      "CLOSED_CLAW_AGENT_TIMEOUT_SEC",
      "CLOSED_CLAW_AGENT_RETRIES",
      "CLOSED_CLAW_CIRCUIT_BREAKER_FAILURES",
      "CLOSED_CLAW_CIRCUIT_BREAKER_RESET_SEC",
      "CLOSED_CLAW_TASK_POOL_POLL_INTERVAL_SEC",
      "CLOSED_CLAW_SUBTASK_MAX_ATTEMPTS",
      "CLOSED_CLAW_MAX_TOOL_CALLS_PER_AGENT",
      "CLOSED_CLAW_MAX_AGENTS_PER_RUN",
      "CLOSED_CLAW_MAX_SUBTASKS_PER_PHASE",
      "CLOSED_CLAW_REQUIRE_SQLITE_VEC",
      "CLOSED_CLAW_LLM_PROVIDER",
      "CLOSED_CLAW_LLM_MODEL",
      "CLOSED_CLAW_LLM_TIMEOUT_SEC",
      "CLOSED_CLAW_LLM_API_KEY",
      "CLOSED_CLAW_EXTRA_ALLOWED_PATHS",
      "CLOSED_CLAW_EVOLUTION_ENABLED",
      "CLOSED_CLAW_EVOLUTION_MUTATION_RATE",
      "CLOSED_CLAW_SOUL_MD",
      "CLOSED_CLAW_ENABLE_SENTENCE_TRANSFORMERS",
      "OPENAI_API_KEY",
      "OPENAI_BASE_URL",
      "GEMINI_API_KEY",
      "GEMINI_BASE_URL",
      "ANTHROPIC_API_KEY",
      "ANTHROPIC_BASE_URL",
    ]
  ) assert.ok(envs.includes(seedSetting), `${seedSetting} is missing`);
  assert.equal(validateSettingValue("CLOSED_CLAW_MAX_AGENTS_PER_RUN", "5"), null);
  assert.match(validateSettingValue("CLOSED_CLAW_MAX_AGENTS_PER_RUN", "many")!, /whole number/);
  assert.match(validateSettingValue("NOT_A_SETTING", "1")!, /not a Closed Claw setting/);
});

Deno.test(".env upserts keep comments and order and refuse line breaks", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, ".env");
  await Deno.writeTextFile(file, "# keys\nA=1\n\nB=two words\n");
  upsertDotenv(file, { B: "new value", C: 'say "hi"' });
  assert.equal(await Deno.readTextFile(file), '# keys\nA=1\n\nB="new value"\nC="say \\"hi\\""\n');
  assert.deepEqual(parseDotenv(await Deno.readTextFile(file)), {
    A: "1",
    B: "new value",
    C: 'say "hi"',
  });
  assert.throws(() => upsertDotenv(file, { A: "1\nEVIL=1" }), /line break/);
  assert.throws(() => upsertDotenv(file, { "BAD KEY": "1" }), /not a valid variable name/);
  assert.equal(parseDotenv(await Deno.readTextFile(file)).EVIL, undefined);
});

Deno.test("layers: user config.env < data folder .env < project .env < environment", async () => {
  await using dir = await tempDir();
  const configDir = join(dir.path, "config");
  const home = join(dir.path, "data");
  const project = join(dir.path, "project");
  await Deno.mkdir(configDir);
  await Deno.mkdir(home);
  await Deno.mkdir(project);
  await Deno.writeTextFile(
    join(configDir, "config.env"),
    "OPENAI_API_KEY=sk-user\nCLOSED_CLAW_LLM_MODEL=user-model\nCLOSED_CLAW_MAX_PARALLEL_AGENTS=1\n" +
      `CLOSED_CLAW_HOME=${home}\nCLOSED_CLAW_AGENT_RETRIES=1\n`,
  );
  // Any folder reads the user's config file: no ledger entry is needed for it.
  const anywhere = loadSettings({ cwd: project, configDir, env: {} });
  assert.equal(anywhere.userConfigFile, join(configDir, "config.env"));
  assert.equal(anywhere.openaiApiKey, "sk-user");
  assert.equal(anywhere.homeDir, home);

  // The data folder's .env (named by the user config here) wins over it.
  await Deno.writeTextFile(
    join(home, ".env"),
    "CLOSED_CLAW_LLM_MODEL=data-model\nCLOSED_CLAW_MAX_PARALLEL_AGENTS=2\n",
  );
  // A project .env counts once accepted, and wins over both.
  await Deno.writeTextFile(join(project, ".env"), "CLOSED_CLAW_MAX_PARALLEL_AGENTS=3\n");
  const unaccepted = loadSettings({ cwd: project, configDir, env: {} });
  assert.equal(unaccepted.llmModel, "data-model");
  assert.equal(unaccepted.maxParallelAgents, 2);
  assert.equal(unaccepted.ignoredFiles[0]?.reason, "not accepted by you yet");
  trustFile(join(project, ".env"), configDir);
  const s = loadSettings({
    cwd: project,
    configDir,
    env: { CLOSED_CLAW_AGENT_RETRIES: "4" },
  });
  assert.equal(s.openaiApiKey, "sk-user");
  assert.equal(s.llmModel, "data-model");
  assert.equal(s.maxParallelAgents, 3);
  assert.equal(s.agentRetries, 4);

  // A bad value names the file it came from.
  await Deno.writeTextFile(join(configDir, "config.env"), "CLOSED_CLAW_AGENT_RETRIES=many\n");
  assert.match(
    configError(() => loadSettings({ cwd: project, configDir, env: {} })),
    /CLOSED_CLAW_AGENT_RETRIES="many" \(from .*config\.env\)/,
  );
});
