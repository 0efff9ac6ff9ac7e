/**
 * The interactive menu, driven as a user would: through piped input, and
 * through a real pseudo-terminal (tmux) with arrow keys, numbers and Ctrl-C.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliArgs, runCli } from "../helpers/cli.ts";
import { tempDir, testSettings } from "../helpers/temp.ts";
import { createCapsule } from "../../capsule_runtime/factory.ts";
import { openStore } from "../../store/mod.ts";
import { parseChoice, splitKeys } from "../../cli/menu.ts";

Deno.test("menu choices: numbers, names and prefixes; anything else is refused", () => {
  assert.equal(parseChoice("3"), 3);
  assert.equal(parseChoice("doctor"), 3);
  assert.equal(parseChoice("Run"), 4);
  assert.equal(parseChoice("resume"), 15);
  assert.equal(parseChoice("exit"), 16);
  assert.equal(parseChoice("quit"), 16);
  assert.equal(parseChoice("17"), null);
  assert.equal(parseChoice("0"), null);
  assert.equal(parseChoice("nonsense"), null);
  assert.equal(parseChoice(""), null);
});

Deno.test("key presses that arrive together are split into single keys", () => {
  assert.deepEqual(splitKeys("\x1b[B\x1b[B\r"), ["\x1b[B", "\x1b[B", "\r"]);
  assert.deepEqual(splitKeys("\x1bOA1"), ["\x1bOA", "1"]);
  assert.deepEqual(splitKeys("\x1b"), ["\x1b"]);
});

Deno.test("piped input: the menu reads answers line by line and runs the commands", async () => {
  await using dir = await tempDir();
  const settings = testSettings(dir.path);
  const store = openStore(settings.dbPath);
  const agent = createCapsule(settings.agentsDir, {
    name: "Reader",
    description: "reads files",
    tools_allowlist: ["file_io"],
  });
  store.agents.upsertManifest(agent);
  store.close();
  const env = { CLOSED_CLAW_HOME: join(dir.path, ".closed_claw") };
  // Agent details, a bad choice, Delete agent (confirmed), List agents, then Exit.
  const input = ["6", agent.agent_id, "bogus", "11", agent.agent_id, "yes", "5", "", "16", ""]
    .join("\n");
  const result = await runCli([], { cwd: dir.path, env, stdin: input });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /16 {2}Exit/);
  assert.match(result.stdout, new RegExp(`Agent ${agent.agent_id}|${agent.agent_id}`));
  assert.match(result.stdout, /"bogus" is not a choice/);
  assert.match(result.stdout, /No agents yet/, "the agent was deleted, so the list is empty");
  assert.match(result.stdout, /Bye\.\s*$/);
});

Deno.test("piped input: id questions list the recent runs and agents to pick by number", async () => {
  await using dir = await tempDir();
  const settings = testSettings(dir.path);
  const store = openStore(settings.dbPath);
  const agent = createCapsule(settings.agentsDir, {
    name: "Lister",
    description: "lists files",
    tools_allowlist: ["file_io"],
  });
  store.agents.upsertManifest(agent);
  store.runs.create({ run_id: "beef0001", task: "an older run", owner_pid: 999_999_999 });
  await new Promise((r) => setTimeout(r, 5));
  store.runs.create({ run_id: "beef0002", task: "the newest run", owner_pid: 999_999_999 });
  store.close();
  const env = { CLOSED_CLAW_HOME: join(dir.path, ".closed_claw") };
  // Agent details: pick 1; Stop a run: pick 2 (the older run); Resume a run: `last`; Exit.
  const input = ["6", "1", "13", "2", "15", "last", "16", ""].join("\n");
  const result = await runCli([], { cwd: dir.path, env, stdin: input });
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /Recent agents \(type a number, an id or its first characters, or last\):/,
  );
  assert.match(result.stdout, new RegExp(`  1  ${agent.agent_id} .*lists files`));
  assert.match(result.stdout, new RegExp(`Lister .*\\(${agent.agent_id}\\)`), "agent 1 was shown");
  assert.match(
    result.stdout,
    / {2}1 {2}beef0002 .*the newest run\n {2}2 {2}beef0001 .*an older run/,
  );
  // The older run had lost its process: stopping it closes it as cancelled.
  assert.match(result.stdout, /Cancelled run beef0001\./);
  // Resume `last` is the newest run, whose process died: it is resumed (and fails fast here).
  assert.match(result.stdout + result.stderr, /beef0002/);
});

Deno.test("piped input: Run task asks only the task unless advanced options are wanted; each answer is checked as typed", async () => {
  await using dir = await tempDir();
  const env = { CLOSED_CLAW_HOME: join(dir.path, ".closed_claw") };
  const input = [
    "4",
    "Summarise notes.txt",
    "y",
    "", // session
    "{not json", // context: refused at once, asked again
    '{"team":"docs"}',
    "sometimes", // create mode: refused, asked again
    "approve",
    "", // paid-API mode
    "anthropic", // an alias of claude
    "", // model
    "16",
    "",
  ].join("\n");
  const result = await runCli([], { cwd: dir.path, env, stdin: input });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /Advanced options \(session, context, approvals, model\)\? \[y\/N\]/);
  assert.match(
    result.stdout,
    /--context-json is not valid JSON: .* Try again, or press Enter to skip\./,
  );
  assert.match(result.stdout, /"sometimes" is not one of interactive, approve, deny, web\./);
  // The task survived the mistakes: the run started, with the checked options (no Claude key here).
  assert.match(result.stderr, /ANTHROPIC_API_KEY/);
  const quick = await runCli([], {
    cwd: dir.path,
    env,
    stdin: ["4", "Hi", "", "16", ""].join("\n"),
  });
  assert.ok(!quick.stdout.includes("Session id"), "no advanced questions unless asked");
  assert.match(quick.stderr, /OPENAI_API_KEY|API key/);
});

Deno.test("piped input: end of input in the middle of a question leaves cleanly", async () => {
  await using dir = await tempDir();
  const env = { CLOSED_CLAW_HOME: join(dir.path, ".closed_claw") };
  const result = await runCli([], { cwd: dir.path, env, stdin: "4\n" });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /Task: /);
  assert.match(result.stdout, /Bye\./);
  assert.equal(result.stderr, "");
});

const hasTmux = new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" })
  .output().then((o) => o.success, () => false);

async function tmux(...args: string[]): Promise<string> {
  const out = await new Deno.Command("tmux", { args, stdout: "piped", stderr: "piped" }).output();
  return new TextDecoder().decode(out.stdout);
}

/** Waits until the pane shows `pattern` (a pty is asynchronous). */
async function waitForPane(session: string, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let screen = "";
  while (Date.now() < deadline) {
    screen = await tmux("capture-pane", "-t", session, "-p", "-S", "-200");
    if (pattern.test(screen)) return screen;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`pane never showed ${pattern}; it shows:\n${screen}`);
}

Deno.test({
  name: "a terminal: arrow keys and Enter choose, numbers jump, Ctrl-C in a question exits",
  ignore: !(await hasTmux),
  async fn() {
    await using dir = await tempDir();
    const session = `menu-${crypto.randomUUID().slice(0, 8)}`;
    const command = [
      `cd ${dir.path}`,
      `CLOSED_CLAW_HOME=${join(dir.path, ".closed_claw")} ${Deno.execPath()} ${
        cliArgs([]).join(" ")
      }`,
      "echo EXITED=$?",
      "sleep 60",
    ].join("; ");
    await tmux("new-session", "-d", "-s", session, "-x", "110", "-y", "45", command);
    try {
      await waitForPane(session, /q quit/);
      await tmux("send-keys", "-t", session, "Down", "Down");
      await waitForPane(session, />\s+3 {2}Doctor/);
      await tmux("send-keys", "-t", session, "Enter");
      await waitForPane(session, /OK\s+embedder/);
      // Back in the menu: jump with digits to "Agent details", then Ctrl-C at its question.
      await waitForPane(session, /q quit\s*$/);
      await tmux("send-keys", "-t", session, "6");
      await waitForPane(session, />\s+6 {2}Agent details/);
      await tmux("send-keys", "-t", session, "Enter");
      await waitForPane(session, /Agent id:\s*$/m);
      await tmux("send-keys", "-t", session, "C-c");
      const screen = await waitForPane(session, /EXITED=\d+/);
      assert.match(screen, /Bye\./);
      assert.match(screen, /EXITED=0/);
    } finally {
      await tmux("kill-session", "-t", session);
    }
  },
});
