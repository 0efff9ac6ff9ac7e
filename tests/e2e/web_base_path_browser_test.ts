/**
 * The dashboard under `/claw` of the user's own Hono app, in a real browser
 * (playwright-core driving Debian's chromium): log in with the printed path,
 * see the live indicator connect, start a run and watch it finish live, then
 * move Overview → Runs → Agents by clicking links. Every request the page
 * makes must stay under the prefix. Screenshots go to tests/.tmp/screens.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Hono } from "hono";
import { type ClawWebApp, createClaw } from "../../mod.ts";
import { tempDir } from "../helpers/temp.ts";
import { hasChromium, launchChromium, saveScreenshot } from "../helpers/browser.ts";
import { notesBrain, startBrain } from "../helpers/coordinator_brain.ts";

Deno.test({
  name: "e2e: the dashboard under /claw logs in, runs live and navigates by its own links",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using dir = await tempDir("claw-e2e-");
    const { fake, workspace, env } = await startBrain(dir.path, notesBrain({ stepDelayMs: 1000 }));
    await Deno.writeTextFile(join(workspace, "notes.txt"), "hello world\n");
    const claw = createClaw({ cwd: dir.path, env, envFile: false, home: join(dir.path, "data") });

    // The user's own site: its home page, and the dashboard under /claw.
    const site = new Hono();
    site.get("/", (c) => c.text("My app"));
    const ref: { dashboard?: ClawWebApp } = {};
    site.all("/claw/*", (c) => ref.dashboard!.fetch(c.req.raw));
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, site.fetch);
    const dashboard = ref.dashboard = claw.webApp({ port: server.addr.port, basePath: "/claw" });
    const origin = `http://127.0.0.1:${server.addr.port}`;

    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const paths: string[] = [];
      page.on("request", (request) => paths.push(new URL(request.url()).pathname));
      await page.goto(`${origin}${dashboard.loginPath}`);
      // The token traded for a cookie, and the browser left on the prefixed home page.
      assert.equal(page.url(), `${origin}/claw/`);
      await page.waitForSelector("#live-pill.on");

      await page.click("text=New run");
      await page.waitForURL(`${origin}/claw/runs/new`);
      await page.fill("textarea[name=task]", "What is the first line of notes.txt?");
      await page.check("input[name=tools][value=file_io]");
      await page.click("button:has-text('Start run')");
      await page.waitForURL(/\/claw\/runs\/[0-9a-f]{32}$/);
      await page.waitForSelector("#raw-log li:has-text('task_ingested')", { timeout: 30_000 });
      await page.waitForSelector('#run-live[data-status="ok"]', { timeout: 60_000 });
      assert.match(await page.textContent("body") ?? "", /The first line is: hello world/);

      await page.click("header nav >> text=Overview");
      await page.waitForURL(`${origin}/claw/`);
      await page.waitForSelector("#live-pill.on");
      await page.click("header nav >> text=Runs");
      await page.waitForURL(`${origin}/claw/runs`);
      await page.waitForSelector("table a.mono");
      await page.click("header nav >> text=Agents");
      await page.waitForURL(`${origin}/claw/agents`);
      await page.waitForSelector("#live-pill.on");
      assert.equal(await page.locator("table a.mono").count(), 1, "the run created one agent");
      assert.match(await page.getAttribute("table a.mono", "href") ?? "", /^\/claw\/agents\//);

      await saveScreenshot(page, "base_path_agents");
      const outside = paths.filter((p) => p !== "/claw" && !p.startsWith("/claw/"));
      assert.deepEqual(outside, [], "requests outside /claw");
      assert.ok(paths.includes("/claw/api/events/stream"), "the live stream under /claw");
      assert.ok(paths.includes("/claw/static/app.js"));
    } finally {
      await browser.close();
      await server.shutdown();
      await claw.close();
      await fake.close();
    }
  },
});
