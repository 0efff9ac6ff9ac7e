/**
 * `limit_breached` capsule events: a tool call whose program a resource
 * limit stopped ends with an error that starts with the limit's code
 * (`limit_cpu: ...`); the caller also gets one event naming the breach.
 */
import type { CapsuleEvent } from "./capsule_types.ts";

const LIMIT_ERROR = /^(limit_[a-z_]+):/;

/** The limit a failed tool call breached (`limit_cpu`…), or null. */
export function breachedLimit(event: CapsuleEvent): string | null {
  return event.type === "tool_done" && !event.ok
    ? LIMIT_ERROR.exec(event.error)?.[1] ?? null
    : null;
}

/** Wraps a listener so each breached tool call is followed by a `limit_breached` event. */
export function withLimitEvents(
  onEvent: ((event: CapsuleEvent) => void) | undefined,
): ((event: CapsuleEvent) => void) | undefined {
  if (!onEvent) return undefined;
  return (event) => {
    onEvent(event);
    const code = breachedLimit(event);
    if (code && event.type === "tool_done") {
      onEvent({
        type: "limit_breached",
        id: event.id,
        tool: event.tool,
        limit: code,
        message: event.error,
      });
    }
  };
}
