/** Shared set-up for the browser tests: Debian's chromium, its flags, and screenshots. */
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";

/** Where screenshots go (git-ignored); look at them after a change to the dashboard. */
export const SCREENS: string = new URL("../.tmp/screens/", import.meta.url).pathname;

/** Whether Debian's chromium is installed (`.ci/run` installs it). */
export const hasChromium: boolean = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

/** Starts headless chromium with the flags this machine needs. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * Saves a full-page screenshot named `name` for a human to look at. Headless
 * Chromium now and then never finishes a full-page capture; then the visible
 * part is saved instead, and a capture that still fails is reported, not
 * fatal (screenshots are records, the assertions are the test).
 */
export async function saveScreenshot(page: Page, name: string): Promise<void> {
  Deno.mkdirSync(SCREENS, { recursive: true });
  const path = join(SCREENS, `${name}.png`);
  try {
    await page.screenshot({ path, fullPage: true, animations: "disabled", timeout: 20_000 });
  } catch {
    try {
      await page.screenshot({ path, animations: "disabled", timeout: 20_000 });
    } catch (error) {
      console.warn(`screenshot ${path} not saved: ${(error as Error).message.split("\n")[0]}`);
    }
  }
}
