/**
 * `deno task demo`: a whole run with no key and no network. The model's
 * replies are replayed from demo/cassette.json; everything else is real: the
 * coordinator plans and routes, three agent capsules start as sandboxed
 * subprocesses, their file tools read and write a copy of demo/workspace, an
 * agent-creation approval is decided by policy, and the answer is synthesized.
 */
import { join } from "node:path";
import { CASSETTE, DEMO_HOME, DEMO_WORKSPACE, prepareDemoRoot, runDemoCli } from "./_demo.ts";

/** The id of the demo's run (its run log's name), or null when none was written. */
function demoRunId(): string | null {
  try {
    const logs = [...Deno.readDirSync(join(DEMO_HOME, "runs"))]
      .filter((e) => e.isFile && e.name.endsWith(".jsonl"));
    return logs.length === 1 ? logs[0].name.slice(0, -".jsonl".length) : null;
  } catch {
    return null;
  }
}

await prepareDemoRoot();
console.log(
  "Closed Claw demo: the model replies are replayed from demo/cassette.json; the capsules,\n" +
    "their tools and the sandbox run for real on a copy of demo/workspace.\n",
);
const started = performance.now();
const status = await runDemoCli(["--replay", CASSETTE], {});
const seconds = ((performance.now() - started) / 1000).toFixed(1);
try {
  const report = await Deno.readTextFile(join(DEMO_WORKSPACE, "todo_report.md"));
  console.log(`\nThe capsule wrote ${join(DEMO_WORKSPACE, "todo_report.md")}:\n\n${report}`);
} catch {
  console.log("\nNo report was written.");
}
console.log(`Demo finished in ${seconds} s.`);
const runId = demoRunId();
if (runId) {
  console.log(
    `\nSee this run in the dashboard (it prints the URL to open):\n` +
      `  CLOSED_CLAW_HOME=${DEMO_HOME} deno task web --run ${runId}`,
  );
}
Deno.exit(status.code);
