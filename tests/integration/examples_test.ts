/**
 * The two examples (examples/run_task.ts, examples/dashboard.ts) run as
 * subprocesses, as a user runs them, against the scripted brain on the fake
 * OpenAI server.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { childEnv, CONFIG } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp.ts";
import { notesBrain, startBrain } from "../helpers/coordinator_brain.ts";

const EXAMPLES = new URL("../../examples/", import.meta.url).pathname;

Deno.test("examples/run_task.ts prints the answer of a whole run", async () => {
  await using dir = await tempDir();
  const { fake, workspace, env } = await startBrain(dir.path, notesBrain());
  try {
    await Deno.writeTextFile(join(workspace, "notes.txt"), "hello world\nsecond line\n");
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--config",
        CONFIG,
        join(EXAMPLES, "run_task.ts"),
        "What is the first line of notes.txt?",
      ],
      cwd: workspace,
      clearEnv: true,
      // HOME (and so the user's config folder) outside the workspace, as for most users.
      env: childEnv(dir.path, env),
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    // One subtask: the agent's answer is the run's.
    assert.equal(stdout.trim(), "Answer: The first line is: hello world");
    assert.match(stderr, /· task_ingested\n[\s\S]*· synthesis_complete/);
    // The example keeps its data in a temporary folder and removes it.
    assert.deepEqual([...Deno.readDirSync(workspace)].map((e) => e.name), ["notes.txt"]);
  } finally {
    await fake.close();
  }
});

Deno.test("examples/run_task.ts without a key says what to do in one line", async () => {
  await using dir = await tempDir();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, join(EXAMPLES, "run_task.ts"), "hi"],
    cwd: dir.path,
    clearEnv: true,
    env: childEnv(dir.path, { CLOSED_CLAW_LLM_PROVIDER: "openai" }),
  }).output();
  const stderr = new TextDecoder().decode(out.stderr).trim();
  assert.equal(out.code, 2);
  assert.match(stderr, /^No API key for openai: set OPENAI_API_KEY/);
  assert.equal(stderr.split("\n").length, 1, stderr);
});

Deno.test("examples/dashboard.ts serves the whole dashboard (login, pages, assets, API) under /claw", async () => {
  await using dir = await tempDir();
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, join(EXAMPLES, "dashboard.ts")],
    cwd: dir.path,
    clearEnv: true,
    env: childEnv(dir.path, { PORT: String(port) }),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream());
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).values();
  try {
    let printed = "";
    while (!/Token: \w+\n/.test(printed)) {
      const { value, done } = await lines.next();
      assert.ok(!done, "the example exited before printing its token");
      printed += value;
    }
    const token = /Token: (\w+)/.exec(printed)![1];
    const base = `http://127.0.0.1:${port}`;
    assert.ok(printed.includes(`Dashboard: ${base}/claw/?token=${token}`), printed);
    const own = await fetch(`${base}/`);
    assert.match(await own.text(), /My app/);
    // A browser opens the printed URL once: the token becomes a cookie scoped to /claw.
    const login = await fetch(`${base}/claw/?token=${token}`, { redirect: "manual" });
    assert.equal(login.status, 303);
    assert.equal(login.headers.get("location"), "/claw/");
    const setCookie = login.headers.get("set-cookie") ?? "";
    assert.match(setCookie, /Path=\/claw(;|$)/);
    const cookie = { cookie: setCookie.split(";")[0] };
    const page = await fetch(`${base}/claw/runs`, { headers: cookie });
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<body data-base="\/claw">/);
    assert.ok(html.includes('href="/claw/static/app.css"'));
    assert.ok(html.includes('href="/claw/agents"'));
    const css = await fetch(`${base}/claw/static/app.css`, { headers: cookie });
    assert.equal(css.status, 200);
    assert.match(css.headers.get("content-type") ?? "", /^text\/css/);
    await css.body?.cancel();
    const health = await fetch(`${base}/claw/api/health`, { headers: cookie });
    assert.equal(health.status, 200);
    assert.equal((await health.json()).db_exists, true);
    const bearer = await fetch(`${base}/claw/api/health`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(bearer.status, 200);
    await bearer.body?.cancel();
    const anonymous = await fetch(`${base}/claw/api/agents`);
    assert.equal(anonymous.status, 401);
    await anonymous.body?.cancel();
  } finally {
    child.kill("SIGINT");
    const status = await child.status;
    const errors = await Array.fromAsync(stderr);
    assert.equal(status.code, 0, errors.join(""));
  }
  await Deno.stat(join(dir.path, ".closed_claw", "registry.db"));
});
