/**
 * The shapes a capsule attempt ends with when it produced no answer, the
 * bounded tool results kept in events, and an event emitter that a throwing
 * listener cannot break. Shared by host.ts and capsule_session.ts.
 */
import type { LaunchPlan } from "./launcher.ts";
import type { CapsuleEvent, CapsuleResult, RunCapsuleOptions } from "./capsule_types.ts";

/** Largest tool result kept in events and records; a bigger one is cut to a preview. */
const MAX_STORED_RESULT_CHARS = 256 * 1024;

export type Failure = { code: string; message: string };

/** The result of a run whose capsule never started. */
export function notStarted(
  plan: LaunchPlan,
  code: string,
  extra: { message: string; attempts: number; latency_ms: number },
): CapsuleResult {
  return {
    latency_ms: extra.latency_ms,
    spawn_ms: 0,
    tool_calls: 0,
    side_effects: false,
    attempts: extra.attempts,
    sandbox: plan.sandbox,
    stderr_tail: "",
    warnings: plan.warnings,
    ...emptyOutcome("error", { code, message: extra.message }),
  };
}

/** A tool result small enough to keep; a bigger one becomes a marked preview. */
export function boundedResult(result: Record<string, unknown>): Record<string, unknown> {
  const text = JSON.stringify(result);
  if (text.length <= MAX_STORED_RESULT_CHARS) return result;
  return { truncated: true, chars: text.length, preview: text.slice(0, 4000) };
}

/** A listener that throws must not break the capsule. */
export function safeEmitter(onEvent: RunCapsuleOptions["onEvent"]): (event: CapsuleEvent) => void {
  return (event) => {
    try {
      onEvent?.(event);
    } catch {
      // ignored on purpose
    }
  };
}

/** The answer fields of a run that produced no answer. */
export function emptyOutcome(status: CapsuleResult["status"], f: Failure) {
  return {
    status,
    result: "",
    error_code: f.code,
    error_message: f.message,
    artifacts: [],
    memory_updates: [],
  };
}
