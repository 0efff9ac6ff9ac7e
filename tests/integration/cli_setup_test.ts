/**
 * `setup` and `doctor`'s key probe, run as a user would (the real CLI in a
 * subprocess, answers piped in) against the fake provider servers.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startFakeServer } from "../fakes/mod.ts";
import { tempDir } from "../helpers/temp.ts";
import { runCli } from "../helpers/cli.ts";

const KEY = "sk-good-key";

function readEnv(dir: string): string {
  return Deno.readTextFileSync(join(dir, ".env"));
}

Deno.test("setup with piped answers verifies against the base URL and writes .env", async () => {
  await using dir = await tempDir();
  const fake = await startFakeServer("openai", { apiKey: KEY });
  try {
    Deno.writeTextFileSync(
      join(dir.path, ".env"),
      "# my settings\nFOO=bar\nOPENAI_API_KEY=old-key\nCLOSED_CLAW_LLM_API_KEY=stale\n",
    );
    // A .env the user never accepted could have been planted: setup refuses
    // before asking anything, and saves nothing.
    const refused = await runCli(["setup"], { cwd: dir.path, stdin: `1\n\n${KEY}\n` });
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /\.env is not accepted by you yet; nothing was saved/);
    assert.match(refused.stderr, /closed-claw trust/);
    assert.doesNotMatch(refused.stdout, /Provider/);
    const accepted = await runCli(["trust", ".env"], { cwd: dir.path });
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.match(
      accepted.stdout,
      /Accepted .*\.env \(FOO=bar, OPENAI_API_KEY=\*\*\*\*, CLOSED_CLAW_LLM_API_KEY=\*\*\*\*\)/,
    );
    const result = await runCli(["setup"], {
      cwd: dir.path,
      stdin: `1\n\n${KEY}\n${fake.baseURL}\n`,
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /Verification: OK - the key works \(3 models listed/);
    assert.ok(!result.stdout.includes(KEY), "the key is never echoed back");
    const env = readEnv(dir.path);
    assert.equal(
      env,
      "# my settings\nFOO=bar\nOPENAI_API_KEY=sk-good-key\nCLOSED_CLAW_LLM_API_KEY=\n" +
        `CLOSED_CLAW_LLM_PROVIDER=openai\nCLOSED_CLAW_LLM_MODEL=gpt-4o-mini\nOPENAI_BASE_URL=${fake.baseURL}\n`,
    );

    // Run again with the same answers: every line is replaced, none duplicated.
    const again = await runCli(["setup"], { cwd: dir.path, stdin: `openai\n\n\n\n` });
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.equal(readEnv(dir.path), env);
  } finally {
    await fake.close();
  }
});

Deno.test("setup: a refused key saves nothing unless the user says save anyway", async () => {
  await using dir = await tempDir();
  const fake = await startFakeServer("anthropic", { apiKey: KEY });
  try {
    const answers = (save: string) =>
      `claude\nclaude-sonnet-4-5\nsk-wrong\n${fake.baseURL}\n${save}\n`;
    const refused = await runCli(["setup"], { cwd: dir.path, stdin: answers("no") });
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /Verification: FAILED - the key was refused \(HTTP 401\)/);
    assert.match(refused.stdout, /Check ANTHROPIC_API_KEY/);
    assert.match(refused.stdout, /Nothing was saved\./);
    assert.throws(() => readEnv(dir.path), Deno.errors.NotFound);

    const forced = await runCli(["setup"], { cwd: dir.path, stdin: answers("yes") });
    assert.equal(forced.code, 0, forced.stdout + forced.stderr);
    assert.match(readEnv(dir.path), /ANTHROPIC_API_KEY=sk-wrong\n/);
    assert.match(readEnv(dir.path), /CLOSED_CLAW_LLM_MODEL=claude-sonnet-4-5\n/);
  } finally {
    await fake.close();
  }
});

Deno.test("setup: an unknown model lists the choices; end of input cancels in one line", async () => {
  await using dir = await tempDir();
  const fake = await startFakeServer("gemini", { apiKey: KEY });
  try {
    const unknown = await runCli(["setup"], {
      cwd: dir.path,
      stdin: `gemini\ngemini-9\n${KEY}\n${fake.baseURL}\n`,
    });
    assert.equal(unknown.code, 1);
    assert.match(
      unknown.stdout,
      /Model "gemini-9" is not among the models listed there: gemini-2\.5-flash/,
    );
    // No answer to "Save anyway?" cancels.
    const cancelled = "\nSetup cancelled: no more input, nothing was saved.\n";
    assert.ok(unknown.stdout.endsWith(`Save anyway? (yes/no): ${cancelled}`), unknown.stdout);

    const bad = await runCli(["setup"], { cwd: dir.path, stdin: "7\nnope\n" });
    assert.match(bad.stdout, /"7" is not a choice: type 1-5 or one of openai, openai-compatible/);
    assert.ok(bad.stdout.endsWith(`: ${cancelled}`), bad.stdout);
    assert.equal(bad.stderr, "");
    assert.equal(bad.code, 1);
    assert.throws(() => readEnv(dir.path), Deno.errors.NotFound);
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
