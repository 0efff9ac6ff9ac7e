/**
 * Turns anything a Deno or node API throws into one readable line, so a tool
 * failure is always `{ ok: false, error }` and never a crash. Guest-safe.
 */

/** Whether the error is a Deno permission refusal. */
export function isPermissionError(error: unknown): boolean {
  return error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied;
}

/**
 * Describes an error for the LLM; `what` names the thing being accessed.
 *
 * @example
 * ```ts
 * describeError(new Deno.errors.NotFound("x"), "file '/ws/a.txt'"); // "file '/ws/a.txt' not found"
 * ```
 */
export function describeError(error: unknown, what: string): string {
  if (error instanceof Deno.errors.NotCapable) {
    return `${what}: denied by the capsule's Deno permissions (${firstLine(error)})`;
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return `${what}: permission denied by the operating system`;
  }
  if (error instanceof Deno.errors.NotFound) return `${what} not found`;
  if (error instanceof Deno.errors.AlreadyExists) return `${what} already exists`;
  if (error instanceof Deno.errors.IsADirectory) return `${what} is a directory`;
  if (error instanceof Deno.errors.NotADirectory) return `${what}: a parent is not a directory`;
  if (error instanceof Deno.errors.TimedOut) return `${what}: timed out`;
  return `${what}: ${firstLine(error)}`;
}

/** The first line of an error's message. */
export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0].trim() || (error instanceof Error ? error.name : "error");
}
