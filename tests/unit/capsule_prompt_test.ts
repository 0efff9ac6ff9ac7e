import assert from "node:assert/strict";
import { composeSystemPrompt } from "../../capsule_runtime/prompt.ts";
import type { MemoryEntry } from "../../store/memory.ts";

let id = 0;
const memory = (content: string): MemoryEntry => ({
  id: ++id,
  session_id: null,
  run_id: null,
  kind: "episodic",
  content,
  created_at: "2026-11-29T10:00:00.000Z",
});

const compose = (memories: MemoryEntry[]) =>
  composeSystemPrompt({ skillMd: "# Reader\n\nRead files.", memories, workspace: "/ws" });

Deno.test("system prompt: soul and skill.md are the stable part; workspace and memories the tail", () => {
  const { stable, tail } = compose([memory("Task: list /ws\nOutcome (ok): 3 files.")]);
  // skill.md names the agent: no generic identity before it.
  assert.equal(stable, "# Reader\n\nRead files.");
  assert.equal(
    composeSystemPrompt({ soul: "Be kind.", skillMd: "# R", memories: [], workspace: "/ws" })
      .stable,
    "Be kind.\n\n# R",
  );
  assert.match(tail, /^Workspace: \/ws \(= \$WORKSPACE\)\./);
  assert.match(tail, /\n\nMemories of earlier runs:\n- \(2026-11-29\) Task: list/);
  assert.equal(compose([]).tail.includes("Memories"), false);
});

Deno.test("system prompt: an agent without soul.md or skill.md is still told what it is", () => {
  const { stable } = composeSystemPrompt({ skillMd: " ", memories: [], workspace: "/ws" });
  assert.match(stable, /^You are a specialist agent\.$/);
});

Deno.test("system prompt: the same task on another file with the same outcome is one lesson, shown once", () => {
  const { tail } = compose([
    memory("Task: Read report-12.csv, then answer.\nOutcome (ok): Read 1 file."),
    memory("Task: Read report-13.csv, then answer.\nOutcome (ok): Read 1 file."),
    memory("Task: Read report-14.csv, then answer.\nOutcome (ok): Read 1 file."),
  ]);
  // The first (most relevant) is the one kept.
  assert.match(tail, /report-12/);
  assert.doesNotMatch(tail, /report-13|report-14/);
});

Deno.test("system prompt: memories whose outcome or words differ, or that are not task records, all stay", () => {
  const { tail } = compose([
    memory("Task: Sum sales in 2024.\nOutcome (ok): 1,234 EUR."),
    memory("Task: Sum sales in 2025.\nOutcome (ok): 2,345 EUR."),
    memory("Task: Sum refunds in 2025.\nOutcome (ok): 1,234 EUR."),
  ]);
  assert.match(tail, /2024.*\n.*2025.*\n.*refunds/);
  const notes = compose([
    memory("The API key lives in vault 1."),
    memory("The API key lives in vault 2."),
  ]);
  assert.match(notes.tail, /vault 1.*\n.*vault 2/);
  // At most three lines, each bounded.
  const many = compose(
    Array.from({ length: 6 }, (_, i) => memory(`Note ${"x".repeat(i)} ${"y".repeat(300)}`)),
  );
  const lines = many.tail.split("\n").filter((l) => l.startsWith("- "));
  assert.equal(lines.length, 3);
  assert.ok(lines.every((l) => l.length <= 200 + "- (2026-11-29) ".length));
});

Deno.test("system prompt: a memory of this very task says so instead of repeating the task", () => {
  const task = "Read these files, in order: a.txt, b.txt.\nThen answer.";
  const { tail } = composeSystemPrompt({
    skillMd: "# Reader",
    workspace: "/ws",
    task,
    memories: [
      memory(`Task: ${task}\nOutcome (ok): Read 2 files.`),
      memory("Task: Read c.txt.\nOutcome (error): c.txt is missing."),
    ],
  });
  assert.match(tail, /- \(2026-11-29\) This same task before\. Outcome \(ok\): Read 2 files\./);
  assert.doesNotMatch(tail, /a\.txt/, "the task is in the prompt already");
  assert.match(tail, /Task: Read c\.txt\. Outcome \(error\)/, "another task's lesson stays whole");
});

Deno.test("system prompt: a long task that only starts like a remembered one is not called the same", () => {
  const opening = "Using the sales table in data.db, ".repeat(10); // 340 characters
  const remembered = `${opening}sum the EU revenue.`;
  const { tail } = composeSystemPrompt({
    skillMd: "# Analyst",
    workspace: "/ws",
    task: `${opening}delete the US rows.`,
    memories: [memory(`Task: ${remembered.slice(0, 300)}\nOutcome (ok): 1,234 EUR.`)],
  });
  assert.doesNotMatch(tail, /This same task/);
  assert.match(tail, /Task: Using the sales table/);
});
