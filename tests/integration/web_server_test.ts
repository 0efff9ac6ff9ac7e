/**
 * Starting the dashboard when the live feed cannot watch the data folder
 * (on Linux: the inotify instance or watch limit is reached), and reading
 * the skill library once per page.
 */
import assert from "node:assert/strict";
import { ClosedClawError } from "../../core/errors.ts";
import { listSkills } from "../../capsule_runtime/skills.ts";
import { openStore } from "../../store/mod.ts";
import { skillsView } from "../../web/views/skills_view.ts";
import { startWebServer } from "../../web/server.ts";
import { tempDir, testSettings } from "../helpers/temp.ts";

type WatchFs = typeof Deno.watchFs;

/** Runs `fn` while `Deno.watchFs` fails the way it does once the OS watch limit is reached. */
async function withWatchLimit(
  failOnCall: number,
  fn: (opened: Deno.FsWatcher[]) => Promise<void>,
): Promise<void> {
  const real = Deno.watchFs;
  const opened: Deno.FsWatcher[] = [];
  let calls = 0;
  const limited: WatchFs = (paths, options) => {
    if (++calls === failOnCall) throw new Error("OS file watch limit reached.");
    const watcher = real(paths, options);
    opened.push(watcher);
    return watcher;
  };
  Deno.watchFs = limited;
  try {
    await fn(opened);
  } finally {
    Deno.watchFs = real;
  }
}

function freePort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  return port;
}

/** Binds `port` again, allowing the failed server a moment to let go of it. */
async function canBind(port: number): Promise<boolean> {
  for (let attempt = 0; attempt < 40; attempt++) {
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return true;
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return false;
}

/** A closed watcher's iterator ends at once; an open one waits for file events. */
async function isClosed(watcher: Deno.FsWatcher): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), 1000));
  const ended = watcher[Symbol.asyncIterator]().next().then((result) => result.done === true);
  try {
    return await Promise.race([ended, waited]);
  } finally {
    clearTimeout(timer);
  }
}

for (const failOnCall of [1, 2]) {
  Deno.test(`web startup: a failed watch (#${failOnCall}) is one clear error and frees the port and every watcher`, async () => {
    await using dir = await tempDir("claw-web-");
    const settings = testSettings(dir.path);
    Deno.mkdirSync(settings.homeDir, { recursive: true });
    const store = openStore(settings.dbPath);
    const port = freePort();
    await withWatchLimit(failOnCall, async (opened) => {
      assert.throws(
        () => startWebServer({ settings, store, coordinator: null }, { port }),
        (e) =>
          e instanceof ClosedClawError && e.code === "live_watch_failed" &&
          e.toLine().includes("OS file watch limit reached") && !e.toLine().includes("\n"),
      );
      assert.ok(await canBind(port), `port ${port} is still bound after the failed start`);
      assert.equal(opened.length, failOnCall - 1);
      for (const watcher of opened) assert.ok(await isClosed(watcher), "a watcher was left open");
    }).finally(() => store.close());
  });
}

Deno.test("web skills view: each skill file is read once, with the catalogue's fields", async () => {
  await using dir = await tempDir("claw-web-");
  const settings = testSettings(dir.path);
  Deno.mkdirSync(settings.homeDir, { recursive: true });
  const store = openStore(settings.dbPath);
  const real = Deno.readTextFileSync;
  const reads = new Map<string, number>();
  Deno.readTextFileSync = (path) => {
    reads.set(String(path), (reads.get(String(path)) ?? 0) + 1);
    return real(path);
  };
  let view;
  try {
    view = skillsView({ settings, store, coordinator: null });
  } finally {
    Deno.readTextFileSync = real;
    store.close();
  }
  const catalogue = listSkills();
  assert.ok(catalogue.length >= 3);
  assert.deepEqual(
    view.map((s) => [s.skill_id, s.label, s.description, s.content_length]),
    catalogue.map((s) => [s.skill_id, s.label, s.description, s.content_length]),
  );
  assert.ok(view.every((s) => s.content_preview.length > 0 && s.agent_count === 0));
  assert.deepEqual([...reads.keys()].sort(), catalogue.map((s) => s.path).sort());
  assert.deepEqual(new Set(reads.values()), new Set([1]));
});
