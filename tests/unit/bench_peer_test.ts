/** The peer bench's reply script: each client gets the turn its protocol expects. */
import assert from "node:assert/strict";
import type { FakeReply, RecordedRequest } from "../fakes/mod.ts";
import {
  breakdown,
  callKind,
  measure,
  peerScript,
  planFor,
  readTask,
  type Workload,
} from "../../bench/_peer_script.ts";

const WORKLOAD: Workload = { name: "two", groups: [["a.txt", "b.txt"]] };

// deno-lint-ignore no-explicit-any -- request JSON, as the fake server records it.
function request(body: any, bytes = 0): RecordedRequest {
  return {
    kind: "openai",
    method: "POST",
    path: "/v1/chat/completions",
    headers: bytes ? { "content-length": String(bytes) } : {},
    body: { model: "gpt-4o-mini", ...body },
    receivedAt: 0,
    stream: false,
    model: "gpt-4o-mini",
  };
}

/** A conversation after `reads` reads, as a native client sends it. */
function nativeMessages(reads: number) {
  const messages: unknown[] = [
    { role: "system", content: "You read files." },
    { role: "user", content: readTask(WORKLOAD.groups[0]) },
  ];
  for (let i = 0; i < reads; i++) {
    messages.push({ role: "assistant", content: null, tool_calls: [{ id: `c${i}` }] });
    messages.push({ role: "tool", tool_call_id: `c${i}`, content: "text" });
  }
  return messages;
}

const tools = (name: string) => [{ type: "function", function: { name, parameters: {} } }];

async function answer(body: unknown): Promise<FakeReply> {
  return await peerScript(() => WORKLOAD).handler(request(body), 0);
}

Deno.test("native clients get one read per turn, in order, then a final text", async () => {
  const peer = (reads: number) =>
    answer({ tools: tools("read_file"), messages: nativeMessages(reads) });
  assert.deepEqual((await peer(0)).toolCalls, [{ name: "read_file", args: { path: "a.txt" } }]);
  assert.deepEqual((await peer(1)).toolCalls, [{ name: "read_file", args: { path: "b.txt" } }]);
  assert.deepEqual(await peer(2), { text: "Read 2 files." });
  const ours = await answer({ tools: tools("file_io"), messages: nativeMessages(1) });
  assert.deepEqual(ours.toolCalls, [{ name: "file_io", args: { op: "read", path: "b.txt" } }]);
});

Deno.test("the JSON-step protocol gets file_io steps, then a final step", async () => {
  const step = (assistants: number) =>
    answer({
      response_format: { type: "json_schema", json_schema: { name: "agent_step", schema: {} } },
      messages: [
        { role: "system", content: "Answer with one step." },
        { role: "user", content: readTask(WORKLOAD.groups[0]) },
        ...Array.from({ length: assistants }, () => [
          { role: "assistant", content: "{}" },
          { role: "user", content: "observation" },
        ]).flat(),
      ],
    });
  const first = (await step(0)).json as Record<string, string>;
  assert.equal(first.action, "tool");
  assert.deepEqual(JSON.parse(first.args_json), { op: "read", path: "a.txt" });
  assert.equal(((await step(2)).json as Record<string, string>).action, "final");
});

Deno.test("a plan schema that asks for complexity gets it with the workload's subtasks", async () => {
  const reply = await answer({
    response_format: {
      type: "json_schema",
      json_schema: {
        name: "task_plan",
        schema: { properties: { complexity: {}, subtasks: {} } },
      },
    },
    messages: [{ role: "user", content: "Plan this." }],
  });
  const json = reply.json as { complexity: string; subtasks: { description: string }[] };
  assert.equal(json.complexity, "simple");
  assert.deepEqual(
    json.subtasks.map((s) => s.description),
    planFor(WORKLOAD).map((p) => p.description),
  );
});

Deno.test("measure counts a run's requests, bytes and calls up to the first tool call", () => {
  const requests = [request({}, 999), request({}, 10), request({}, 20), request({}, 30)];
  const figures = measure(requests, 1, new Set([2, 3]), 5);
  assert.deepEqual(figures, {
    bytes: 60,
    tokens: 0,
    calls: 3,
    bytesPerCall: 20,
    firstTool: 2,
    ms: 5,
  });
  // Tokens of what the model reads (messages, tools, schema), by the counter given.
  const counted = measure(
    [request({ messages: [{ role: "user", content: "hi" }] })],
    0,
    new Set(),
    1,
    (text) => text.length,
  );
  assert.equal(
    counted.tokens,
    JSON.stringify({ messages: [{ role: "user", content: "hi" }] }).length,
  );
});

Deno.test("breakdown groups a run's requests by kind of call and splits their bytes by part", () => {
  const plan = request({
    messages: [{ role: "system", content: "plan it" }, { role: "user", content: "Task: x" }],
    response_format: { type: "json_schema", json_schema: { name: "task_plan", schema: {} } },
  }, 300);
  const step = (reads: number) =>
    request({ messages: nativeMessages(reads), tools: tools("file_io") }, 100 + reads);
  const synthesis = request({
    messages: [{ role: "system", content: "You are the final summarizer of a run." }],
  }, 50);
  assert.deepEqual([plan, step(0), synthesis].map(callKind), [
    "task_plan",
    "agent step",
    "synthesis",
  ]);
  const groups = breakdown([plan, step(0), step(1), synthesis]);
  assert.deepEqual(groups.map((g) => [g.kind, g.calls, g.bytes]), [
    ["task_plan", 1, 300],
    ["agent step", 2, 201],
    ["synthesis", 1, 50],
  ]);
  const steps = groups[1];
  const json = (v: unknown) => JSON.stringify(v).length;
  assert.equal(steps.tools, 2 * json(tools("file_io")));
  assert.equal(steps.system, 2 * json({ role: "system", content: "You read files." }));
  assert.ok(steps.messages > 0);
  assert.equal(steps.schema, 0);
  assert.ok(groups[0].schema > 0);
  assert.equal(steps.tokens, 0, "no counter, no tokens");
  const counted = breakdown([step(0), step(1)], () => 7);
  assert.equal(counted[0].tokens, 14);
});
