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
