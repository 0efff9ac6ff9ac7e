import assert from "node:assert/strict";
import { join } from "node:path";
import { openDatabase } from "../../store/db.ts";
import { migrate, MIGRATIONS, SCHEMA_VERSION, schemaVersion } from "../../store/migrations.ts";
import { ClosedClawError } from "../../core/errors.ts";
import { tempDir } from "../helpers/temp.ts";

Deno.test("a new database is migrated to the current version, and migrating again does nothing", async () => {
  await using dir = await tempDir();
  const db = openDatabase(join(dir.path, "r.db"));
  assert.deepEqual(migrate(db), MIGRATIONS.map((_, i) => i + 1));
  assert.equal(schemaVersion(db), SCHEMA_VERSION);
  assert.deepEqual(migrate(db), []);
  const journal = db.prepare("PRAGMA journal_mode").get() as { journal_mode: string };
  assert.equal(journal.journal_mode, "wal");
  db.close();
});

Deno.test("an older schema is upgraded step by step and keeps its data", async () => {
  await using dir = await tempDir();
  const db = openDatabase(join(dir.path, "old.db"));
  const steps = [
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",
    "ALTER TABLE notes ADD COLUMN tag TEXT NOT NULL DEFAULT 'none'",
    "CREATE INDEX notes_tag ON notes(tag)",
  ];
  migrate(db, steps.slice(0, 1));
  db.prepare("INSERT INTO notes (body) VALUES (?)").run("kept");
  assert.equal(schemaVersion(db), 1);
  assert.deepEqual(migrate(db, steps), [2, 3]);
  assert.deepEqual(
    { ...(db.prepare("SELECT body, tag FROM notes").get() as object) },
    { body: "kept", tag: "none" },
  );
  db.close();
});

Deno.test("a failing migration step rolls back and leaves the version unchanged", async () => {
  await using dir = await tempDir();
  const db = openDatabase(join(dir.path, "bad.db"));
  const steps = ["CREATE TABLE a (x)", "CREATE TABLE b (y); INSERT INTO nowhere VALUES (1)"];
  assert.throws(() => migrate(db, steps));
  assert.equal(schemaVersion(db), 1);
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type='table' AND name='b'").all();
  assert.equal(tables.length, 0);
  db.close();
});

Deno.test("a database newer than this build is refused with a clear error", async () => {
  await using dir = await tempDir();
  const db = openDatabase(join(dir.path, "new.db"));
  db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 5}`);
  assert.throws(() => migrate(db), (e) => e instanceof ClosedClawError && e.code === "db_too_new");
  db.close();
});
