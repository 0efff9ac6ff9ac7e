/** `deno task demo`: the shipped cassette still replays a whole run with real capsules. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseRunLog } from "../../coordinator/run_log.ts";
import { CONFIG, spawnCli, taskFlags } from "../helpers/cli.ts";

const DEMO = new URL("../../demo/main.ts", import.meta.url).pathname;

Deno.test("the demo replays its cassette: two phases, three capsules, an approval, a report", async () => {
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...taskFlags("demo"), "--config", CONFIG, DEMO],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, stdout + new TextDecoder().decode(out.stderr));
  assert.ok(performance.now() - started < 10_000, "under 10 s");
  assert.match(stdout, /Task completed successfully\./);
  const report = await Deno.readTextFile("/tmp/closed-claw-demo/workspace/todo_report.md");
  assert.match(report, /1\. \[ \] Fix the login timeout bug \(high\) — owner: Ana/);
  const runs = "/tmp/closed-claw-demo/data/runs";
  const [log] = [...Deno.readDirSync(runs)].filter((e) => e.name.endsWith(".jsonl"));
  const events = parseRunLog(await Deno.readTextFile(join(runs, log.name)));
  const names = events.map((e) => e.event);
  assert.equal(names.filter((n) => n === "agent_created_for_role").length, 3);
  assert.equal(names.filter((n) => n === "capsule_started").length, 3);
  assert.ok(names.includes("approval_request") && names.includes("create_gate_decision"));
  const synthesis = events.find((e) => e.event === "synthesis_complete")!;
  assert.equal(synthesis.payload.llm_synthesized, true);

  // It ends with the command that opens its run in the dashboard, and that command works.
  const runId = log.name.replace(/\.jsonl$/, "");
  const command = `CLOSED_CLAW_HOME=/tmp/closed-claw-demo/data deno task web --run ${runId}`;
  assert.ok(stdout.trimEnd().endsWith(`  ${command}`), stdout);
  const web = spawnCli(["web", "--port", "0", "--run", runId.slice(0, 8)], {
    cwd: "/tmp/closed-claw-demo",
    env: { CLOSED_CLAW_HOME: "/tmp/closed-claw-demo/data" },
  });
  let printed = "";
  const reader = web.stdout.getReader();
  while (!printed.includes("Press Ctrl-C")) {
    const { value, done } = await reader.read();
    if (done) break;
    printed += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const url = new RegExp(`Open run ${runId}: (\\S+/runs/${runId}\\?token=\\S+)`).exec(printed);
  assert.ok(url, printed);
  const login = await fetch(url[1], { redirect: "manual" });
  await login.body?.cancel();
  assert.equal(login.status, 303);
  const location = new URL(login.headers.get("location")!, url[1]);
  assert.equal(location.pathname, `/runs/${runId}`);
  const cookie = login.headers.get("set-cookie")!.split(";")[0];
  const page = await fetch(location, { headers: { cookie } });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /Read the project notes/);
  web.kill("SIGINT");
  await web.output();
});
