/**
 * Dashboard benchmarks: SSE fan-out (100 clients on one run's stream, every
 * client must receive every event; reports median and p99 delivery delay)
 * and the runs-list latency with 10k runs stored.
 *
 * `deno bench -A bench/web_bench.ts`
 */
import { join } from "node:path";
import { openStore } from "../store/mod.ts";
import { startWebServer } from "../web/server.ts";
import { testSettings } from "../tests/helpers/temp.ts";

const dir = await Deno.makeTempDir({ prefix: "claw-web-bench-" });
const settings = testSettings(dir);
Deno.mkdirSync(settings.runLogsDir, { recursive: true });
const store = openStore(settings.dbPath);
const server = startWebServer({ settings, store, coordinator: null }, { port: 0 });
const auth = { authorization: `Bearer ${server.token}` };

// 10k runs for the list benchmark.
store.runs.importMany(Array.from({ length: 10_000 }, (_, i) => ({
  run_id: `bench-${i}`,
  task: `benchmark task number ${i}`,
  status: i % 10 ? "ok" : "error",
  created_at: new Date(Date.now() - i * 60_000).toISOString(),
})));

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

/** 100 SSE clients on one run; `events` lines appended; returns per-delivery delays in ms. */
async function fanOut(clients: number, events: number): Promise<number[]> {
  const runId = `fan-${crypto.randomUUID().slice(0, 8)}`;
  store.runs.create({ run_id: runId, task: "fan-out", owner_pid: Deno.pid });
  const path = join(settings.runLogsDir, `${runId}.jsonl`);
  Deno.writeTextFileSync(path, "");
  const delays: number[] = [];
  const aborts: AbortController[] = [];
  const readers = await Promise.all(Array.from({ length: clients }, async () => {
    const abort = new AbortController();
    aborts.push(abort);
    const response = await fetch(`${server.url}/api/runlog/${runId}/stream`, {
      headers: auth,
      signal: abort.signal,
    });
    return response.body!.pipeThrough(new TextDecoderStream()).getReader();
  }));
  const received = readers.map(async (reader) => {
    let buffer = "";
    let got = 0;
    while (got < events) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let at;
      while ((at = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        const data = block.split("\n").find((l) => l.startsWith("data:"));
        if (!data) continue;
        const sent = JSON.parse(data.slice(5)).payload.sent_at as number;
        delays.push(performance.timeOrigin + performance.now() - sent);
        got++;
      }
    }
    if (got !== events) throw new Error(`a client received ${got} of ${events} events`);
  });
  for (let i = 0; i < events; i++) {
    const line = {
      ts: new Date().toISOString(),
      event: "tick",
      payload: { i, sent_at: performance.timeOrigin + performance.now() },
    };
    Deno.writeTextFileSync(path, JSON.stringify(line) + "\n", { append: true });
    await new Promise((r) => setTimeout(r, 20));
  }
  await Promise.all(received);
  for (const abort of aborts) abort.abort();
  for (const reader of readers) await reader.cancel().catch(() => {});
  return delays;
}

// Warm-up, then the measured fan-out run; figures are printed for the report.
await fanOut(10, 5);
const delays = await fanOut(100, 50);
console.log(
  `SSE fan-out, 100 clients x 50 events (${delays.length} deliveries): ` +
    `median ${percentile(delays, 50).toFixed(1)} ms, p99 ${percentile(delays, 99).toFixed(1)} ms`,
);

Deno.bench("GET /api/runs/enriched?range=all&limit=200 with 10k runs stored", async () => {
  const response = await fetch(`${server.url}/api/runs/enriched?range=all&limit=200`, {
    headers: auth,
  });
  await response.arrayBuffer();
});

Deno.bench("GET /runs (page, 24 h range) with 10k runs stored", async () => {
  const response = await fetch(`${server.url}/runs?range=24h`, { headers: auth });
  await response.arrayBuffer();
});

Deno.bench("GET /api/runs/enriched?status=error&range=7d with 10k runs stored", async () => {
  const response = await fetch(`${server.url}/api/runs/enriched?status=error&range=7d&limit=500`, {
    headers: auth,
  });
  await response.arrayBuffer();
});

globalThis.addEventListener("unload", () => {
  store.close();
  Deno.removeSync(dir, { recursive: true });
});
