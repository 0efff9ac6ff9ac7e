/**
 * `setup` and `doctor`'s key probe, run as a user would (the real CLI in a
 * subprocess, answers piped in) against the fake provider servers.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startFakeServer } from "../fakes/mod.ts";
import { tempDir } from "../helpers/temp.ts";
import { HAS_SCRIPT, runCli, talkOnTerminal } from "../helpers/cli.ts";

const KEY = "sk-good-key";

/** The user config file setup writes when HOME is `home` (as `runCli` sets it to the cwd). */
function userConfig(home: string): string {
  return join(home, ".config", "closed-claw", "config.env");
}

Deno.test("setup saves to the user's config.env (0600), read by later commands in any folder", async () => {
  await using dir = await tempDir();
  const fake = await startFakeServer("openai", { apiKey: KEY });
  try {
    const home = join(dir.path, "home");
    const elsewhere = join(dir.path, "elsewhere");
    Deno.mkdirSync(home);
    Deno.mkdirSync(elsewhere);
    const env = { HOME: home };
    // provider, base URL, key; then the listed models are offered: 2 picks gpt-4o.
    const result = await runCli(["setup"], {
      cwd: dir.path,
      env,
      stdin: `1\n${fake.baseURL}\n${KEY}\n2\n`,
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const out = result.stdout;
    assert.ok(
      out.indexOf("Base URL") < out.indexOf("API key") &&
        out.indexOf("API key") < out.indexOf("Model ["),
      out,
    );
    assert.match(out, /Verification: OK - the key works \(3 models listed/);
    assert.match(
      out,
      /Models listed there:\n {3}1\. gpt-4o-mini\n {3}2\. gpt-4o\n {3}3\. gpt-4\.1-mini/,
    );
    assert.ok(!out.includes(KEY), "the key is never echoed back");
    assert.ok(!/run `[^`]*setup`/.test(out), "setup never says to run setup");
    const path = userConfig(home);
    assert.match(out, new RegExp(`Saved to ${path.replaceAll(".", "\\.")}`));
    assert.equal(
      Deno.readTextFileSync(path),
      "CLOSED_CLAW_LLM_PROVIDER=openai\nCLOSED_CLAW_LLM_MODEL=gpt-4o\n" +
        `OPENAI_API_KEY=${KEY}\nOPENAI_BASE_URL=${fake.baseURL}\n`,
    );
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
    assert.throws(() => Deno.statSync(join(dir.path, ".env")), Deno.errors.NotFound);

    // Another folder: doctor uses the saved provider, key and base URL.
    const doctor = await runCli(["doctor", "--json"], { cwd: elsewhere, env });
    const check = JSON.parse(doctor.stdout).checks.find((c: { name: string }) =>
      c.name === "llm provider"
    );
    assert.equal(check.status, "ok", check.detail);
    assert.match(check.detail, /the key works/);

    // A project .env, once accepted, wins over the user config there (and setup says so).
    Deno.writeTextFileSync(join(elsewhere, ".env"), "OPENAI_API_KEY=sk-project\n");
    assert.equal((await runCli(["trust", ".env"], { cwd: elsewhere, env })).code, 0);
    const overridden = await runCli(["doctor", "--json"], { cwd: elsewhere, env });
    const refused = JSON.parse(overridden.stdout).checks.find((c: { name: string }) =>
      c.name === "llm provider"
    );
    assert.equal(refused.status, "fail");
    const again = await runCli(["setup"], { cwd: elsewhere, env, stdin: `openai\n\n${KEY}\n\n` });
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /Note: .*elsewhere\/\.env sets OPENAI_API_KEY, which wins/);
    // Same answers: every line replaced in place, none duplicated; Enter kept gpt-4o.
    assert.equal(
      Deno.readTextFileSync(path),
      "CLOSED_CLAW_LLM_PROVIDER=openai\nCLOSED_CLAW_LLM_MODEL=gpt-4o\n" +
        `OPENAI_API_KEY=${KEY}\nOPENAI_BASE_URL=${fake.baseURL}\n`,
    );
  } finally {
    await fake.close();
  }
});

Deno.test({
  name: "setup on a terminal: a wrong key (401) asks the key again, and only the key",
  ignore: !HAS_SCRIPT,
  fn: async () => {
    await using dir = await tempDir();
    const fake = await startFakeServer("anthropic", { apiKey: KEY });
    try {
      const { code, seen } = await talkOnTerminal(["setup"], { cwd: dir.path, env: {} }, [
        { expect: "Provider [", reply: "claude" },
        { expect: "Base URL [", reply: fake.baseURL },
        { expect: "API key (ANTHROPIC_API_KEY): ", reply: "sk-wrong" },
        { expect: "Type the key again?", reply: "" },
        { expect: "API key (ANTHROPIC_API_KEY): ", reply: KEY },
        { expect: "Model [", reply: "2" },
      ]);
      assert.equal(code, 0, seen);
      assert.match(seen, /Verification: FAILED - the key was refused \(HTTP 401\)/);
      assert.match(seen, /Check ANTHROPIC_API_KEY: a typo/);
      assert.ok(!seen.includes("sk-wrong") && !seen.includes(KEY), "keys are not echoed");
      // Provider and base URL were asked once; the key twice.
      assert.equal(seen.split("Provider [").length - 1, 1, seen);
      assert.equal(seen.split("Base URL [").length - 1, 1, seen);
      assert.equal(seen.split("API key (").length - 1, 2, seen);
      assert.ok(!/run `[^`]*setup`/.test(seen), "setup never says to run setup");
      const saved = Deno.readTextFileSync(userConfig(dir.path));
      assert.match(saved, /ANTHROPIC_API_KEY=sk-good-key\n/);
      assert.match(saved, /CLOSED_CLAW_LLM_MODEL=claude-sonnet-4-5\n/);
    } finally {
      await fake.close();
    }
  },
});

Deno.test("setup: a refused key saves nothing unless the user says save", async () => {
  await using dir = await tempDir();
  const fake = await startFakeServer("anthropic", { apiKey: KEY });
  try {
    const answers = (then: string) =>
      `claude\n${fake.baseURL}\nsk-wrong\n${then}\nclaude-sonnet-4-5\n`;
    const refused = await runCli(["setup"], { cwd: dir.path, stdin: answers("no") });
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /Verification: FAILED - the key was refused \(HTTP 401\)/);
    assert.match(refused.stdout, /Check ANTHROPIC_API_KEY/);
    assert.match(refused.stdout, /Nothing was saved\./);
    assert.throws(() => Deno.statSync(userConfig(dir.path)), Deno.errors.NotFound);

    const forced = await runCli(["setup"], { cwd: dir.path, stdin: answers("save") });
    assert.equal(forced.code, 0, forced.stdout + forced.stderr);
    const saved = Deno.readTextFileSync(userConfig(dir.path));
    assert.match(saved, /ANTHROPIC_API_KEY=sk-wrong\n/);
    assert.match(saved, /CLOSED_CLAW_LLM_MODEL=claude-sonnet-4-5\n/);
  } finally {
    await fake.close();
  }
});

Deno.test("setup: an unreachable server asks the base URL again; openai-compatible asks it first", async () => {
  await using dir = await tempDir();
  const fake = await startFakeServer("openai", { apiKey: KEY });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedUrl = `http://127.0.0.1:${listener.addr.port}/v1`;
  listener.close();
  try {
    const result = await runCli(["setup"], {
      cwd: dir.path,
      stdin: `openai-compatible\n${closedUrl}\n${KEY}\n\n${fake.baseURL}\n3\n`,
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /Verification: FAILED - cannot reach/);
    assert.match(result.stdout, /Type the base URL again\?/);
    assert.equal(result.stdout.split("API key (").length - 1, 1, "the key was asked once");
    const saved = Deno.readTextFileSync(userConfig(dir.path));
    assert.match(saved, /CLOSED_CLAW_LLM_PROVIDER=openai-compatible\n/);
    assert.match(saved, /CLOSED_CLAW_LLM_MODEL=gpt-4\.1-mini\n/);
    assert.ok(saved.includes(`CLOSED_CLAW_LLM_BASE_URL=${fake.baseURL}\n`), saved);
  } finally {
    await fake.close();
  }
});

Deno.test("setup: an unknown model is asked about; end of input cancels in one line", async () => {
  await using dir = await tempDir();
  const fake = await startFakeServer("gemini", { apiKey: KEY });
  try {
    const unknown = await runCli(["setup"], {
      cwd: dir.path,
      stdin: `gemini\n${fake.baseURL}\n${KEY}\ngemini-9\n`,
    });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stdout, /Model "gemini-9" is not among the models listed there/);
    // No answer to "Use it anyway?" cancels.
    const cancelled = "\nSetup cancelled: no more input, nothing was saved.\n";
    assert.ok(
      unknown.stdout.endsWith(`Use "gemini-9" anyway? (yes/no): ${cancelled}`),
      unknown.stdout,
    );

    const bad = await runCli(["setup"], { cwd: dir.path, stdin: "7\nnope\n" });
    assert.match(bad.stdout, /"7" is not a choice: type 1-5 or one of openai, openai-compatible/);
    assert.ok(bad.stdout.endsWith(`: ${cancelled}`), bad.stdout);
    assert.equal(bad.stderr, "");
    assert.equal(bad.code, 1);
    assert.throws(() => Deno.statSync(userConfig(dir.path)), Deno.errors.NotFound);
  } finally {
    await fake.close();
  }
});

Deno.test("doctor probes the key by listing models: ok, refused, unreachable", async () => {
  await using dir = await tempDir();
  const fake = await startFakeServer("gemini", { apiKey: KEY });
  try {
    const doctor = async (env: Record<string, string>) => {
      const result = await runCli(["doctor", "--json"], {
        cwd: dir.path,
        env: { CLOSED_CLAW_LLM_PROVIDER: "gemini", ...env },
      });
      const report = JSON.parse(result.stdout);
      return {
        report,
        check: report.checks.find((c: { name: string }) => c.name === "llm provider"),
      };
    };
    const ok = await doctor({ GEMINI_API_KEY: KEY, GEMINI_BASE_URL: fake.baseURL });
    assert.equal(ok.check.status, "ok");
    assert.match(ok.check.detail, /the key works \(3 models listed at .*\/v1beta\/models\)/);
    assert.equal(ok.report.llm_key_probe_ok, true);

    const refused = await doctor({ GEMINI_API_KEY: "wrong", GEMINI_BASE_URL: fake.baseURL });
    assert.equal(refused.check.status, "fail");
    assert.match(refused.check.detail, /the key was refused \(HTTP 401\)/);
    assert.match(refused.check.fix, /Check GEMINI_API_KEY/);
    assert.equal(refused.report.llm_key_probe_ok, false);

    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const closedUrl = `http://127.0.0.1:${listener.addr.port}`;
    listener.close();
    const down = await doctor({ GEMINI_API_KEY: KEY, GEMINI_BASE_URL: closedUrl });
    assert.equal(down.check.status, "fail");
    assert.ok(
      down.check.detail.includes(`cannot reach ${closedUrl}/v1beta/models`),
      down.check.detail,
    );
    assert.match(down.check.fix, /Check the base URL/);
    assert.equal(fake.requests.length, 0, "no tokens were spent");
  } finally {
    await fake.close();
  }
});

Deno.test("doctor checks the replay provider's cassette instead of saying ok", async () => {
  await using dir = await tempDir();
  const doctor = async (env: Record<string, string>) => {
    const result = await runCli(["doctor", "--json"], {
      cwd: dir.path,
      env: { CLOSED_CLAW_LLM_PROVIDER: "replay", ...env },
    });
    return JSON.parse(result.stdout).checks.find((c: { name: string }) =>
      c.name === "llm provider"
    );
  };
  const unset = await doctor({});
  assert.equal(unset.status, "fail");
  assert.match(unset.detail, /CLOSED_CLAW_REPLAY_CASSETTE is not set/);

  Deno.writeTextFileSync(join(dir.path, "broken.json"), "{}");
  const broken = await doctor({ CLOSED_CLAW_REPLAY_CASSETTE: "broken.json" });
  assert.equal(broken.status, "fail");
  assert.match(broken.detail, /broken\.json is not a Closed Claw cassette/);

  Deno.writeTextFileSync(join(dir.path, "run.json"), JSON.stringify({ version: 1, entries: [] }));
  const ok = await doctor({ CLOSED_CLAW_REPLAY_CASSETTE: "run.json" });
  assert.equal(ok.status, "ok", ok.detail);
  assert.match(ok.detail, /replay: 0 recorded calls in .*run\.json/);
});

Deno.test("run checks --llm-model like every model command, before looking for a key", async () => {
  await using dir = await tempDir();
  const result = await runCli(["run", "hello", "--llm-model", "two words"], { cwd: dir.path });
  assert.equal(result.code, 2, result.stdout + result.stderr);
  assert.match(result.stderr, /--llm-model needs a model id, not "two words"/);
});

Deno.test("setup: a key kept from a project .env is saved to the user config, for every folder", async () => {
  await using dir = await tempDir();
  const fake = await startFakeServer("gemini", { apiKey: KEY });
  try {
    const home = join(dir.path, "home");
    const project = join(dir.path, "project");
    Deno.mkdirSync(home);
    Deno.mkdirSync(project);
    const env = { HOME: home };
    Deno.writeTextFileSync(join(project, ".env"), `GEMINI_API_KEY=${KEY}\n`);
    assert.equal((await runCli(["trust", ".env"], { cwd: project, env })).code, 0);
    // Enter keeps the current key (read from ./.env); Enter picks the default model.
    const result = await runCli(["setup"], {
      cwd: project,
      env,
      stdin: `gemini\n${fake.baseURL}\n\n\n`,
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /Enter keeps the current key/);
    assert.match(Deno.readTextFileSync(userConfig(home)), new RegExp(`GEMINI_API_KEY=${KEY}\n`));
    // A key from the environment stays there: it is not copied into the file.
    const fromEnv = await runCli(["setup"], {
      cwd: dir.path,
      env: { HOME: join(dir.path, "other-home"), GEMINI_API_KEY: KEY },
      stdin: `gemini\n${fake.baseURL}\n\n\n`,
    });
    assert.equal(fromEnv.code, 0, fromEnv.stdout + fromEnv.stderr);
    assert.doesNotMatch(
      Deno.readTextFileSync(userConfig(join(dir.path, "other-home"))),
      /GEMINI_API_KEY/,
    );
  } finally {
    await fake.close();
  }
});
