/**
 * The mode-specific end of the system prompt. The host composes who the agent
 * is (soul, skills, skill.md); the loop adds how to answer, which depends on
 * whether tools are declared natively or described in the prompt (JSON steps).
 * The run-specific part (workspace, memories) follows as its own system
 * message, so everything before it is the same on every step and cacheable.
 */
import {
  type ChatMessageWire,
  READ_SKILL_TOOL,
  type SkillWire,
  type StartMessage,
  type ToolMode,
  type ToolSpecWire,
} from "./protocol_types.ts";

/** The prefix of a final answer that says the task cannot be done with these tools. */
export const INFEASIBLE_PREFIX = "IMPOSSIBLE:";

// Every step re-sends these rules: each clause is one the models need, said once.
const COMMON_RULES =
  `- Look first; never invent files, output or data. Never repeat a call that worked; after a failure, try another way.
- Use real absolute paths, not $HOME or ~.`;

const NATIVE_RULES = `## How to answer
Use few tool calls (independent ones may share a turn), then answer fully in plain text, or "${INFEASIBLE_PREFIX} <why>" if your tools can't do it.
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
 * The `read_skill` tool when the agent has skill guides: their ids (the
 * prompt's only list of them; each names its area, e.g. `file_system`), and
 * the full text on request, so every step carries a few words per guide, not
 * the guide.
 */
export function readSkillSpec(skills: SkillWire[] | undefined): ToolSpecWire | undefined {
  if (!skills?.length) return undefined;
  return {
    name: READ_SKILL_TOOL,
    description: "Tool guides: workflow, pitfalls.",
    // Left open (not strict): one enum field needs no closed object, and every step re-sends it.
    args_schema: {
      type: "object",
      properties: { skill_id: { type: "string", enum: skills.map((s) => s.id) } },
      required: ["skill_id"],
    },
    risk_level: "low",
    side_effects: false,
  };
}

/** The tools the model is told about: the host's list, plus `read_skill` when there are guides. */
export function declaredTools(start: StartMessage): ToolSpecWire[] {
  const reader = readSkillSpec(start.skills);
  return reader ? [...start.tools, reader] : start.tools;
}

/**
 * The system messages of a conversation: the stable prompt with the mode's
 * rules (and, for JSON steps, the tools described in text), then the
 * run-specific tail when there is one.
 */
export function systemMessages(start: StartMessage, mode: ToolMode): ChatMessageWire[] {
  const tools = declaredTools(start);
  const rules = mode === "native"
    ? (tools.length ? NATIVE_RULES : toolSection([]))
    : `${toolSection(tools)}\n\n${JSON_RULES}`;
  // Each section opens with its own heading; the skill guides are listed in read_skill's enum.
  const stable = [start.system_prompt.trim(), rules].filter(Boolean).join("\n\n");
  const tail = start.system_tail?.trim();
  return [
    { role: "system", content: stable },
    ...(tail ? [{ role: "system" as const, content: tail }] : []),
  ];
}

/**
 * A loop's opening messages, its first model request in full: the system
 * sections and the task. The host asks the native one early with these very
 * messages (capsule_runtime/session_model_calls.ts `askEarly`).
 */
export function firstMessages(start: StartMessage, mode: ToolMode): ChatMessageWire[] {
  return [...systemMessages(start, mode), taskMessage(start, mode)];
}

/** The first user message: the task and its context. */
export function taskMessage(start: StartMessage, mode: ToolMode): ChatMessageWire {
  const context = Object.keys(start.context).length
    ? `\n\nContext: ${JSON.stringify(start.context)}`
    : "";
  const ask = mode === "json" ? "\n\nReply with your first step as a JSON object." : "";
  return { role: "user", content: `Task:\n${start.task}${context}${ask}` };
}
