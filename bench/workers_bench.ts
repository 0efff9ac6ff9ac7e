/**
 * Scale-out benchmarks (`deno task bench`): the same capsule work run by the
 * local runtime and through `closed-claw worker` processes on a local
 * nats-server with JetStream, in one bench run, so `deno bench` prints the
 * ratios: a capsule round trip (one model call, then the answer) and an 8×3
 * fan-out (8 capsules at once, 3 file reads each) through one worker against
 * the local runtime (target: at most 1.3×), and the fan-out over two workers
 * against one. The model is an in-process hook with no latency, so what is
 * measured is the runtime and the relay. Skipped without nats-server.
 */
import { join } from "node:path";
import { createCapsule } from "../capsule_runtime/factory.ts";
import { runCapsule } from "../capsule_runtime/host.ts";
import type { CapsuleHooks, CapsulePlacement } from "../capsule_runtime/capsule_types.ts";
import type { ChatMessageWire } from "../guest/protocol_types.ts";
import { testSettings } from "../tests/helpers/temp.ts";
import { natsServerPath, startNats, startWorker } from "../tests/helpers/nats.ts";
import { NatsPlacement } from "../workers/placement.ts";

const root = await Deno.makeTempDir({ prefix: "claw-bench-workers-" });
const settings = { ...testSettings(root), agentRetries: 0 };
Deno.mkdirSync(settings.workspace, { recursive: true });
Deno.writeTextFileSync(join(settings.workspace, "a.txt"), "alpha\n".repeat(20));
const manifest = createCapsule(settings.agentsDir, {
  name: "Bench reader",
  description: "Reads files.",
  tools_allowlist: ["file_io"],
});

/** A model with no latency: `reads` file_io reads (native calls), then the answer. */
function hooks(reads: number): CapsuleHooks {
  return {
    complete: ({ messages }) => {
      const done = messages.filter((m: ChatMessageWire) => m.role === "tool").length;
      const usage = { input_tokens: 1, output_tokens: 1 };
      if (done >= reads) return Promise.resolve({ text: "done", usage });
      return Promise.resolve({
        text: "",
        usage,
        tool_calls: [{ id: `c${done}`, name: "file_io", args: { op: "read", path: "a.txt" } }],
      });
    },
  };
}

async function capsule(reads: number, placement?: CapsulePlacement): Promise<void> {
  const result = await runCapsule({
    settings,
    manifest,
    task: "Read a.txt",
    hooks: hooks(reads),
    toolMode: "native",
    placement,
  });
  if (result.status !== "ok") {
    throw new Error(`capsule failed: ${result.error_code} ${result.error_message}`);
  }
}

async function fanOut(placement?: CapsulePlacement): Promise<void> {
  await Promise.all(Array.from({ length: 8 }, () => capsule(3, placement)));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function timed(work: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
}

/**
 * Measured when the module loads, interleaved (local, one worker, two workers,
 * local, …) so the machine's drift hits every side alike, and printed as ratios.
 * Not inside `Deno.bench`: its timing loop and the NATS client's socket do not
 * get along (the bench process spins), while a plain loop measures them fine.
 */
async function measure(): Promise<string[]> {
  const one = await startNats(join(root, "nats-one"));
  const two = await startNats(join(root, "nats-two"));
  const roots = [settings.workspace];
  const workers = [
    await startWorker(join(root, "w"), { name: "solo", url: one.url, roots, maxCapsules: 8 }),
    await startWorker(join(root, "w"), { name: "pair-a", url: two.url, roots, maxCapsules: 8 }),
    await startWorker(join(root, "w"), { name: "pair-b", url: two.url, roots, maxCapsules: 8 }),
  ];
  const viaOne = await NatsPlacement.open({ ...settings, natsUrl: one.url });
  const viaTwo = await NatsPlacement.open({ ...settings, natsUrl: two.url });
  try {
    await Promise.all(workers.map((w) => w.ready));
    // Warm every path (Deno caches, the workers' capsule folders) before measuring.
    await capsule(1);
    await capsule(1, viaOne);
    await fanOut(viaTwo);
    const trip = { local: [] as number[], one: [] as number[] };
    for (let i = 0; i < 15; i++) {
      trip.local.push(await timed(() => capsule(0)));
      trip.one.push(await timed(() => capsule(0, viaOne)));
    }
    const fan = { local: [] as number[], one: [] as number[], two: [] as number[] };
    for (let i = 0; i < 5; i++) {
      fan.local.push(await timed(() => fanOut()));
      fan.one.push(await timed(() => fanOut(viaOne)));
      fan.two.push(await timed(() => fanOut(viaTwo)));
    }
    const ms = (values: number[]) => `${median(values).toFixed(0)} ms`;
    const ratio = (a: number[], b: number[]) => `${(median(a) / median(b)).toFixed(2)}×`;
    return [
      `capsule round trip: local ${ms(trip.local)}, one worker ${ms(trip.one)} → ${
        ratio(trip.one, trip.local)
      } (target ≤ 1.3×)`,
      `8×3 fan-out: local ${ms(fan.local)}, one worker ${ms(fan.one)} → ${
        ratio(fan.one, fan.local)
      } (target ≤ 1.3×)`,
      `8×3 fan-out: two workers ${ms(fan.two)} ÷ one worker → ${ratio(fan.two, fan.one)}`,
    ];
  } finally {
    await viaOne.close();
    await viaTwo.close();
    for (const w of workers) await w.kill();
    await one.stop();
    await two.stop();
  }
}

const lines = natsServerPath()
  ? await measure()
  : ["workers_bench: skipped: nats-server is not installed"];

// One cheap bench keeps the file a bench module; the figures above are what it reports.
Deno.bench("scale-out figures (printed at the end)", () => {});

globalThis.addEventListener("unload", () => {
  console.log(`\nscale-out through NATS (medians, interleaved):`);
  for (const line of lines) console.log(`  ${line}`);
});
