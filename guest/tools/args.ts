/**
 * Defensive argument readers for the guest. The host has already validated
 * the call with zod, but the guest trusts nothing it did not check itself and
 * must turn bad input into `{ ok: false }`, not an exception. Guest-safe.
 */

/** Thrown by the readers; `runTool` turns it into a failed result. */
export class ArgError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArgError";
  }
}

/** A required non-empty string. */
export function requireString(args: Record<string, unknown>, key: string, max = Infinity): string {
  const value = args[key];
  if (typeof value !== "string" || value.trim() === "") {
    throw new ArgError(`'${key}' is required and must be a non-empty string`);
  }
  if (value.length > max) throw new ArgError(`'${key}' is longer than ${max} characters`);
  return value;
}

/** An optional number within `[min, max]`, or `fallback`. */
export function optionalNumber(
  args: Record<string, unknown>,
  key: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const value = args[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new ArgError(`'${key}' must be a number`);
  }
  if (value < min || value > max) throw new ArgError(`'${key}' must be between ${min} and ${max}`);
  return value;
}

/** An optional boolean, or `fallback`. */
export function optionalBoolean(
  args: Record<string, unknown>,
  key: string,
  fallback: boolean,
): boolean {
  const value = args[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "boolean") throw new ArgError(`'${key}' must be true or false`);
  return value;
}

/** An optional plain object, or `{}`. */
export function optionalRecord(
  args: Record<string, unknown>,
  key: string,
): Record<string, unknown> {
  const value = args[key];
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new ArgError(`'${key}' must be an object`);
  }
  return value as Record<string, unknown>;
}
