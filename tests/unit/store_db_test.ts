import assert from "node:assert/strict";
import { retryWhileBusy } from "../../store/db.ts";

Deno.test("a busy database is retried until it frees up; other errors are not retried", () => {
  let calls = 0;
  const value = retryWhileBusy(() => {
    if (++calls < 3) throw new Error("database is locked");
    return "opened";
  }, 5_000);
  assert.equal(value, "opened");
  assert.equal(calls, 3);

  let other = 0;
  assert.throws(() =>
    retryWhileBusy(() => {
      other++;
      throw new Error("no such table: x");
    }, 5_000), /no such table/);
  assert.equal(other, 1);

  let clock = 0;
  assert.throws(
    () =>
      retryWhileBusy(
        () => {
          clock += 1_000;
          throw new Error("database is locked");
        },
        2_500,
        () => clock,
      ),
    /database is locked/,
    "gives up after the timeout",
  );
});
