/**
 * The conversation as the model sees it: tool results shown as bounded JSON,
 * and older results shortened so the prompt does not grow without bound.
 */
import {
  type ChatMessageWire,
  FATAL_LLM_ERROR_CODES,
  type LlmResultMessage,
} from "./protocol_types.ts";
import type { ToolOutcome } from "./loop_state.ts";

/** A failed model call after which another step cannot help (judged by its code, not its text). */
export function isFatalModelError(reply: LlmResultMessage): boolean {
  return !reply.ok && FATAL_LLM_ERROR_CODES.includes(reply.error_code ?? "");
}

/**
 * A whole file that was read (`file_io` read, not cut short, not empty) as
 * its text: JSON around it would escape every newline and quote. Only for a
 * native tool message, which its call id ties to the call; a JSON-step
 * observation keeps the JSON, so file text cannot pass for the harness's own.
 */
function wholeFileText(result: unknown): string | undefined {
  if (!result || typeof result !== "object") return undefined;
  const r = result as Record<string, unknown>;
  const shape = Object.keys(r).sort().join(",");
  if (shape !== "content,path,size_bytes,truncated" || r.truncated !== false) return undefined;
  return typeof r.content === "string" && r.content !== "" ? r.content : undefined;
}

/**
 * A tool result as JSON text, cut to `max` characters with a visible note.
 * With `fileAsText` (native tool messages), a whole file read that fits in
 * `max` is its text instead.
 */
export function resultText(outcome: ToolOutcome, max: number, fileAsText = false): string {
  const text = fileAsText && outcome.ok ? wholeFileText(outcome.result) : undefined;
  if (text !== undefined && text.length <= max) return text;
  const body = JSON.stringify(
    outcome.ok ? outcome.result : { error: outcome.error, ...outcome.result },
  );
  return body.length > max
    ? `${
      body.slice(0, max)
    }… [truncated: ${body.length} characters in all; ask for less, e.g. a smaller file range]`
    : body;
}

/** A tool result as a JSON-step model sees it: a labelled Observation. */
export function observation(tool: string, outcome: ToolOutcome, max: number): string {
  return `Observation from ${tool} (${outcome.ok ? "ok" : "FAILED"}):\n${resultText(outcome, max)}`;
}

/**
 * Keeps the prompt from growing without bound: the system messages, the task
 * and the last `keep` messages stay whole; older results are shortened. Only
 * text is cut, never a message, so tool calls keep their results.
 */
export function compactHistory(
  messages: ChatMessageWire[],
  keep = 8,
  older = 400,
): ChatMessageWire[] {
  const firstUser = messages.findIndex((m) => m.role === "user");
  const headLength = firstUser < 0 ? messages.length : firstUser + 1;
  const head = messages.slice(0, headLength);
  const body = messages.slice(headLength);
  const cutoff = body.length - keep;
  return [
    ...head,
    ...body.map((m, i) =>
      i < cutoff && m.content.length > older
        ? { ...m, content: `${m.content.slice(0, older)}… [older output shortened]` }
        : m
    ),
  ];
}
