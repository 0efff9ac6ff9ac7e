/**
 * The capsule's system prompt, composed by the host: layer 0 soul.md, layer 1
 * the skill library files the manifest names, layer 2 the capsule's own
 * skill.md, then what it remembers, the tools it may use and how to answer.
 * The guest sends it to the model as the system message.
 */
import { z } from "zod";
import type { MemoryEntry } from "../store/memory.ts";
import type { ToolSpecWire } from "../guest/protocol_types.ts";

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

const DEFAULT_IDENTITY =
  "You are a specialist agent inside the Closed Claw orchestrator. Execute tasks accurately, use the available tools efficiently, and report concrete, factual outcomes.";

export interface PromptParts {
  soul?: string;
  skills: { id: string; text: string }[];
  skillMd: string;
  memories: MemoryEntry[];
  tools: ToolSpecWire[];
  workspace: string;
}

function toolSection(tools: ToolSpecWire[]): string {
  if (tools.length === 0) {
    return "You have no tools. Answer from the task and context alone.";
  }
  return tools.map((t) =>
    `### ${t.name}\n${t.description}\nArguments (JSON Schema): ${JSON.stringify(t.args_schema)}`
  ).join("\n\n");
}

function memorySection(memories: MemoryEntry[]): string {
  if (memories.length === 0) return "";
  const lines = memories.map((m) =>
    `- (${m.created_at.slice(0, 10)}) ${m.content.replace(/\s+/g, " ").slice(0, 400)}`
  );
  return `## What you remember from earlier runs\n${lines.join("\n")}`;
}

const ANSWER_RULES = `## How to answer
Reply with exactly one JSON object per turn, with these fields:
- "thought": what you know so far and what you will do next (short).
- "action": "tool" to call one tool, or "final" to give the answer.
- "tool" and "args_json": the tool name and its arguments as a JSON object text, e.g. "{\\"op\\":\\"list\\",\\"path\\":\\".\\"}".
- "result": with "final", the complete answer for the user; otherwise "".
- "status": "ok", or "error" only when the task is impossible with your tools (never as a shortcut).

Rules:
- If the task needs files, commands, the network or a database and you have not looked yet, call a tool first; never invent results.
- After each tool call you get an Observation. When it already answers the task, give the final answer now.
- Do not repeat a call that already succeeded; a failed call needs a different approach, not the same call again.
- Use real absolute paths in answers (the workspace is given below), never $HOME or ~.`;

/** Joins the layers into one system prompt. */
export function composeSystemPrompt(parts: PromptParts): string {
  const sections = [
    parts.soul?.trim() || DEFAULT_IDENTITY,
    ...parts.skills.map((s) => s.text.trim()).filter(Boolean),
    parts.skillMd.trim(),
    memorySection(parts.memories),
    `## Workspace\nYour working folder is ${parts.workspace} ($WORKSPACE means this path).`,
    `## Tools\n${toolSection(parts.tools)}`,
    ANSWER_RULES,
  ];
  return sections.filter((s) => s.length > 0).join("\n\n---\n\n");
}
