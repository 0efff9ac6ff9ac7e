import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { runTool } from "../../guest/tools/run.ts";
import { executeReadOnly } from "../../guest/tools/sql_query.ts";
import { checkReadOnlySql } from "../../guest/policy/sql.ts";
import { tempDir } from "../helpers/temp.ts";
import { toolContext } from "../helpers/tool_context.ts";

Deno.test("sql policy: single SELECT/WITH statements are accepted", () => {
  const accepted: [string, string][] = [
    ["SELECT 1", "SELECT 1"],
    [
      "  -- leading comment\n/* block */ select * from t",
      "-- leading comment\n/* block */ select * from t",
    ],
    ["WITH a AS (SELECT 1 AS x) SELECT x FROM a", "WITH a AS (SELECT 1 AS x) SELECT x FROM a"],
    ["WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 5) SELECT x FROM c", ""],
    ["SELECT 'a;b' AS x", "SELECT 'a;b' AS x"],
    [
      "SELECT 'it''s; DROP TABLE t' AS x ;  -- trailing comment",
      "SELECT 'it''s; DROP TABLE t' AS x",
    ],
    ["SELECT replace(b, 'x', 'y') FROM t", ""],
    ['SELECT "update", [delete], `insert` FROM t', ""],
    ["SELECT * FROM pragma_table_info('t')", ""],
    ["SELECT 1 /* unterminated block comments run to the end", ""],
    ["SELECT 'DROP TABLE t; ATTACH x' FROM t WHERE a = ?", ""],
  ];
  for (const [query, sql] of accepted) {
    const check = checkReadOnlySql(query);
    assert.ok(check.ok, `${query}: ${!check.ok && check.error}`);
    if (sql) assert.equal(check.sql, sql);
  }
});

Deno.test("sql policy: stacked statements, writes, ATTACH, PRAGMA and load_extension are refused", () => {
  const refused: [string, RegExp][] = [
    ["SELECT 1; DROP TABLE t", /only one statement/],
    ["SELECT 1;SELECT 2", /only one statement/],
    ["SELECT ';' ; DELETE FROM t", /only one statement/],
    ["SELECT 1; -- c\n SELECT 2", /only one statement/],
    ["INSERT INTO t VALUES (1)", /only SELECT or WITH/],
    ["UPDATE t SET a = 1", /only SELECT or WITH/],
    ["PRAGMA writable_schema = 1", /only SELECT or WITH/],
    ["ATTACH DATABASE '/tmp/x.db' AS x", /only SELECT or WITH/],
    ["DETACH x", /only SELECT or WITH/],
    ["VACUUM INTO '/tmp/copy.db'", /only SELECT or WITH/],
    ["/* hide */ DELETE FROM t", /only SELECT or WITH/],
    ["SELECT load_extension('/tmp/evil.so')", /load_extension/],
    ["select LOAD_EXTENSION ('x')", /load_extension/i],
    ["WITH a AS (SELECT 1) DELETE FROM t", /'DELETE'.*write statements/],
    ["WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a", /'INSERT'/],
    ["WITH a AS (SELECT 1) UPDATE t SET x = 1", /'UPDATE'/],
    ["WITH a AS (SELECT 1) REPLACE INTO t VALUES (1)", /'REPLACE'/],
    ["WITH a AS (SELECT 1) SELECT * FROM a WHERE 1 IN (SELECT 1 FROM pragma_x) ATTACH", /ATTACH/],
    ["SELECT 'unterminated", /unterminated string/],
    ['SELECT "unterminated', /unterminated quoted identifier/],
    ["", /non-empty/],
    ["   -- only a comment", /no statement/],
    ["SELECT 1\0", /NUL/],
  ];
  for (const [query, pattern] of refused) {
    const check = checkReadOnlySql(query);
    assert.equal(check.ok, false, query);
    if (!check.ok) assert.match(check.error, pattern, query);
  }
  assert.equal(checkReadOnlySql(42).ok, false);
  assert.equal(checkReadOnlySql("SELECT " + "1,".repeat(60_000) + "1").ok, false, "length cap");
});

function fixtureDb(dir: string): string {
  const path = join(dir, "data.db");
  const db = new DatabaseSync(path);
  db.exec(`
    CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, big INTEGER, data BLOB);
    INSERT INTO t (name, big, data) VALUES ('alice', 9007199254740993, x'00010203'), ('bob;', 42, NULL);
    CREATE TABLE n (x INTEGER);
  `);
  const insert = db.prepare("INSERT INTO n (x) VALUES (?)");
  for (let i = 0; i < 30; i++) insert.run(i);
  db.close();
  return path;
}

Deno.test("sql_query: rows keyed by column, params bound, big integers and BLOBs rendered safely", async () => {
  await using dir = await tempDir();
  await fixtureDb(dir.path);
  const out = await runTool("sql_query", {
    database: "data.db",
    sql: "SELECT id, name, big, data FROM t WHERE name LIKE ? ORDER BY id",
    params: ["%"],
  }, toolContext(dir.path));
  assert.ok(out.ok, out.error);
  assert.deepEqual(out.result, {
    rows: [
      { id: 1, name: "alice", big: "9007199254740993", data: { blob_bytes: 4 } },
      { id: 2, name: "bob;", big: 42, data: null },
    ],
    row_count: 2,
    truncated: false,
  });
  const literal = await runTool("sql_query", {
    db_path: "data.db",
    query: "SELECT name FROM t WHERE name = 'bob;';",
  }, toolContext(dir.path));
  assert.ok(literal.ok, literal.error);
  assert.deepEqual(literal.result.rows, [{ name: "bob;" }]);
  const bools = await runTool("sql_query", {
    db_path: "data.db",
    query: "SELECT ? AS t, ? AS f, ? AS n",
    params: [true, false, null],
  }, toolContext(dir.path));
  assert.deepEqual(bools.result.rows, [{ t: 1, f: 0, n: null }]);
});

Deno.test("sql_query: rows are capped and flagged", async () => {
  await using dir = await tempDir();
  await fixtureDb(dir.path);
  const out = await runTool("sql_query", {
    db_path: "data.db",
    query: "SELECT x FROM n ORDER BY x",
  }, toolContext(dir.path, { limits: { maxRows: 5 } }));
  assert.ok(out.ok);
  assert.equal(out.result.row_count, 5);
  assert.equal(out.result.truncated, true);
  assert.deepEqual(out.result.rows, [0, 1, 2, 3, 4].map((x) => ({ x })));
});

Deno.test("sql_query: every failure is ok:false with one line", async () => {
  await using dir = await tempDir();
  await fixtureDb(dir.path);
  await Deno.writeTextFile(join(dir.path, "not_a_db.db"), "hello, this is not sqlite");
  const ctx = toolContext(dir.path);
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { db_path: "data.db", query: "SELECT * FROM missing_table" },
      /SQL error .*no such table: missing_table/,
    ],
    [{ db_path: "nope.db", query: "SELECT 1" }, /database .*nope\.db' not found/],
    [
      { db_path: "not_a_db.db", query: "SELECT * FROM sqlite_master" },
      /SQL error .*not a database/,
    ],
    [{ db_path: ".", query: "SELECT 1" }, /is not a file/],
    [{ db_path: "/etc/hosts", query: "SELECT 1" }, /outside the allowed read roots/],
    [{ db_path: "data.db", query: "DELETE FROM t" }, /only SELECT or WITH/],
    [{ db_path: "data.db", query: "SELECT 1", params: "x" }, /'params' must be a list/],
    [{ db_path: "data.db", query: "SELECT ?", params: [{ a: 1 }] }, /params\[0\]/],
  ];
  for (const [args, pattern] of cases) {
    const out = await runTool("sql_query", args, ctx);
    assert.equal(out.ok, false, JSON.stringify(args));
    assert.match(out.error, pattern, JSON.stringify(args));
    assert.ok(!out.error.includes("\n"));
  }
});

Deno.test("sql_query: a non-empty sql_paths list is the only place databases may come from", async () => {
  await using dir = await tempDir();
  await fixtureDb(dir.path);
  await Deno.mkdir(join(dir.path, "dbs"));
  await Deno.copyFile(join(dir.path, "data.db"), join(dir.path, "dbs", "ok.db"));
  const ctx = toolContext(dir.path, { sqlPaths: ["dbs/ok.db"] });
  const allowed = await runTool("sql_query", {
    db_path: "dbs/ok.db",
    query: "SELECT count(*) AS n FROM t",
  }, ctx);
  assert.ok(allowed.ok, allowed.error);
  assert.deepEqual(allowed.result.rows, [{ n: 2 }]);
  const other = await runTool("sql_query", { db_path: "data.db", query: "SELECT 1" }, ctx);
  assert.ok(!other.ok && /sql_paths/.test(other.error));
});

Deno.test("sql_query: read-only is enforced below the text policy (writes, ATTACH, PRAGMA, extensions)", async () => {
  await using dir = await tempDir();
  const path = await fixtureDb(dir.path);
  const before = await Deno.readFile(path);
  for (
    const sql of [
      "INSERT INTO t (name) VALUES ('mallory')",
      "UPDATE t SET name = 'x'",
      "DELETE FROM t",
      "DROP TABLE t",
      "CREATE TABLE evil (x)",
      "PRAGMA user_version = 7",
      `ATTACH DATABASE '${join(dir.path, "other.db")}' AS o`,
      "SELECT load_extension('/tmp/nothing.so')",
      `VACUUM INTO '${join(dir.path, "copy.db")}'`,
    ]
  ) {
    const out = await executeReadOnly({ path, sql, params: [], maxRows: 10 }, 10_000);
    assert.equal(out.ok, false, sql);
    if (!out.ok) assert.match(out.error, /not authorized|readonly|only queries are allowed/i, sql);
  }
  assert.deepEqual(await Deno.readFile(path), before, "database bytes unchanged");
  for (const name of ["other.db", "copy.db"]) {
    await assert.rejects(Deno.stat(join(dir.path, name)), Deno.errors.NotFound, name);
  }
  // Read-only table-valued pragmas stay usable.
  const info = await executeReadOnly({
    path,
    sql: "SELECT name FROM pragma_table_info('t')",
    params: [],
    maxRows: 10,
  }, 10_000);
  assert.ok(info.ok);
  assert.deepEqual(info.rows.map((r) => r.name), ["id", "name", "big", "data"]);
});

Deno.test("sql_query: a runaway query times out without blocking the guest", async () => {
  await using dir = await tempDir();
  await fixtureDb(dir.path);
  const started = performance.now();
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 20);
  const out = await runTool("sql_query", {
    db_path: "data.db",
    // Finite (a few seconds of work) so the abandoned worker ends on its own.
    query:
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30000000) SELECT count(*) FROM c",
  }, toolContext(dir.path, { limits: { sqlTimeoutMs: 300 } }));
  clearInterval(ticker);
  assert.equal(out.ok, false);
  assert.match(out.error, /timed out/);
  assert.ok(performance.now() - started < 2_000, "answered at the deadline");
  assert.ok(ticks >= 5, "the event loop kept running during the query");
});
