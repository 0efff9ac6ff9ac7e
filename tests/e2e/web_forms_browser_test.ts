/**
 * The dashboard's forms in a real browser (playwright-core driving Debian's
 * chromium): a bad value is shown next to its field, which is focused and
 * scrolled into view; yes/no settings are switches; settings with no effect
 * are not offered; a degraded health says why and links to the fix.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { loadSettings } from "../../core/settings.ts";
import { openStore, type Store } from "../../store/mod.ts";
import { startWebServer, type WebServer } from "../../web/server.ts";
import type { WebDeps } from "../../web/deps.ts";
import { tempDir } from "../helpers/temp.ts";
import { hasChromium, launchChromium, saveScreenshot } from "../helpers/browser.ts";

interface Forms extends AsyncDisposable {
  server: WebServer;
  page: Page;
  deps: WebDeps;
  cwd: string;
}

/** A dashboard over an empty data folder (no key set), and a logged-in page of a short window. */
async function openForms(): Promise<Forms> {
  const dir = await tempDir("claw-forms-");
  const load = () =>
    loadSettings({
      cwd: dir.path,
      configDir: join(dir.path, "config"),
      env: { CLOSED_CLAW_HOME: join(dir.path, "data") },
    });
  const settings = load();
  Deno.mkdirSync(settings.homeDir, { recursive: true });
  const store: Store = openStore(settings.dbPath);
  const deps: WebDeps = {
    settings,
    store,
    coordinator: null,
    reloadSettings: () => {
      deps.settings = load();
    },
  };
  const server = startWebServer(deps, { port: 0 });
  const browser: Browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1100, height: 600 } });
  await page.goto(server.loginUrl);
  return {
    server,
    page,
    deps,
    cwd: dir.path,
    async [Symbol.asyncDispose]() {
      await browser.close();
      await server.shutdown();
      store.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

/** Whether the element is inside the window, as the user sees it. */
function inView(page: Page, selector: string): Promise<boolean> {
  return page.evaluate(`(() => {
    const r = document.querySelector(${JSON.stringify(selector)}).getBoundingClientRect();
    return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0;
  })()`);
}

Deno.test({
  name: "e2e forms: a bad setting is shown next to its field, focused and scrolled into view",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using f = await openForms();
    const name = "CLOSED_CLAW_MAX_PARALLEL_AGENTS";
    await f.page.goto(`${f.server.url}/settings`);
    await f.page.fill(`input[name=${name}]`, "lots");
    // Submit from the top of the page: the field is far below the window.
    await f.page.evaluate("window.scrollTo(0, 0)");
    await f.page.click("#settings-form button[type=submit]");
    const error = await f.page.waitForSelector(`#error-${name}`);
    assert.match(await error.textContent() ?? "", /expected a whole number from 1 to 64/);
    assert.equal(await f.page.getAttribute(`input[name=${name}]`, "aria-invalid"), "true");
    assert.equal(await f.page.evaluate('document.activeElement?.getAttribute("name")'), name);
    assert.ok(await inView(f.page, `input[name=${name}]`), "the field is scrolled into view");
    assert.ok(await inView(f.page, `#error-${name}`), "its message is in view too");
    // The message sits right under the field, in its label, not in a banner at the top.
    assert.equal(
      await f.page.$eval(`#error-${name}`, (el) => el.previousElementSibling?.getAttribute("name")),
      name,
    );
    assert.equal((await f.page.textContent("#flash"))?.trim(), "");
    await saveScreenshot(f.page, "forms-inline-error");

    // Fixing it clears the message and saves.
    await f.page.fill(`input[name=${name}]`, "3");
    await f.page.click("#settings-form button[type=submit]");
    await f.page.waitForSelector("#flash.ok");
    assert.equal(await f.page.$(`#error-${name}`), null);
    assert.equal(f.deps.settings.maxParallelAgents, 3);
  },
});

Deno.test({
  name: "e2e forms: yes/no settings are switches, choices are selects, no-effect settings hidden",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using f = await openForms();
    await f.page.goto(`${f.server.url}/settings`);
    const name = "CLOSED_CLAW_SYNTHESIZE_SINGLE";
    const toggle = `input[name=${name}]`;
    assert.equal(await f.page.getAttribute(toggle, "role"), "switch");
    assert.equal(await f.page.getAttribute(toggle, "type"), "checkbox");
    assert.equal(await f.page.isChecked(toggle), false);
    // Every yes/no setting is a switch; every choice a select.
    assert.equal(
      await f.page.$$eval(
        "#settings-form input[type=text]",
        (els) => els.filter((el) => /^(true|false)$/.test(el.getAttribute("value") ?? "")).length,
      ),
      0,
    );
    assert.equal(
      await f.page.$$eval("select[name=CLOSED_CLAW_CREATE_APPROVAL_MODE]", (e) => e.length),
      1,
    );
    // Kept for compatibility only: not offered.
    assert.equal(await f.page.$("[name=CLOSED_CLAW_REQUIRE_SQLITE_VEC]"), null);
    assert.equal(await f.page.$("[name=CLOSED_CLAW_TASK_POOL_POLL_INTERVAL_SEC]"), null);

    await f.page.click(toggle);
    await f.page.click("#settings-form button[type=submit]");
    await f.page.waitForSelector("#flash.ok");
    assert.match(await f.page.textContent("#flash") ?? "", /Saved 1 setting/);
    assert.match(
      Deno.readTextFileSync(join(f.cwd, ".env")),
      /^CLOSED_CLAW_SYNTHESIZE_SINGLE=true$/m,
    );
    assert.equal(f.deps.settings.synthesizeSingle, true);
    await saveScreenshot(f.page, "forms-switch");

    // The overview's degraded health says why and links to the page that fixes it.
    await f.page.goto(`${f.server.url}/`);
    const problems = await f.page.textContent("#health-problems") ?? "";
    assert.match(problems, /No API key for openai: OPENAI_API_KEY is not set\./);
    const href = await f.page.getAttribute("#health-problems a[href$='/settings']", "href");
    assert.equal(href, "/settings");
  },
});
