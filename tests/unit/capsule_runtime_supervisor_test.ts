import assert from "node:assert/strict";
import type { LaunchPlan } from "../../capsule_runtime/launcher.ts";
import { CapsuleProcess, type StdoutItem } from "../../capsule_runtime/supervisor.ts";

/** A plan that runs a shell snippet instead of a capsule (the supervisor does not care). */
function shellPlan(script: string): LaunchPlan {
  return {
    command: "bash",
    args: ["-c", script],
    env: { PATH: "/usr/bin:/bin" },
    cwd: "/",
    sandbox: "deno-only",
    denoFlags: [],
    guestEntry: "",
    refusedTools: [],
    tools: [],
    deniedPaths: [],
    warnings: [],
    permissions: {
      readRoots: [],
      writeRoots: [],
      fileWrite: false,
      networkHosts: [],
      sqlPaths: [],
    },
  };
}

async function collect(script: string, maxLineBytes = 1024): Promise<StdoutItem[]> {
  const proc = CapsuleProcess.spawn(shellPlan(script));
  const items: StdoutItem[] = [];
  for await (const item of proc.lines(maxLineBytes)) items.push(item);
  await proc.status;
  return items;
}

Deno.test("supervisor: a last line without a newline is still read", async () => {
  const items = await collect(
    `printf '{"v":1,"type":"ready"}\\n{"v":1,"type":"log","level":"info","msg":"end"}'`,
  );
  assert.deepEqual(items.map((i) => i.ok && i.message.type), ["ready", "log"]);
});

Deno.test("supervisor: lines split across writes are joined; an over-long line is reported once", async () => {
  const items = await collect(
    `printf '{"v":1,'; sleep 0.05; printf '"type":"ready"}\\n'; head -c 3000 /dev/zero | tr '\\0' x; printf '\\n{"v":1,"type":"ready"}\\n'`,
  );
  assert.equal(items.length, 3);
  assert.ok(items[0].ok && items[0].message.type === "ready");
  assert.ok(!items[1].ok && "tooLong" in items[1]);
  assert.ok(items[2].ok && items[2].message.type === "ready");
});

Deno.test("supervisor: a waiting capsule's next line is read ahead, then handed to the next reader once", async () => {
  const proc = CapsuleProcess.spawn(shellPlan(
    `echo '{"v":1,"type":"ready"}'; read go; echo '{"v":1,"type":"log","level":"info","msg":"next"}'; read end`,
  ));
  try {
    for await (const item of proc.lines(1024)) {
      assert.ok(item.ok && item.message.type === "ready");
      break; // a session ends; the process waits for the next one
    }
    const before = proc.bytesRead;
    proc.readAhead();
    await proc.send({ v: 1, type: "cancel", reason: "go" }); // any line: the script prints its next
    const deadline = Date.now() + 5000;
    while (proc.bytesRead === before && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(proc.bytesRead > before, "the next line was read while nobody asked for it");
    const read: string[] = [];
    for await (const item of proc.lines(1024)) {
      read.push(item.ok ? item.message.type : "bad");
      break;
    }
    assert.deepEqual(read, ["log"]);
  } finally {
    proc.kill("test over");
    await proc.status;
  }
});
