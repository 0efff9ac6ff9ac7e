/** Assertion helpers shared by the tests. */
import assert from "node:assert/strict";

/** An error whose SDK-specific fields (status, headers, error…) the test reads by name. */
export type ErrorRecord = Record<string, unknown> & Error;

/**
 * Awaits a promise that must reject and returns its error, checked to be an
 * instance of `type` (any Error by default), so a test can assert on its fields.
 */
export async function rejection<E extends Error = ErrorRecord>(
  p: Promise<unknown>,
  type: abstract new (...args: never[]) => E = Error as unknown as abstract new (
    ...args: never[]
  ) => E,
): Promise<E> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof type, `expected a ${type.name}, got ${String(e)}`);
    return e;
  }
  assert.fail("expected the call to reject");
}
