/**
 * Re-records demo/cassette.json: runs the demo task against the scripted
 * fake OpenAI server of the tests (real SDK, real capsules and tools), then
 * keeps the cassette the run recorded. Run it after changing any prompt:
 *   deno run -A demo/record.ts
 */
import { join } from "node:path";
import { startFakeServer } from "../tests/fakes/mod.ts";
import { brainHandler, finalStep, toolStep } from "../tests/helpers/coordinator_brain.ts";
import { CASSETTE, DEMO_HOME, prepareDemoRoot, runDemoCli } from "./_demo.ts";

const REPORT = [
  "# Open TODO items",
  "",
  "1. [ ] Fix the login timeout bug (high) — owner: Ana",
  "2. [ ] Add tests for the CSV importer (medium) — owner: Ben",
  "3. [ ] Tidy the README (low) — owner: Chloe",
  "",
].join("\n");

const fake = await startFakeServer("openai", { apiKey: "demo-recording-key" });
fake.handle(brainHandler({
  complexity: "complex",
  plan: (phase, prompt) =>
    phase === "discovery"
      ? [{
        task_id: "find-todos",
        title: "Find the open TODO items",
        description:
          "List the workspace, read notes.md and report every open TODO item with its priority.",
        role_tag: "notes-scout",
        acceptance_criteria: ["Every open TODO item in notes.md is reported with its priority"],
      }]
      : prompt.includes("login timeout")
      ? [
        {
          task_id: "find-owners",
          title: "Find the owner of each TODO",
          description:
            "Read team.csv and give the owner of each open TODO item: login timeout bug, CSV importer tests, README.",
          role_tag: "owner-lookup",
          acceptance_criteria: ["Each of the three TODO items has an owner from team.csv"],
        },
        {
          task_id: "write-report",
          title: "Write todo_report.md",
          description:
            "Write todo_report.md: a markdown checklist of the open TODO items, most urgent first, each with its owner.",
          role_tag: "report-writer",
          depends_on: ["find-owners"],
          writes_files: true,
          acceptance_criteria: [
            "todo_report.md lists the three items, high priority first, with owners",
          ],
        },
      ]
      : [],
  rerank: (prompt) =>
    [...prompt.matchAll(/"agent_id":"(c\d+)"/g)].map((m) => ({
      agent_id: m[1],
      score: 0.35,
      reason: "reads files, but is specialised in project notes rather than this work",
    })),
  agent: ({ prompt, step }) => {
    const task = prompt.slice(prompt.indexOf("Task:"));
    if (task.includes("read notes.md")) {
      return [
        toolStep("file_io", { op: "list", path: "." }),
        toolStep("file_io", { op: "read", path: "notes.md" }),
        finalStep(
          "Open TODO items in notes.md: (high) fix the login timeout bug; (medium) add tests for the CSV importer; (low) tidy the README.",
        ),
      ][Math.min(step, 2)];
    }
    if (task.includes("Read team.csv")) {
      return [
        toolStep("file_io", { op: "read", path: "team.csv" }),
        finalStep(
          "Owners from team.csv: login timeout bug → Ana (login); CSV importer tests → Ben (csv importer); README → Chloe (docs).",
        ),
      ][Math.min(step, 1)];
    }
    return [
      toolStep("file_io", { op: "write", path: "todo_report.md", content: REPORT }),
      toolStep("file_io", { op: "read", path: "todo_report.md" }),
      finalStep(`Wrote todo_report.md:\n${REPORT}`),
    ][Math.min(step, 2)];
  },
  synthesis:
    "I read notes.md and team.csv and wrote todo_report.md with the three open TODO items, most urgent first: fix the login timeout bug (high, Ana), add tests for the CSV importer (medium, Ben), and tidy the README (low, Chloe). The completed item (repository set-up) was left out.",
}));

try {
  await prepareDemoRoot();
  const status = await runDemoCli(["--record"], {
    CLOSED_CLAW_LLM_PROVIDER: "openai",
    OPENAI_API_KEY: "demo-recording-key",
    OPENAI_BASE_URL: fake.baseURL,
  });
  if (!status.success) throw new Error(`the recording run failed (exit ${status.code})`);
  const dir = join(DEMO_HOME, "cassettes");
  const [recorded] = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".json"));
  await Deno.copyFile(join(dir, recorded.name), CASSETTE);
  console.log(`Recorded ${CASSETTE} (${fake.requests.length} model calls).`);
} finally {
  await fake.close();
}
