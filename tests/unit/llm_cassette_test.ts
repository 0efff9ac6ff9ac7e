/** Cassette request hashes. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  CassetteRecorder,
  createReplayClient,
  readCassette,
  requestHash,
} from "../../llm/cassette.ts";
import { LlmError } from "../../llm/errors.ts";
import type {
  ChatMessage,
  CompletionRequest,
  CompletionResponse,
  ToolDeclaration,
} from "../../llm/types.ts";
import { rejection } from "../helpers/assert.ts";
import { tempDir } from "../helpers/temp.ts";

Deno.test("requestHash: messages and schema count, key order and the model do not", () => {
  const messages = [{ role: "user" as const, content: "hi" }];
  const a = requestHash({ messages, schema: { name: "s", jsonSchema: { type: "object", a: 1 } } });
  const b = requestHash({ messages, schema: { name: "s", jsonSchema: { a: 1, type: "object" } } });
  assert.equal(a, b);
  assert.notEqual(a, requestHash({ messages }));
  assert.notEqual(
    requestHash({ messages }),
    requestHash({ messages: [{ role: "user", content: "hi!" }] }),
  );
  assert.notEqual(
    requestHash({ messages }),
    requestHash({ messages: [{ role: "system", content: "hi" }] }),
  );
});

const tools: ToolDeclaration[] = [{
  name: "read_file",
  description: "Read a file.",
  parameters: { type: "object", properties: { path: { type: "string" } }, required: ["path"] },
}];
const toolTurns: ChatMessage[] = [
  { role: "system", content: "stable" },
  { role: "user", content: "read a.txt" },
  {
    role: "assistant",
    content: "",
    toolCalls: [{ id: "call_1", name: "read_file", args: { path: "a.txt" } }],
  },
  { role: "tool", content: "hello", toolCallId: "call_1", name: "read_file" },
];

Deno.test("requestHash: declared tools and tool fields count; a request without them hashes as in version 1", () => {
  const messages = [{ role: "user" as const, content: "hi" }];
  // What version 1 hashed: the messages' role and content, and the schema.
  const v1 = createHash("sha256").update(
    '{"messages":[{"content":"hi","role":"user"}],"schema":null}',
  )
    .digest("hex");
  assert.equal(requestHash({ messages }), v1);
  assert.equal(requestHash({ messages, tools: [] }), v1);
  assert.notEqual(requestHash({ messages, tools }), v1);
  const renamed = [{ ...tools[0], parameters: { type: "object" } }];
  assert.notEqual(requestHash({ messages, tools }), requestHash({ messages, tools: renamed }));
  const base = requestHash({ messages: toolTurns, tools });
  const otherId = toolTurns.map((m) => (m.role === "tool" ? { ...m, toolCallId: "call_2" } : m));
  assert.notEqual(base, requestHash({ messages: otherId, tools }));
  const otherArgs = toolTurns.map((m) =>
    m.toolCalls ? { ...m, toolCalls: [{ ...m.toolCalls[0], args: { path: "b.txt" } }] } : m
  );
  assert.notEqual(base, requestHash({ messages: otherArgs, tools }));
});

Deno.test("cassette: tool calls, tool results, declared tools and cached usage round-trip", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "tools.json");
  const request: CompletionRequest = { messages: toolTurns, tools, cachePrefix: 1 };
  const response: CompletionResponse = {
    text: "",
    toolCalls: [
      { id: "call_2", name: "read_file", args: { path: "b.txt" } },
      { id: "call_3", name: "read_file", args: {}, argsError: "The arguments are not valid JSON" },
    ],
    usage: { inputTokens: 900, outputTokens: 20, cachedInputTokens: 800, cacheWriteTokens: 50 },
    model: "claude-sonnet-4-5",
    finishReason: "tool_use",
  };
  new CassetteRecorder(path).append(
    "agent_step",
    { provider: "claude", model: "claude-sonnet-4-5" },
    request,
    response,
  );
  const saved = JSON.parse(Deno.readTextFileSync(path));
  assert.equal(saved.version, 2);
  assert.deepEqual(saved.entries[0].request.messages, toolTurns);
  assert.deepEqual(saved.entries[0].request.tools, tools);
  assert.deepEqual(readCassette(path)[0].response, response);

  const replay = createReplayClient(path);
  assert.deepEqual(await replay.complete(request), response);

  // Other declared tools are a mismatch that names them.
  const again = createReplayClient(path);
  const other = { ...tools[0], name: "list_dir" };
  const error = await rejection(again.complete({ ...request, tools: [other] }), LlmError);
  assert.equal(error.kind, "replay_mismatch");
  assert.match(
    error.message,
    /declared tools were expected as read_file but this run declared list_dir/,
  );
  const otherId = toolTurns.map((m) => (m.role === "tool" ? { ...m, toolCallId: "call_9" } : m));
  const byId = await rejection(again.complete({ messages: otherId, tools }), LlmError);
  assert.match(byId.message, /message 4 \(tool\) has other tool calls or tool result ids/);
});

Deno.test("cassette: a version 1 cassette still loads and replays", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "v1.json");
  const messages = [{ role: "user" as const, content: "hi" }];
  Deno.writeTextFileSync(
    path,
    JSON.stringify({
      version: 1,
      entries: [{
        hash: requestHash({ messages }),
        purpose: "classify",
        provider: "openai",
        model: "gpt-4o-mini",
        request: { messages },
        response: {
          text: "hello",
          usage: { inputTokens: 3, outputTokens: 1 },
          model: "gpt-4o-mini",
        },
      }],
    }),
  );
  const reply = await createReplayClient(path).complete({ messages });
  assert.deepEqual(reply, {
    text: "hello",
    usage: { inputTokens: 3, outputTokens: 1 },
    model: "gpt-4o-mini",
  });
});
