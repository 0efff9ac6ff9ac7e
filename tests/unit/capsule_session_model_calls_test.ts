/**
 * The first model call asked early: as the guest is handed its `start`, the
 * host asks the model what the stock guest will ask first, and answers the
 * guest's first request with it only when that request hashes the same.
 */
import assert from "node:assert/strict";
import {
  type ModelCallsSession,
  SessionModelCalls,
} from "../../capsule_runtime/session_model_calls.ts";
import { firstMessages } from "../../guest/prompt_rules.ts";
import type {
  ChatMessageWire,
  HostMessage,
  LlmRequestMessage,
  StartMessage,
} from "../../guest/protocol_types.ts";
import { startMessage } from "../helpers/start_message.ts";

const start = startMessage();

interface Asked {
  messages: ChatMessageWire[];
  signal?: AbortSignal;
}

/** A session whose model answers "answer <n>" to its n-th call; what it asked and sent is kept. */
function session(overrides: { start?: StartMessage; guestEntry?: string; pending?: number } = {}) {
  const asked: Asked[] = [];
  const sent: HostMessage[] = [];
  const fake = {
    options: {
      guestEntry: overrides.guestEntry,
      hooks: {
        complete: (request: Asked) => {
          asked.push(request);
          return Promise.resolve({
            text: `answer ${asked.length}`,
            usage: { input_tokens: 1, output_tokens: 1 },
          });
        },
      },
    },
    start: overrides.start ?? start,
    replay: {
      pending: overrides.pending ?? 0,
      model: () => ({ step: 1 }),
      recordModel: () => {},
    },
    tools: { forgetAhead: () => {}, preapprove: () => Promise.resolve([]) },
    signal: new AbortController().signal,
    emit: () => {},
    send: (message: HostMessage) => (sent.push(message), Promise.resolve(true)),
  } as unknown as ModelCallsSession;
  return { calls: new SessionModelCalls(fake), asked, sent };
}

function request(messages: ChatMessageWire[]): LlmRequestMessage {
  return { v: 1, type: "llm_request", id: "llm-1", messages, native_tools: true };
}

Deno.test("early model call: asked at start, and the guest's same first request gets its answer", async () => {
  const { calls, asked, sent } = session();
  calls.askEarly();
  assert.equal(asked.length, 1);
  assert.deepEqual(asked[0].messages, firstMessages(start, "native"));
  await calls.onRequest(request(firstMessages(start, "native")));
  assert.equal(asked.length, 1, "the model is not asked again");
  assert.equal((sent[0] as { message?: string }).message, "answer 1");
});

Deno.test("early model call: another first request is asked as usual, the early one abandoned", async () => {
  const { calls, asked, sent } = session();
  calls.askEarly();
  const other = [{ role: "user" as const, content: "something else" }];
  await calls.onRequest(request(other));
  assert.equal(asked.length, 2);
  assert.equal(asked[0].signal?.aborted, true, "the early call is cancelled");
  assert.deepEqual(asked[1].messages, other);
  assert.equal((sent[0] as { message?: string }).message, "answer 2");
});

Deno.test("early model call: at most one a session, whatever the guest asks", async () => {
  const { calls, asked } = session();
  calls.askEarly();
  await calls.onRequest(request([{ role: "user", content: "something else" }]));
  calls.askEarly(); // a guest that says ready again, say
  assert.equal(asked.length, 2, "the early call and the guest's own: no second early call");
});

Deno.test("early model call: none for a guest of the caller's own, a replayed conversation or JSON steps", () => {
  for (
    const overrides of [
      { guestEntry: "/tmp/hostile_guest.ts" },
      { pending: 2 },
      { start: { ...start, tool_mode: "json" as const } },
    ]
  ) {
    const { calls, asked } = session(overrides);
    calls.askEarly();
    assert.equal(asked.length, 0, JSON.stringify(overrides));
  }
});

Deno.test("early model call: one the guest never asks for is cancelled when the session ends", () => {
  const { calls, asked } = session();
  calls.askEarly();
  calls.dropEarly();
  assert.equal(asked[0].signal?.aborted, true);
});
