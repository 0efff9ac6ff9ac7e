import assert from "node:assert/strict";
import { findCycles, phaseOutcome, type PoolItem, runPool } from "../../coordinator/pool.ts";

function item(task_id: string, depends_on: string[] = []): PoolItem {
  return { task_id, depends_on, status: depends_on.length ? "waiting" : "pending", error: "" };
}

Deno.test("the pool runs ready items in parallel up to the limit and respects dependencies", async () => {
  const items = [item("a"), item("b"), item("c"), item("d", ["a", "b"]), item("e", ["d"])];
  let running = 0;
  let peak = 0;
  const order: string[] = [];
  await runPool(items, {
    maxParallel: 2,
    signal: new AbortController().signal,
    onChange: () => {},
    runItem: async (i) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 20));
      order.push(i.task_id);
      running--;
      i.status = "completed";
    },
  });
  assert.equal(peak, 2);
  assert.ok(order.indexOf("d") > order.indexOf("a") && order.indexOf("d") > order.indexOf("b"));
  assert.equal(order.at(-1), "e");
  assert.deepEqual(phaseOutcome(items, "execution"), { status: "ok", error: "" });
});

Deno.test("a failed dependency fails its dependants without running them", async () => {
  const items = [item("a"), item("b", ["a"]), item("c", ["b"]), item("d")];
  const ran: string[] = [];
  await runPool(items, {
    maxParallel: 4,
    signal: new AbortController().signal,
    onChange: () => {},
    runItem: (i) => {
      ran.push(i.task_id);
      i.status = i.task_id === "a" ? "failed" : "completed";
      return Promise.resolve();
    },
  });
  assert.deepEqual(ran.sort(), ["a", "d"]);
  assert.deepEqual(items.map((i) => [i.task_id, i.status, i.error]), [
    ["a", "failed", ""],
    ["b", "failed", "dependency_failed"],
    ["c", "failed", "dependency_failed"],
    ["d", "completed", ""],
  ]);
  assert.deepEqual(phaseOutcome(items, "execution"), {
    status: "error",
    error: "execution_phase_failed",
  });
});

Deno.test("cycles are found up front and fail at once instead of idling", async () => {
  const items = [item("a", ["c"]), item("b", ["a"]), item("c", ["b"]), item("d"), item("e", ["e"])];
  assert.deepEqual([...findCycles(items)].sort(), ["a", "b", "c", "e"]);
  const started = performance.now();
  await runPool(items, {
    maxParallel: 2,
    signal: new AbortController().signal,
    onChange: () => {},
    runItem: (i) => Promise.resolve(void (i.status = "completed")),
  });
  assert.ok(performance.now() - started < 500);
  assert.deepEqual(items.map((i) => i.status), [
    "failed",
    "failed",
    "failed",
    "completed",
    "failed",
  ]);
  assert.equal(items[0].error, "unresolved_dependencies");
});

Deno.test("aborting the pool cancels open items and waits for running ones", async () => {
  const items = [item("a"), item("b", ["a"]), item("c")];
  const controller = new AbortController();
  await runPool(items, {
    maxParallel: 1,
    signal: controller.signal,
    onChange: () => {},
    runItem: async (i) => {
      controller.abort();
      await new Promise((r) => setTimeout(r, 10));
      i.status = "cancelled";
      i.error = "cancelled_by_user";
    },
  });
  assert.deepEqual(items.map((i) => i.status), ["cancelled", "cancelled", "cancelled"]);
  assert.deepEqual(phaseOutcome(items, "discovery"), {
    status: "error",
    error: "cancelled_by_user",
  });
});

Deno.test("an item whose runner throws fails alone", async () => {
  const items = [item("a"), item("b")];
  await runPool(items, {
    maxParallel: 2,
    signal: new AbortController().signal,
    onChange: () => {},
    runItem: (i) => {
      if (i.task_id === "a") return Promise.reject(new Error("boom"));
      i.status = "completed";
      return Promise.resolve();
    },
  });
  assert.equal(items[0].status, "failed");
  assert.match(items[0].error, /coordinator_error: boom/);
  assert.equal(items[1].status, "completed");
});

Deno.test("a long pool adds one abort listener, not one per finished item", async () => {
  const items = Array.from({ length: 30 }, (_, i) => item(`t${i}`));
  const signal = new AbortController().signal;
  let listeners = 0;
  const add = signal.addEventListener.bind(signal);
  signal.addEventListener = ((...args: Parameters<typeof add>) => {
    listeners++;
    return add(...args);
  }) as typeof signal.addEventListener;
  await runPool(items, {
    maxParallel: 1,
    signal,
    onChange: () => {},
    runItem: (i) => Promise.resolve(void (i.status = "completed")),
  });
  assert.ok(items.every((i) => i.status === "completed"));
  assert.equal(listeners, 1);
});
