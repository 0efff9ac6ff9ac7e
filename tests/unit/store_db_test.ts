import assert from "node:assert/strict";
import { join } from "node:path";
import { openDatabase, retryWhileBusy, transaction } from "../../store/db.ts";
import { tempDir } from "../helpers/temp.ts";

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

Deno.test("a connection prepares each SQL text once and hands back the same statement", async () => {
  await using dir = await tempDir();
  const db = openDatabase(join(dir.path, "s.db"));
  try {
    db.exec("CREATE TABLE t (x INTEGER)");
    const insert = db.prepare("INSERT INTO t (x) VALUES (?)");
    assert.equal(db.prepare("INSERT INTO t (x) VALUES (?)"), insert);
    for (let i = 0; i < 3; i++) db.prepare("INSERT INTO t (x) VALUES (?)").run(i);
    const sum = db.prepare("SELECT SUM(x) AS s FROM t").get() as { s: number };
    assert.equal(sum.s, 3);
    // Past the cache's size, SQL built with values in it does not pile up: old texts are dropped.
    for (let i = 0; i < 300; i++) db.prepare(`SELECT ${i} AS v`).get();
    assert.notEqual(db.prepare("INSERT INTO t (x) VALUES (?)"), insert);
    // A statement prepared again still works.
    db.prepare("INSERT INTO t (x) VALUES (?)").run(10);
    assert.equal((db.prepare("SELECT COUNT(*) AS n FROM t").get() as { n: number }).n, 4);
  } finally {
    db.close();
  }
});

Deno.test("a transaction inside another joins it: they commit together and roll back together", async () => {
  await using dir = await tempDir();
  const db = openDatabase(join(dir.path, "nested.db"));
  try {
    db.exec("CREATE TABLE t (v TEXT)");
    const insert = (v: string) => db.prepare("INSERT INTO t (v) VALUES (?)").run(v);
    const values = () => db.prepare("SELECT v FROM t ORDER BY v").all().map((r) => r.v);
    transaction(db, () => {
      insert("outer");
      transaction(db, () => insert("inner"));
    });
    assert.deepEqual(values(), ["inner", "outer"]);
    assert.throws(() =>
      transaction(db, () => {
        transaction(db, () => insert("inner 2"));
        throw new Error("later step failed");
      }), /later step failed/);
    // The inner write went with the outer one: nothing of it is left.
    assert.deepEqual(values(), ["inner", "outer"]);
    assert.equal(db.isTransaction, false);
  } finally {
    db.close();
  }
});
