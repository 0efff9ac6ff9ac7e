/** The peer bench's reply script: each client gets the turn its protocol expects. */
import assert from "node:assert/strict";
import type { FakeReply, RecordedRequest } from "../fakes/mod.ts";
import { measure, peerScript, planFor, readTask, type Workload } from "../../bench/_peer_script.ts";

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
  assert.deepEqual(figures, { bytes: 60, calls: 3, bytesPerCall: 20, firstTool: 2, ms: 5 });
});
