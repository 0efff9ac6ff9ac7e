/**
 * Resource limits hold against hostile programs: a memory bomb, a fork bomb,
 * a CPU spinner, a file that grows without end and a flood of small files
 * each end their tool call with the typed error (which the model sees and a
 * `limit_breached` event reports) within a bounded time, the capsule itself
 * goes on to its final answer, this process (the coordinator's side) stays
 * under MAX_HOST_RSS_MB, and no process of the program outlives the call.
 *
 * Every test is bounded for a 2-core CI machine: small limits, a hard
 * deadline (the run is aborted and the test fails past it), and a process
 * count that the kernel caps (RLIMIT_NPROC in bubblewrap's user namespace,
 * or a pids cgroup where the host runs as root).
 */
import { memoryCgroupBase } from "../../capsule_runtime/pids_cgroup.ts";
import assert from "node:assert/strict";
import { machineFacts } from "../../capsule_runtime/machine.ts";
import { limitFacts } from "../../capsule_runtime/limit_facts.ts";
import type { Limits } from "../../capsule_runtime/limits.ts";
import type { ToolName } from "../../capsule_runtime/manifest.ts";
import {
  capsuleFixture,
  eventsOfType,
  finalStep,
  pidsWithCommand,
  scriptedModel,
  toolStep,
} from "../fixtures/capsule_harness.ts";

/** The test process (the host side of every capsule here) stays under this. */
const MAX_HOST_RSS_MB = 600;

const bwrapWorks = (await machineFacts()).bwrapPath !== "";
const facts = limitFacts();
const missing = !bwrapWorks
  ? "bubblewrap does not work here"
  : !facts.prlimitPath
  ? "util-linux's prlimit is missing"
  : "";
const processesBound = !facts.root || facts.pidsCgroupBase !== "";

interface Hostile {
  what: string;
  tool: ToolName;
  /** The program; `MARK` is replaced by a marker unique to the test. */
  program: string;
  limits: Partial<Limits>;
  code: string;
  /** The call must end within this. */
  withinMs: number;
  skip?: string;
}

const HOSTILE: Hostile[] = [
  {
    what: "a memory bomb",
    tool: "python_exec",
    program: "# MARK\nx = []\nwhile True:\n    x.append(bytearray(32 << 20))",
    limits: { memory_mb: 256 },
    code: "limit_memory",
    withinMs: 20_000,
  },
  {
    // memfd files are not address space: only a memory cgroup counts them (root hosts).
    what: "a memory bomb in memfd files (not counted by RLIMIT_AS)",
    tool: "python_exec",
    program: "# MARK\nimport os\nfds = [os.memfd_create(f'm{i}') for i in range(8)]\n" +
      "chunk = b'x' * (1 << 20)\nfor fd in fds:\n    for _ in range(100):\n        os.write(fd, chunk)\n" +
      "print('WROTE 800 MiB')",
    limits: { memory_mb: 128 },
    code: "limit_memory",
    withinMs: 20_000,
    skip: !facts.root
      ? "needs a memory cgroup, which only root gets"
      : memoryCgroupBase() === "" && !facts.pidsCgroupBase.startsWith("/sys/fs/cgroup/closed_claw")
      ? "no writable memory cgroup here"
      : "",
  },
  {
    what: "a fork bomb that avoids the deny-list",
    tool: "terminal",
    program: "echo MARK >/dev/null; b(){ b|b& }; b; sleep 60",
    limits: { processes: 32 },
    code: "limit_processes",
    withinMs: 20_000,
    skip: processesBound ? "" : "root without a writable pids cgroup",
  },
  {
    what: "a CPU spinner past its time",
    tool: "python_exec",
    program: "# MARK\nwhile True:\n    pass",
    limits: { cpu_seconds: 2 },
    code: "limit_cpu",
    withinMs: 20_000,
  },
  {
    what: "a file that grows without end",
    tool: "terminal",
    program: "echo MARK >/dev/null; yes MARK > grow.txt",
    limits: { file_size_mb: 8 },
    code: "limit_file_size",
    withinMs: 20_000,
  },
  {
    what: "a flood of small files",
    tool: "terminal",
    program: "echo MARK >/dev/null; i=0; while :; do echo x > f$i; i=$((i+1)); done",
    limits: { bytes_written_mb: 2 },
    code: "limit_bytes_written",
    withinMs: 20_000,
  },
];

async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return check();
}

for (const h of HOSTILE) {
  const skip = missing || h.skip || "";
  Deno.test({
    name: `limits: ${h.what} ends with ${h.code}${skip ? ` (skipped: ${skip})` : ""}`,
    ignore: skip !== "",
    fn: async () => {
      await using fx = await capsuleFixture({
        tools: [h.tool],
        permissions: { read_roots: ["."], write_roots: ["."], file_write: true },
      });
      fx.manifest = { ...fx.manifest, limits: { ...fx.manifest.limits, ...h.limits } as Limits };
      const mark = `claw-limit-${crypto.randomUUID().slice(0, 8)}`;
      const program = h.program.replaceAll("MARK", mark);
      const args = h.tool === "terminal"
        ? { cmd: program, timeout_s: 120 }
        : { code: program, timeout_s: 120 };
      const model = scriptedModel([toolStep(h.tool, args), finalStep("stopped as expected")]);
      const deadline = AbortSignal.timeout(h.withinMs + 30_000);
      const t0 = performance.now();
      const result = await fx.run({
        task: h.what,
        hooks: model,
        timeoutMs: 90_000,
        signal: deadline,
      });
      const ms = performance.now() - t0;

      const done = eventsOfType(fx.events, "tool_done");
      assert.equal(done.length, 1, JSON.stringify(fx.events).slice(0, 2000));
      assert.equal(done[0].ok, false);
      assert.match(done[0].error, new RegExp(`^${h.code}: `), done[0].error);
      const breached = eventsOfType(fx.events, "limit_breached");
      assert.deepEqual(breached.map((b) => b.limit), [h.code]);
      // The model saw the typed error, and the capsule went on to its answer.
      assert.ok(JSON.stringify(model.prompts.at(-1)).includes(h.code), "the model sees the code");
      assert.equal(result.status, "ok", `${result.error_code}: ${result.error_message}`);
      assert.ok(ms < h.withinMs, `ended after ${Math.round(ms)} ms (bound ${h.withinMs})`);
      const gone = await waitUntil(() => pidsWithCommand(mark).length === 0, 5_000);
      assert.ok(gone, `processes outlived the call: ${pidsWithCommand(mark).join(", ")}`);
      const rssMb = Deno.memoryUsage().rss / 2 ** 20;
      assert.ok(rssMb < MAX_HOST_RSS_MB, `host RSS ${Math.round(rssMb)} MiB`);
    },
  });
}
