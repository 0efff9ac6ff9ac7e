/**
 * A finished run's page in a real browser: the trace waterfall renders and a
 * span's details open, the Tool calls table previews each result, the subtask
 * graph links its nodes to their waterfall groups, and the cost-per-subtask
 * chart is drawn; the overview draws tokens and cost by model and by agent.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { startRun } from "../../coordinator/mod.ts";
import { openStore } from "../../store/mod.ts";
import { startWebServer } from "../../web/server.ts";
import { coordinatorForWeb } from "../../web/coordinator_adapter.ts";
import type { WebDeps } from "../../web/deps.ts";
import { tempDir } from "../helpers/temp.ts";
import { hasChromium, launchChromium, saveScreenshot } from "../helpers/browser.ts";
import { notesBrain, startBrain } from "../helpers/coordinator_brain.ts";

Deno.test({
  name: "e2e: a run's waterfall, span details, tool result preview and cost per subtask",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using dir = await tempDir("claw-e2e-trace-");
    const { fake, settings, workspace } = await startBrain(dir.path, notesBrain());
    await Deno.writeTextFile(join(workspace, "notes.txt"), "hello world\nsecond line\n");
    Deno.mkdirSync(settings.homeDir, { recursive: true });
    const store = openStore(settings.dbPath);
    const deps: WebDeps = { settings, store, coordinator: null };
    deps.coordinator = coordinatorForWeb(deps);
    const server = startWebServer(deps, { port: 0 });
    let browser: Browser | null = null;
    try {
      const run = startRun({ settings, store }, {
        task: "What is the first line of notes.txt?",
      });
      const outcome = await run.done;
      assert.equal(outcome.status, "ok", outcome.error);
      // One more priced call for the subtask, from a model of its own, for the overview's charts.
      store.llmCalls.insert({
        run_id: run.runId,
        task_id: "execute-read-notes",
        agent_id: null,
        purpose: "agent_step",
        provider: "openai",
        model: "priced-model",
        input_tokens: 1200,
        output_tokens: 300,
        cost_usd: 0.0123,
        latency_ms: 40,
        outcome: "ok",
        error: "",
      });

      browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(server.loginUrl);
      await page.goto(`${server.url}/runs/${run.runId}`);

      // The waterfall: a run group and the subtask's group, which the graph node links to.
      await page.waitForSelector(".waterfall .span-group#trace-group-run");
      assert.ok(await page.locator(".waterfall .span-row").count() > 2);
      assert.equal(await page.locator("#trace-group-execute-read-notes").count(), 1);
      const link = page.locator(".graph a.node-link").first();
      assert.equal(await link.getAttribute("href"), "#trace-group-execute-read-notes");
      const node = await page.textContent(".graph g.node[data-task-id='execute-read-notes']");
      // The node shows the subtask's status, duration and agent.
      assert.match(node ?? "", /completed · \d+(\.\d+)? m?s/);
      assert.match(node ?? "", /file-reader-/);

      // A span's details panel opens on a click.
      const row = page.locator("#trace-group-execute-read-notes details.span-row").first();
      assert.equal(await row.locator(".span-details").isVisible(), false);
      await row.locator("summary").click();
      await row.locator(".span-details").waitFor({ state: "visible" });
      assert.match(await row.locator(".span-details").textContent() ?? "", /Duration/);

      // The Tool calls table previews the result of the file_io read.
      const preview = page.locator(".tool-result-preview").first();
      await preview.waitFor();
      assert.match(await preview.textContent() ?? "", /hello world/);

      // The cost-per-subtask chart has a bar for the subtask: the sum of its model calls.
      const spent = store.llmCalls.listForRun(run.runId)
        .filter((m) => m.task_id === "execute-read-notes")
        .reduce((n, m) => n + m.cost_usd, 0);
      await page.waitForSelector("#subtask-cost svg.chart-bars rect.bar");
      assert.match(
        await page.textContent("#subtask-cost svg.chart-bars title") ?? "",
        new RegExp(`execute-read-notes: \\$${spent.toFixed(4)}`),
      );
      await saveScreenshot(page, "run_trace");

      // The overview: tokens and cost by model and by agent.
      await page.goto(`${server.url}/`);
      const model = page.locator("#usage-by-model .usage-series[data-key='openai/priced-model']");
      assert.match(await model.locator("h3").textContent() ?? "", /1500 tokens/);
      assert.equal(await model.locator("svg.chart-bars rect.bar").count(), 24);
      const agent = page.locator("#usage-by-agent .usage-series[data-key='coordinator']");
      assert.match(await agent.locator("h3").textContent() ?? "", /\d+ tokens/);
      await saveScreenshot(page, "overview_usage");
    } finally {
      await browser?.close();
      await server.shutdown();
      await fake.close();
      store.close();
    }
  },
});
