/** `POST /api/health/verify` and `POST /api/settings/apikey` against the fake providers. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadSettings } from "../../core/settings.ts";
import { trustFile } from "../../core/trust.ts";
import { type FakeKind, type FakeServer, startFakeServer } from "../fakes/mod.ts";
import { startWebFixture } from "../helpers/web_fixture.ts";

const GOOD_KEY = "sk-fake-good-key-0123456789";

/** A fake provider that only accepts GOOD_KEY, closed at the end of the scope. */
async function fakeProvider(kind: FakeKind): Promise<FakeServer & AsyncDisposable> {
  const fake = await startFakeServer(kind, { apiKey: GOOD_KEY });
  return Object.assign(fake, { [Symbol.asyncDispose]: () => fake.close() });
}

Deno.test("web api: health/verify lists the provider's models with the configured key, spending no tokens", async () => {
  await using fake = await fakeProvider("anthropic");
  const env = {
    CLOSED_CLAW_LLM_PROVIDER: "claude",
    ANTHROPIC_BASE_URL: fake.baseURL,
  };
  {
    await using fx = await startWebFixture({ env: { ...env, ANTHROPIC_API_KEY: GOOD_KEY } });
    const response = await fx.api("POST", "/api/health/verify");
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.equal(body.provider, "claude");
    assert.equal(body.model, "claude-3-5-haiku-latest");
    assert.equal(body.verified, true);
    assert.match(body.message, /the key works/);
    assert.equal(typeof body.latency_ms, "number");
    assert.equal(fake.requests.length, 0, "no model call, so no tokens");
  }
  {
    await using fx = await startWebFixture({ env: { ...env, ANTHROPIC_API_KEY: "sk-wrong-1" } });
    const body = await (await fx.api("POST", "/api/health/verify")).json();
    assert.equal(body.verified, false);
    assert.equal(body.status, "refused");
    assert.match(body.message, /refused \(HTTP 401\)/);
    assert.ok(!JSON.stringify(body).includes("sk-wrong-1"));
  }
  {
    await using fx = await startWebFixture({ env });
    const body = await (await fx.api("POST", "/api/health/verify")).json();
    assert.equal(body.verified, false);
    assert.match(body.message, /No API key is set for claude/);
    assert.match(body.fix, /ANTHROPIC_API_KEY/);
  }
});

Deno.test("web api: settings/apikey saves a verified key to the user's config.env (0600), never echoes it, and refuses bad ones", async () => {
  await using fake = await fakeProvider("openai");
  await using fx = await startWebFixture({ env: { OPENAI_BASE_URL: fake.baseURL } });
  const userConfig = fx.settings.userConfigFile;
  assert.equal(userConfig, join(fx.settings.configDir, "config.env"));
  const envFile = join(fx.settings.cwd, ".env");
  Deno.writeTextFileSync(envFile, "# my settings\nCLOSED_CLAW_AGENT_TIMEOUT_SEC=90\n");
  const userConfigText = () => {
    try {
      return Deno.readTextFileSync(userConfig);
    } catch {
      return "";
    }
  };
  // A reload reads the files like `closed-claw web` does.
  fx.deps.reloadSettings = () => {
    fx.deps.settings = loadSettings({
      cwd: fx.settings.cwd,
      configDir: fx.settings.configDir,
      env: { CLOSED_CLAW_HOME: fx.settings.homeDir, OPENAI_BASE_URL: fake.baseURL },
    });
  };

  const wrong = await fx.api("POST", "/api/settings/apikey", { api_key: "sk-wrong-key-42" });
  assert.equal(wrong.status, 200);
  const wrongBody = await wrong.json();
  assert.equal(wrongBody.verified, false);
  assert.equal(wrongBody.saved, false);
  assert.match(wrongBody.error, /refused/);
  assert.ok(!JSON.stringify(wrongBody).includes("sk-wrong-key-42"));
  assert.doesNotMatch(userConfigText(), /OPENAI_API_KEY/);

  for (
    const bad of [
      `${GOOD_KEY}\nCLOSED_CLAW_ALLOW_UNSANDBOXED_EXEC=true`,
      "a b",
      "ab\rcd",
      "ab\u0000cd",
      "",
    ]
  ) {
    const response = await fx.api("POST", "/api/settings/apikey", { api_key: bad });
    assert.equal(response.status, 400, JSON.stringify(bad));
    assert.ok(!(await response.text()).includes("UNSANDBOXED"));
  }
  assert.equal((await fx.api("POST", "/api/settings/apikey", {})).status, 400);
  assert.equal(
    (await fx.api("POST", "/api/settings/apikey", { api_key: "k".repeat(600) })).status,
    400,
  );
  assert.doesNotMatch(userConfigText(), /UNSANDBOXED|OPENAI_API_KEY/);

  const saved = await fx.api("POST", "/api/settings/apikey", { api_key: ` ${GOOD_KEY} ` });
  const savedText = await saved.text();
  assert.equal(saved.status, 200);
  assert.ok(!savedText.includes(GOOD_KEY), "the key is never echoed back");
  const savedBody = JSON.parse(savedText);
  assert.equal(savedBody.verified, true);
  assert.equal(savedBody.saved, true);
  assert.equal(savedBody.saved_to, userConfig);
  assert.deepEqual(savedBody.shadowed_by_files, []);
  assert.equal(savedBody.provider, "openai");
  assert.equal(savedBody.key_env, "OPENAI_API_KEY");
  assert.equal(savedBody.reloaded, true);
  assert.equal(userConfigText(), `OPENAI_API_KEY=${GOOD_KEY}\n`);
  assert.equal(Deno.statSync(userConfig).mode! & 0o777, 0o600);
  // The project's .env (not accepted, so not read) is left alone.
  assert.equal(Deno.readTextFileSync(envFile), "# my settings\nCLOSED_CLAW_AGENT_TIMEOUT_SEC=90\n");
  // The reloaded settings carry the key: health and verify see it.
  assert.equal((await (await fx.api("GET", "/api/health")).json()).openai_key_set, true);
  assert.equal((await (await fx.api("POST", "/api/health/verify")).json()).verified, true);

  // An accepted project .env that sets the key wins here: the answer says so.
  Deno.writeTextFileSync(envFile, "OPENAI_API_KEY=sk-project\n");
  trustFile(envFile, fx.settings.configDir);
  fx.deps.reloadSettings();
  const shadowed = await (await fx.api("POST", "/api/settings/apikey", { api_key: GOOD_KEY }))
    .json();
  assert.equal(shadowed.saved, true);
  assert.deepEqual(shadowed.shadowed_by_files, [envFile]);
  assert.equal(fake.requests.length, 0);
});

Deno.test("web api: settings/apikey refuses a provider that takes no key, and text/plain bodies", async () => {
  await using fx = await startWebFixture({ env: { CLOSED_CLAW_LLM_PROVIDER: "ollama" } });
  const response = await fx.api("POST", "/api/settings/apikey", { api_key: GOOD_KEY });
  assert.equal(response.status, 400);
  assert.equal((await response.json()).code, "no_key_needed");
  const plain = await fx.api("POST", "/api/settings/apikey", { api_key: GOOD_KEY }, {
    "content-type": "text/plain",
  });
  assert.equal(plain.status, 415);
  assert.equal(Deno.statSync(fx.settings.cwd).isDirectory, true);
  assert.throws(() => Deno.statSync(join(fx.settings.cwd, ".env")));
});
