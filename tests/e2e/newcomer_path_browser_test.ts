/**
 * The newcomer's path after the demo (issue 18), as a person would walk it:
 * `setup` on a terminal against a fake provider (a wrong key, then the right
 * one), a first real-model-shaped run from another folder that finds the
 * saved key, and that run opened in the dashboard in a browser through the
 * URL `web --run last` prints. (The demo and its dashboard command:
 * tests/integration/demo_main_test.ts.)
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { decode, HAS_SCRIPT, runCli, spawnCli, talkOnTerminal } from "../helpers/cli.ts";
import { hasChromium, launchChromium, saveScreenshot } from "../helpers/browser.ts";
import { notesBrain, startBrain } from "../helpers/coordinator_brain.ts";
import { tempDir } from "../helpers/temp.ts";

Deno.test({
  name: "e2e newcomer: setup on a terminal, a first run elsewhere, the run in the dashboard",
  ignore: !hasChromium || !HAS_SCRIPT,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using dir = await tempDir("claw-newcomer-");
    const { fake, env: brainEnv } = await startBrain(dir.path, notesBrain());
    try {
      const home = join(dir.path, "home");
      const project = join(dir.path, "project");
      Deno.mkdirSync(home);
      Deno.mkdirSync(project);
      Deno.writeTextFileSync(join(project, "notes.txt"), "hello world\n");
      const key = brainEnv.OPENAI_API_KEY;

      const setup = await talkOnTerminal(["setup"], { cwd: home, env: { HOME: home } }, [
        { expect: "Provider [", reply: "openai" },
        { expect: "Base URL [", reply: fake.baseURL },
        { expect: "API key (OPENAI_API_KEY): ", reply: "sk-typo" },
        { expect: "Type the key again?", reply: "" },
        { expect: "API key (OPENAI_API_KEY): ", reply: key },
        { expect: "Model [", reply: "1" },
      ]);
      assert.equal(setup.code, 0, setup.seen);
      assert.match(setup.seen, /Verification: OK/);

      // Another folder, only HOME in common: the run finds provider, key and base URL.
      const env = {
        HOME: home,
        CLOSED_CLAW_CREATE_APPROVAL_MODE: "approve",
        CLOSED_CLAW_API_APPROVAL_MODE: "approve",
      };
      const run = await runCli(["run", "What is the first line of notes.txt?"], {
        cwd: project,
        env,
      });
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /Task completed successfully\./);
      assert.match(run.stdout, /hello world/);
      assert.ok(fake.requests.length > 0, "the model calls went to the saved base URL");

      // The dashboard opens that run from the URL `web --run last` prints.
      const web = spawnCli(["web", "--port", "0", "--run", "last"], { cwd: project, env });
      let printed = "";
      const reader = web.stdout.getReader();
      while (!printed.includes("Press Ctrl-C")) {
        const { value, done } = await reader.read();
        if (done) break;
        printed += decode(value);
      }
      reader.releaseLock();
      const url = /Open run [0-9a-f]+: (\S+)/.exec(printed);
      assert.ok(url, printed);
      const browser = await launchChromium();
      try {
        const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
        await page.goto(url[1]);
        assert.match(new URL(page.url()).pathname, /^\/runs\/[0-9a-f]+$/);
        assert.match(await page.textContent("main") ?? "", /What is the first line of notes\.txt/);
        await saveScreenshot(page, "newcomer-first-run");
      } finally {
        await browser.close();
        web.kill("SIGINT");
        await web.output();
      }
    } finally {
      await fake.close();
    }
  },
});
