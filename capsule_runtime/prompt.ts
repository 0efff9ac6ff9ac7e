/**
 * The capsule's system prompt, composed by the host: layer 0 soul.md and
 * layer 2 the capsule's own skill.md, then (as a separate tail) the workspace
 * and what it remembers. Layer 1, the skill library guides the manifest
 * names, goes in the start message: the prompt lists them, the agent reads
 * one with `read_skill` when it needs it.
 * The guest adds how to answer (guest/prompt_rules.ts) and sends both as
 * system messages. The JSON-step schema lives here too.
 */
import { z } from "zod";
import type { MemoryEntry } from "../store/memory.ts";

/** One agent step, as the model must answer it. */
export const StepSchema = z.object({
  thought: z.string().describe("One or two sentences: what you know and what you do next."),
  action: z.enum(["tool", "final"]).describe('"tool" to call a tool, "final" to answer.'),
  tool: z.string().describe('The tool to call; "" when action is "final".'),
  args_json: z.string().describe('The tool\'s arguments as a JSON object text; "{}" when final.'),
  result: z.string().describe('The complete final answer when action is "final"; "" otherwise.'),
  status: z.enum(["ok", "error"]).describe(
    '"error" only when the task is impossible with the tools you have.',
  ),
}).strict();

export const STEP_JSON_SCHEMA = z.toJSONSchema(StepSchema) as Record<string, unknown>;

/** Who the agent is when neither soul.md nor skill.md says it (the rules add how it works). */
const DEFAULT_IDENTITY = "You are a specialist agent.";

export interface PromptParts {
  soul?: string;
  skillMd: string;
  memories: MemoryEntry[];
  workspace: string;
  /** This subtask's task: a memory of the very same task is not told it again. */
  task?: string;
}

/** Recalled memories shown to the model: at most this many, each cut to `MEMORY_CHARS`. */
const MAX_MEMORIES = 3;
const MEMORY_CHARS = 200;

/**
 * The key two memories share when they teach the same lesson. A run's memory
 * is "Task: … Outcome (status): …" (guest/loop_state.ts): the same task run
 * on another file, day or item (`report-12.csv`, `report-13.csv`) with the
 * very same outcome is one lesson, so numbers in the task part count as equal.
 * The outcome must match exactly, and any other memory is keyed by its text.
 */
function lessonKey(text: string): string {
  const at = text.lastIndexOf(" Outcome (");
  if (!text.startsWith("Task: ") || at < 0) return text;
  return text.slice(0, at).replace(/\d+/g, "#") + text.slice(at);
}

/** A memory of this very task says "this task" instead of repeating the task the prompt holds. */
function sameTaskShortened(text: string, task: string | undefined): string {
  // A memory keeps the first 300 characters of its task (guest/loop_state.ts): only a task
  // that short is known to be the same one, not merely to start the same way.
  if (!task || task.length > 300) return text;
  const same = `Task: ${task.replace(/\s+/g, " ")} Outcome (`;
  return text.startsWith(same)
    ? `This same task before. Outcome (${text.slice(same.length)}`
    : text;
}

function memorySection(memories: MemoryEntry[], task?: string): string {
  // The same lesson learned twice is shown once (memories come most relevant first).
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const m of memories) {
    const whole = m.content.replace(/\s+/g, " ");
    const key = lessonKey(whole.slice(0, MEMORY_CHARS));
    if (seen.has(key) || lines.length >= MAX_MEMORIES) continue;
    seen.add(key);
    const text = sameTaskShortened(whole, task).slice(0, MEMORY_CHARS);
    lines.push(`- (${m.created_at.slice(0, 10)}) ${text}`);
  }
  return lines.length ? `Memories of earlier runs:\n${lines.join("\n")}` : "";
}

/**
 * The system prompt in two parts. `stable` is the same on every step of every
 * run of this agent (identity and skill.md), so providers can cache it as a
 * prefix; the loop adds the skill list and its rules to it. `tail` is this
 * run's: the workspace and what the agent remembers.
 */
export function composeSystemPrompt(parts: PromptParts): { stable: string; tail: string } {
  // skill.md opens with the agent's own identity, so a generic one would only repeat it.
  const own = [parts.soul?.trim() ?? "", parts.skillMd.trim()];
  const stable = own.some((x) => x.length > 0) ? own : [DEFAULT_IDENTITY];
  const tail = [
    `Workspace: ${parts.workspace} (= $WORKSPACE).`,
    memorySection(parts.memories, parts.task),
  ];
  // Each section opens with its own heading or label, so a blank line is separator enough.
  const join = (sections: string[]) => sections.filter((x) => x.length > 0).join("\n\n");
  return { stable: join(stable), tail: join(tail) };
}
