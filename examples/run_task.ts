/**
 * Runs one task with Closed Claw in a fresh temporary data folder and prints
 * the answer. The provider and its key come from the environment or `.env`,
 * as for the CLI (e.g. `CLOSED_CLAW_LLM_PROVIDER=openai OPENAI_API_KEY=...`);
 * capsules work in the current folder unless `CLOSED_CLAW_WORKSPACE` says otherwise.
 *
 *     deno run -A examples/run_task.ts "What is the first line of README.md?"
 *
 * Progress (run-log event names) goes to stderr, the answer to stdout.
 */
import { ClosedClawError, createClaw } from "../mod.ts";

const task = Deno.args.join(" ") || "List the files in this folder.";
const home = await Deno.makeTempDir({ prefix: "closed-claw-example-" });
try {
  await using claw = createClaw({ home });
  const run = claw.stream(task);
  for await (const event of run) console.error(`· ${event.event}`);
  const outcome = await run.done;
  if (outcome.status !== "ok") {
    console.error(`Run ${outcome.runId} ended with ${outcome.status}: ${outcome.error}`);
    Deno.exitCode = 1;
  } else {
    console.log(`Answer: ${outcome.result}`);
  }
} catch (error) {
  // Bad settings or a missing key: one line saying what to do, no stack trace.
  if (!(error instanceof ClosedClawError)) throw error;
  console.error(error.toLine());
  Deno.exitCode = 2;
} finally {
  await Deno.remove(home, { recursive: true });
}
