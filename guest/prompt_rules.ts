/**
 * The mode-specific end of the system prompt. The host composes who the agent
 * is (soul, skills, skill.md); the loop adds how to answer, which depends on
 * whether tools are declared natively or described in the prompt (JSON steps).
 * The run-specific part (workspace, memories) follows as its own system
 * message, so everything before it is the same on every step and cacheable.
 */
import type { ChatMessageWire, StartMessage, ToolMode, ToolSpecWire } from "./protocol_types.ts";

/** The prefix of a final answer that says the task cannot be done with these tools. */
export const INFEASIBLE_PREFIX = "IMPOSSIBLE:";

const COMMON_RULES =
  `- If the task needs files, commands, the network or a database and you have not looked yet, call a tool first; never invent results.
- When a tool result already answers the task, answer now.
- Do not repeat a call that already succeeded; a failed call needs a different approach, not the same call again.
- Use real absolute paths in answers, never $HOME or ~.`;

const NATIVE_RULES = `## How to answer
Call tools to do the work; calls that do not depend on each other may go in one turn. When done, reply with the complete answer as plain text (no tool call). If the task is impossible with your tools, reply "${INFEASIBLE_PREFIX} " and why (never as a shortcut).
${COMMON_RULES}`;

const JSON_RULES = `## How to answer
Reply with exactly one JSON object per turn, with these fields:
- "thought": what you know so far and what you will do next (short).
- "action": "tool" to call one tool, or "final" to give the answer.
- "tool" and "args_json": the tool name and its arguments as a JSON object text, e.g. "{\\"op\\":\\"list\\",\\"path\\":\\".\\"}".
- "result": with "final", the complete answer for the user; otherwise "".
- "status": "ok", or "error" only when the task is impossible with your tools (never as a shortcut).

Rules:
${COMMON_RULES}
- After each tool call you get an Observation.`;

function toolSection(tools: ToolSpecWire[]): string {
  if (tools.length === 0) {
    return "## Tools\nYou have no tools. Answer from the task and context alone.";
  }
  const described = tools.map((t) =>
    `### ${t.name}\n${t.description}\nArguments (JSON Schema): ${JSON.stringify(t.args_schema)}`
  );
  return `## Tools\n${described.join("\n\n")}`;
}

/**
 * The system messages of a conversation: the stable prompt with the mode's
 * rules (and, for JSON steps, the tools described in text), then the
 * run-specific tail when there is one.
 */
export function systemMessages(start: StartMessage, mode: ToolMode): ChatMessageWire[] {
  const rules = mode === "native"
    ? (start.tools.length ? NATIVE_RULES : toolSection([]))
    : `${toolSection(start.tools)}\n\n---\n\n${JSON_RULES}`;
  const stable = [start.system_prompt.trim(), rules].filter(Boolean).join("\n\n---\n\n");
  const tail = start.system_tail?.trim();
  return [
    { role: "system", content: stable },
    ...(tail ? [{ role: "system" as const, content: tail }] : []),
  ];
}

/** The first user message: the task and its context. */
export function taskMessage(start: StartMessage, mode: ToolMode): ChatMessageWire {
  const context = Object.keys(start.context).length
    ? `\n\nContext (JSON):\n${JSON.stringify(start.context)}`
    : "";
  const ask = mode === "json" ? "\n\nReply with your first step as a JSON object." : "";
  return { role: "user", content: `Task:\n${start.task}${context}${ask}` };
}
