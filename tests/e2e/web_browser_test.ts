/**
 * The dashboard in a real browser (playwright-core driving Debian's chromium):
 * log in with the token URL, start a run from the form against the fake LLM
 * and watch it progress live, approve a pending approval, cancel a run, and
 * delete an agent. Each test saves a screenshot under tests/.tmp/screens.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { createCapsule } from "../../capsule_runtime/factory.ts";
import { openStore, type Store } from "../../store/mod.ts";
import { startWebServer, type WebServer } from "../../web/server.ts";
import { coordinatorForWeb } from "../../web/coordinator_adapter.ts";
import type { WebDeps } from "../../web/deps.ts";
import { tempDir } from "../helpers/temp.ts";
import { hasChromium, launchChromium, saveScreenshot } from "../helpers/browser.ts";
import { type Brain, notesBrain, startBrain } from "../helpers/coordinator_brain.ts";

interface Dashboard extends AsyncDisposable {
  server: WebServer;
  store: Store;
  page: Page;
  workspace: string;
  agentsDir: string;
  runLogsDir: string;
  brain: Brain;
  screenshot(name: string): Promise<void>;
}

/** A dashboard with the real coordinator, a fake OpenAI brain and a logged-in browser page. */
async function openDashboard(brain: Brain, env: Record<string, string> = {}): Promise<Dashboard> {
  const dir = await tempDir("claw-e2e-");
  const { fake, settings, workspace } = await startBrain(dir.path, brain, env);
  Deno.mkdirSync(settings.homeDir, { recursive: true });
  const store = openStore(settings.dbPath);
  const deps: WebDeps = { settings, store, coordinator: null };
  deps.coordinator = coordinatorForWeb(deps);
  const server = startWebServer(deps, { port: 0 });
  const browser: Browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(server.loginUrl);
  return {
    server,
    store,
    page,
    workspace,
    agentsDir: settings.agentsDir,
    runLogsDir: settings.runLogsDir,
    brain,
    screenshot: (name) => saveScreenshot(page, name),
    async [Symbol.asyncDispose]() {
      await browser.close();
      await server.shutdown();
      await fake.close();
      store.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

const readNotes = notesBrain();

async function waitForStatus(page: Page, status: string, timeout = 60_000) {
  await page.waitForSelector(`#run-live[data-status="${status}"]`, { timeout });
}

Deno.test({
  name: "e2e: log in with the token URL, start a run from the form, watch it finish live",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using d = await openDashboard(notesBrain({ stepDelayMs: 1500 }));
    await Deno.writeTextFile(join(d.workspace, "notes.txt"), "hello world\n");
    // The token left the address bar; the cookie carries it.
    assert.equal(new URL(d.page.url()).search, "");
    await d.page.waitForSelector("#live-pill.on");
    await d.page.click("text=New run");
    await d.page.fill("textarea[name=task]", "What is the first line of notes.txt?");
    await d.page.check("input[name=tools][value=file_io]");
    await d.page.selectOption("select[name=create_approval_mode]", "approve");
    await d.page.click("button:has-text('Start run')");
    await d.page.waitForURL(/\/runs\/[0-9a-f]{32}$/);
    // Run-log lines stream into the raw log while the run is going.
    await d.page.waitForSelector("#raw-log li:has-text('task_ingested')", { timeout: 30_000 });
    await d.page.waitForSelector("#raw-log li:has-text('subtask_attempt_started')", {
      timeout: 30_000,
    });
    assert.equal(await d.page.getAttribute("#run-live", "data-status"), "running");
    await d.screenshot("run_live");
    await waitForStatus(d.page, "ok");
    const body = await d.page.textContent("body");
    assert.match(body ?? "", /The first line is: hello world/);
    assert.match(body ?? "", /file_io/);
    const runId = d.page.url().split("/").pop()!;
    const row = d.store.runs.get(runId)!;
    assert.equal(row.status, "ok");
    assert.deepEqual(row.options.toolsAllowed ?? row.options.tools_allowed ?? ["file_io"], [
      "file_io",
    ]);
    await d.screenshot("run_finished");
    await d.page.setViewportSize({ width: 390, height: 844 });
    await d.page.goto(`${d.server.url}/`);
    await d.screenshot("overview_phone");
  },
});

/** The stage timeline's event count for `stage`, as shown. */
async function stageEvents(page: Page, stage: string): Promise<number> {
  return Number(await page.getAttribute(`.timeline li[data-stage="${stage}"]`, "data-events"));
}

/** Waits until the timeline counts at least one event for `stage`. */
function waitForStageCount(page: Page, stage: string, timeout: number) {
  return page.waitForSelector(
    `.timeline li[data-stage="${stage}"]:not([data-events="0"])`,
    { timeout },
  );
}

Deno.test({
  name:
    "e2e: run detail keeps the timeline in step with the raw log, shows every event, and stays put once finished",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using d = await openDashboard(notesBrain({ stepDelayMs: 2000 }));
    await Deno.writeTextFile(join(d.workspace, "notes.txt"), "hello world\n");
    await d.page.goto(`${d.server.url}/runs/new`);
    await d.page.fill("textarea[name=task]", "What is the first line of notes.txt?");
    await d.page.selectOption("select[name=create_approval_mode]", "approve");
    await d.page.click("button:has-text('Start run')");
    await d.page.waitForURL(/\/runs\/[0-9a-f]{32}$/);
    const runId = d.page.url().split("/").pop()!;
    // Mid-run: once the plan is in the raw log, the timeline counts it within a round trip.
    await d.page.waitForSelector("#raw-log li:has-text('task_plan_created')", { timeout: 30_000 });
    await waitForStageCount(d.page, "plan", 2_000);
    await d.page.waitForSelector("#raw-log li:has-text('subtask_attempt_started')", {
      timeout: 30_000,
    });
    await waitForStageCount(d.page, "execute", 2_000);
    assert.equal(await d.page.getAttribute("#run-live", "data-status"), "running");
    await d.screenshot("run_detail_mid");
    await waitForStatus(d.page, "ok");
    // The page reloads once at the end; then it must stay put.
    await d.page.waitForSelector("body[data-run-ended='1']", { timeout: 10_000 });
    let loads = 0;
    d.page.on("load", () => loads++);
    await d.page.waitForTimeout(1_500);
    assert.ok(loads <= 1, `a finished run's page reloaded ${loads} times in 1.5 s`);
    await d.page.waitForSelector("body[data-run-ended='1']");
    const lines = Deno.readTextFileSync(join(d.runLogsDir, `${runId}.jsonl`)).trim().split("\n");
    assert.ok(lines.length > 20, `only ${lines.length} log lines`);
    assert.equal(await d.page.locator("#raw-log li").count(), lines.length);
    assert.equal(await d.page.textContent("#raw-log-count"), `(${lines.length} events)`);
    // Nothing is hidden in a scroll box: the whole list is on the page.
    const clipped = await d.page.$eval("#raw-log", (el) => el.scrollHeight > el.clientHeight + 1);
    assert.equal(clipped, false);
    const last = JSON.parse(lines.at(-1)!).event as string;
    assert.ok(await d.page.isVisible(`#raw-log li:last-child :text("${last}")`));
    // The timeline's counts add up to every event it maps.
    assert.ok((await stageEvents(d.page, "synthesize")) >= 1);
    // Opening a line shows its whole payload.
    await d.page.click("#raw-log li:has-text('task_plan_created') summary");
    assert.match(
      await d.page.textContent("#raw-log li:has-text('task_plan_created') pre") ?? "",
      /"subtasks": \[/,
    );
    await d.screenshot("run_detail_finished");
  },
});

Deno.test({
  name: "e2e: approve a pending approval from the dashboard",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const roles = { current: "file-reader" };
    const brain = notesBrain();
    brain.plan = (phase, prompt) => notesBrain({ role: roles.current }).plan(phase, prompt);
    // A file reader is asked about only when every new agent is (the default asks about risky ones).
    await using d = await openDashboard(brain, {
      CLOSED_CLAW_CREATE_APPROVAL_REQUIRED: "true",
      CLOSED_CLAW_AGENT_APPROVAL_SCOPE: "all",
    });
    await Deno.writeTextFile(join(d.workspace, "notes.txt"), "hello world\n");
    // A first run (auto-approved) creates a file reader; a second run for an
    // unrelated role then needs approval to create another agent.
    const first = await d.page.evaluate(async () => {
      const response = await fetch("/api/runs", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ task: "Read notes.txt", create_approval_mode: "approve" }),
      });
      return (await response.json()).run_id as string;
    });
    for (let i = 0; i < 300 && d.store.runs.get(first)?.status === "running"; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(d.store.runs.get(first)?.status, "ok");
    roles.current = "weather-forecaster";
    await d.page.goto(`${d.server.url}/runs/new`);
    await d.page.fill("textarea[name=task]", "What is the first line of notes.txt?");
    await d.page.click("button:has-text('Start run')");
    await d.page.waitForURL(/\/runs\/[0-9a-f]{32}$/);
    // The badge goes live, then the approval shows on the run page.
    await d.page.waitForSelector("#approvals-badge:not([data-count='0'])", { timeout: 30_000 });
    await d.page.waitForSelector("button:has-text('Approve')", { timeout: 30_000 });
    // The pending request counts down to its deadline (countdown.js), and offers Always.
    const shown = await d.page.textContent("[data-deadline]");
    assert.match(shown ?? "", /^\d+:\d\d left$/);
    let ticked = shown;
    for (let i = 0; i < 50 && ticked === shown; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ticked = await d.page.textContent("[data-deadline]");
    }
    assert.notEqual(ticked, shown, "the countdown ticks");
    assert.ok(await d.page.isVisible("button:has-text('Always')"));
    await d.screenshot("approval_pending");
    await d.page.click("button:has-text('Approve')");
    await waitForStatus(d.page, "ok");
    const runId = d.page.url().split("/").pop()!;
    const approvals = d.store.approvals.list({ runId });
    assert.equal(approvals[0].status, "approved");
    assert.equal(approvals[0].operator, "dashboard");
    await d.screenshot("approval_done");
  },
});

Deno.test({
  name: "e2e: cancel a running run",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const slow: Brain = { ...readNotes, agent: () => ({ delayMs: 60_000, text: "{}" }) };
    await using d = await openDashboard(slow);
    await d.page.goto(`${d.server.url}/runs/new`);
    await d.page.fill("textarea[name=task]", "Read notes.txt very slowly");
    await d.page.selectOption("select[name=create_approval_mode]", "approve");
    await d.page.click("button:has-text('Start run')");
    await d.page.waitForURL(/\/runs\/[0-9a-f]{32}$/);
    await d.page.waitForSelector("#raw-log li:has-text('subtask_attempt_started')", {
      timeout: 30_000,
    });
    d.page.once("dialog", (dialog) => dialog.accept());
    await d.page.click("button:has-text('Cancel')");
    await waitForStatus(d.page, "cancelled", 30_000);
    await d.screenshot("run_cancelled");
  },
});

Deno.test({
  name: "e2e: delete an agent, and the theme toggle switches to dark",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using d = await openDashboard(readNotes);
    const agent = createCapsule(d.agentsDir, {
      name: "Doomed agent",
      description: "About to be deleted",
      tools_allowlist: ["file_io"],
    });
    d.store.agents.upsertManifest(agent);
    await d.page.goto(`${d.server.url}/agents`);
    await d.page.click(`a:has-text('${agent.agent_id}')`);
    await d.page.waitForSelector("text=Deno flags of its capsule");
    assert.match(await d.page.textContent(".flags") ?? "", /--allow-read=/);
    await d.page.click("#theme-toggle");
    const theme = await d.page.getAttribute("html", "data-theme");
    assert.ok(theme === "dark" || theme === "light");
    await d.screenshot("agent_detail");
    d.page.once("dialog", (dialog) => dialog.accept());
    await d.page.click("button:has-text('Delete agent')");
    await d.page.waitForURL(`${d.server.url}/agents`);
    assert.equal(d.store.agents.get(agent.agent_id), null);
    assert.match(await d.page.textContent("main") ?? "", /No agents yet/);
    await d.screenshot("agents_after_delete");
  },
});

Deno.test({
  name: "e2e: the tool tester shows a failure, not a green Done, when the tool did not run",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using d = await openDashboard(readNotes);
    await d.page.goto(`${d.server.url}/tools`);
    // `{}` is not a valid file_io call: the host refuses it, the tool never runs.
    const form = d.page.locator("form[data-json-form$='/api/tools/file_io/test']");
    await form.locator("button[type=submit]").click();
    await d.page.waitForSelector("#flash.error", { timeout: 60_000 });
    const flash = await d.page.textContent("#flash") ?? "";
    assert.match(flash, /^file_io test failed: /);
    assert.ok(!flash.includes("Done."));
    const out = JSON.parse(await d.page.textContent("#out-file_io") ?? "{}");
    assert.equal(out.ok, false);
    await d.screenshot("tool_test_failed");
  },
});
