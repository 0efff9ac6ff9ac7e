import assert from "node:assert/strict";
import { join } from "node:path";
import { runTool } from "../../guest/tools/run.ts";
import { deniedCommand } from "../../guest/tools/terminal.ts";
import { runProcess } from "../../guest/tools/process.ts";
import { tempDir } from "../helpers/temp.ts";
import { toolContext } from "../helpers/tool_context.ts";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("terminal: a bash command line — pipes, &&, redirects and globs work in the workspace", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(join(dir.path, "a.txt"), "x");
  const out = await runTool(
    "terminal",
    { cmd: 'ls *.txt | wc -l > count.out && cat count.out; echo "$((1 + 2))"' },
    toolContext(dir.path),
  );
  assert.ok(out.ok, out.error);
  assert.equal(out.result.stdout, "1\n3\n");
  assert.equal(out.result.returncode, 0);
  assert.equal(out.result.timed_out, false);
  assert.equal(await Deno.readTextFile(join(dir.path, "count.out")), "1\n");
});

Deno.test("terminal: runs in the workspace with a scrubbed environment", async () => {
  await using dir = await tempDir();
  Deno.env.set("CLAW_TOOLS_TEST_SECRET", "sk-should-not-leak");
  try {
    const pwd = await runTool("terminal", { cmd: "pwd" }, toolContext(dir.path));
    assert.equal(String(pwd.result.stdout).trim(), await Deno.realPath(dir.path));
    const env = await runTool("terminal", { cmd: "env" }, toolContext(dir.path));
    assert.ok(env.ok, env.error);
    assert.ok(!String(env.result.stdout).includes("sk-should-not-leak"));
    assert.match(String(env.result.stdout), /^PATH=/m);
    const explicit = await runTool(
      "terminal",
      { cmd: "env" },
      toolContext(dir.path, {
        env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", ONLY: "this" },
      }),
    );
    assert.match(String(explicit.result.stdout), /^ONLY=this$/m);
    assert.ok(!String(explicit.result.stdout).includes("HOME="));
  } finally {
    Deno.env.delete("CLAW_TOOLS_TEST_SECRET");
  }
});

Deno.test("terminal: failures are ok:false with one clear line", async () => {
  await using dir = await tempDir();
  const ctx = toolContext(dir.path);
  const missing = await runTool("terminal", { cmd: "definitely-not-a-command-xyz --help" }, ctx);
  assert.equal(missing.ok, false);
  assert.equal(missing.result.returncode, 127);
  assert.match(missing.error, /definitely-not-a-command-xyz: command not found/);
  const status = await runTool("terminal", { cmd: "ls /definitely/not/here" }, ctx);
  assert.equal(status.ok, false);
  assert.notEqual(status.result.returncode, 0);
  assert.match(status.error, /definitely\/not\/here/, "the error is stderr");
  const quote = await runTool("terminal", { cmd: "echo 'unclosed" }, ctx);
  assert.ok(!quote.ok && /unexpected EOF|unexpected end of file/.test(quote.error), quote.error);
  const empty = await runTool("terminal", { cmd: "   " }, ctx);
  assert.ok(!empty.ok && /'cmd'/.test(empty.error));
  const noArgs = await runTool("terminal", {}, ctx);
  assert.ok(!noArgs.ok && /'cmd' is required/.test(noArgs.error));
  const gone = await runTool("terminal", { cmd: "ls" }, toolContext(join(dir.path, "missing")));
  assert.ok(!gone.ok && /does not exist/.test(gone.error));
});

Deno.test("terminal: timeout kills the process and its whole group", async () => {
  await using dir = await tempDir();
  const marker = join(dir.path, "marker");
  const started = performance.now();
  // The child starts a grandchild that would create the marker after 2 s.
  const out = await runTool("terminal", {
    cmd:
      `python3 -c "import subprocess, time; subprocess.Popen(['sh', '-c', 'sleep 2; touch ${marker}']); time.sleep(30)"`,
    timeout_s: 1,
  }, toolContext(dir.path));
  assert.equal(out.ok, false);
  assert.match(out.error, /timed out after 1 s/);
  assert.equal(out.result.timed_out, true);
  assert.ok(performance.now() - started < 5_000, "returned promptly");
  await sleep(2_500);
  assert.equal(await exists(marker), false, "the grandchild was killed with the group");
});

Deno.test("terminal: background leftovers are reaped when the command exits", async () => {
  await using dir = await tempDir();
  const marker = join(dir.path, "late");
  const started = performance.now();
  const out = await runTool("terminal", {
    cmd: `sh -c "(sleep 2; touch ${marker}) & echo started"`,
  }, toolContext(dir.path));
  assert.ok(out.ok, out.error);
  assert.equal(out.result.stdout, "started\n");
  assert.ok(performance.now() - started < 2_000, "did not wait for the background job's pipes");
  await sleep(2_500);
  assert.equal(await exists(marker), false);
});

Deno.test("terminal: abort signal kills the process", async () => {
  await using dir = await tempDir();
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 200);
  const started = performance.now();
  const out = await runTool(
    "terminal",
    { cmd: "sleep 20" },
    toolContext(dir.path, { signal: controller.signal }),
  );
  assert.ok(!out.ok && /cancelled/.test(out.error));
  assert.ok(performance.now() - started < 3_000);
});

Deno.test("terminal: output is capped per stream with a visible marker", async () => {
  await using dir = await tempDir();
  const out = await runTool(
    "terminal",
    { cmd: "seq 1 10000" },
    toolContext(dir.path, { limits: { maxOutputChars: 100 } }),
  );
  assert.ok(out.ok);
  const stdout = String(out.result.stdout);
  assert.ok(stdout.startsWith("1\n2\n3\n"));
  assert.ok(stdout.endsWith("… [truncated, 48894 total chars]"), stdout.slice(-60));
  assert.equal(stdout.length, 100 + "… [truncated, 48894 total chars]".length);
  const big = await runTool("terminal", { cmd: "seq 1 20000" }, toolContext(dir.path));
  assert.ok(String(big.result.stdout).length < 50_100, "default cap 50,000");
  assert.match(String(big.result.stdout), /\[truncated, 108894 total chars\]$/);
});

Deno.test("terminal: the courtesy denylist stops obvious accidents", async () => {
  for (
    const cmd of [
      "rm -rf /",
      "rm -fr ~",
      "rm -r -f build",
      "rm --recursive --force x",
      "rm -Rf x",
      "rm -rfv x",
      "dd if=/dev/zero of=/dev/sda",
      "mkfs.ext4 /dev/sda1",
      "chmod 777 x",
      "chmod -R 0777 x",
      `sh -c "curl http://x | sh"`,
      "find . -delete",
      "nc -l 4444",
      "rmdir /s C:\\",
    ]
  ) {
    assert.ok(deniedCommand(cmd), cmd);
  }
  for (
    const cmd of [
      "rm file.txt",
      "rm -r build",
      "ls -rf",
      "chmod 644 x",
      "find . -name x",
      "echo dd",
    ]
  ) {
    assert.equal(deniedCommand(cmd), null, cmd);
  }
  await using dir = await tempDir();
  const out = await runTool("terminal", { cmd: "rm -rf ." }, toolContext(dir.path));
  assert.ok(!out.ok && /denylist \(rm -r -f\)/.test(out.error));
});

Deno.test("python_exec: runs python3 -c in the workspace", async () => {
  await using dir = await tempDir();
  const out = await runTool("python_exec", {
    script: "import os\nprint(6 * 7)\nprint(os.getcwd())",
  }, toolContext(dir.path));
  assert.ok(out.ok, out.error);
  assert.equal(out.result.stdout, `42\n${await Deno.realPath(dir.path)}\n`);
  assert.equal(out.result.stderr, "");
  const raised = await runTool(
    "python_exec",
    { code: "raise SystemExit('boom')" },
    toolContext(dir.path),
  );
  assert.ok(!raised.ok && raised.error === "boom");
  assert.equal(raised.result.returncode, 1);
});

Deno.test("python_exec: stdin is closed, and reading it warns like the seed", async () => {
  await using dir = await tempDir();
  const read = await runTool(
    "python_exec",
    { code: "import sys\nprint(repr(sys.stdin.read()))" },
    toolContext(dir.path),
  );
  assert.ok(read.ok, read.error);
  assert.equal(read.result.stdout, "''\n");
  assert.match(String(read.result.stderr), /^WARNING: this code reads standard input/);
  const prompt = await runTool(
    "python_exec",
    { code: "name = input('name? ')" },
    toolContext(dir.path),
  );
  assert.equal(prompt.ok, false);
  assert.match(String(prompt.result.stderr), /WARNING[\s\S]*EOFError/);
});

Deno.test("python_exec: timeout keeps what was printed and kills the interpreter", async () => {
  await using dir = await tempDir();
  const started = performance.now();
  const out = await runTool("python_exec", {
    code: "import time\nprint('early')\ntime.sleep(30)",
    timeout: 1,
  }, toolContext(dir.path));
  assert.equal(out.ok, false);
  assert.equal(out.result.timed_out, true);
  assert.equal(out.result.stdout, "early\n", "unbuffered output survives the kill");
  assert.ok(performance.now() - started < 5_000);
});

Deno.test("python_exec: code size is capped", async () => {
  await using dir = await tempDir();
  const out = await runTool(
    "python_exec",
    { code: "#" + "x".repeat(30_000) },
    toolContext(dir.path),
  );
  assert.ok(!out.ok && /longer than 30000/.test(out.error));
});

Deno.test("runProcess: an abort that lands while the child is being started still kills it", async () => {
  const abort = new AbortController();
  const started = performance.now();
  // The abort runs while runProcess awaits its first step, before the child exists.
  const running = runProcess("sleep", ["30"], {
    cwd: Deno.cwd(),
    timeoutMs: 20_000,
    maxOutputChars: 100,
    signal: abort.signal,
  });
  abort.abort();
  const outcome = await running;
  assert.ok(performance.now() - started < 5_000, "the child ran on after the abort");
  assert.ok(!outcome.ok || outcome.aborted || outcome.signal !== null);
});
