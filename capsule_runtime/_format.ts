/**
 * How the host words failures and timings in capsule events, results and
 * protocol replies, so every part of a run says them the same way.
 */
import { LLM_CALL_FAILED } from "../guest/protocol_types.ts";

/** Milliseconds to one decimal place. */
export function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** One line for anything thrown: `code: message hint` for a typed error, else its message. */
export function errorText(error: unknown): string {
  if (
    error && typeof error === "object" && "toLine" in error && typeof error.toLine === "function"
  ) {
    const code = "code" in error ? `${String(error.code)}: ` : "";
    return code + String(error.toLine());
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * The `llm_result.error_code` of a failed model call: the error's own code
 * without the `llm_` prefix model errors carry (so `llm_budget_exceeded`
 * and a plain `budget_exceeded` both read `budget_exceeded`), or a generic
 * code when it has none.
 */
export function modelErrorCode(error: unknown): string {
  const code = error && typeof error === "object" && "code" in error ? error.code : undefined;
  if (typeof code !== "string" || !/^[a-z][a-z0-9_]{0,63}$/.test(code)) return LLM_CALL_FAILED;
  const kind = code.startsWith("llm_") ? code.slice("llm_".length) : code;
  return kind || LLM_CALL_FAILED;
}

/** The capsule's last stderr line, as a sentence to append to an error message. */
export function lastStderrLine(stderr: string): string {
  const line = stderr.trim().split("\n").pop()?.trim();
  return line ? ` Last stderr line: ${line.slice(0, 300)}` : "";
}
