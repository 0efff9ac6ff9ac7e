/**
 * Native tool calling and prompt caching through every provider's real SDK
 * against its fake server, wrapped by the LLM service: tools declared in the
 * provider's wire shape, parallel tool calls read back, the tool-call history
 * sent back the provider's way, cached tokens read into usage and priced, and
 * a server that cannot call tools reported as `tools_unsupported`.
 */
import assert from "node:assert/strict";
import { type FakeKind, type FakeServer, startFakeServer } from "../fakes/mod.ts";
import { rejection as rejectionOf } from "../helpers/assert.ts";
import { tempDir, testSettings } from "../helpers/temp.ts";
import { createLlmService } from "../../llm/service.ts";
import { LlmError } from "../../llm/errors.ts";
import { toLlmError } from "../../llm/providers/_errors.ts";
import { parseToolArgs } from "../../llm/providers/openai.ts";
import type {
  ChatMessage,
  CompletionRequest,
  LlmService,
  ToolDeclaration,
} from "../../llm/types.ts";

for (const name of ["LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING", "LANGSMITH_TRACING"]) {
  Deno.env.delete(name);
}

const KEY = "fake-key-123";

interface Case {
  provider: "openai" | "claude" | "gemini" | "ollama";
  fake: FakeKind;
  env: (baseURL: string) => Record<string, string>;
  /** How this provider's server says it cannot call tools (HTTP 400). */
  unsupported: string;
}

const CASES: Case[] = [
  {
    provider: "openai",
    fake: "openai",
    env: (base) => ({ OPENAI_API_KEY: KEY, OPENAI_BASE_URL: base }),
    unsupported: "tools is not supported in this model. Use a different model.",
  },
  {
    provider: "claude",
    fake: "anthropic",
    env: (base) => ({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: base }),
    unsupported: "tool use is not supported for this model",
  },
  {
    provider: "gemini",
    fake: "gemini",
    env: (base) => ({ GEMINI_API_KEY: KEY, GEMINI_BASE_URL: base }),
    unsupported: "models/gemini-2.5-flash does not support function calling",
  },
  {
    provider: "ollama",
    fake: "openai",
    env: (base) => ({ CLOSED_CLAW_LLM_BASE_URL: base }),
    unsupported: "registry.ollama.ai/library/llama3.1 does not support tools",
  },
];

async function withService(
  c: Case,
  body: (llm: LlmService, fake: FakeServer) => Promise<void>,
) {
  await using dir = await tempDir();
  await using fake = await startFakeServer(
    c.fake,
    c.provider === "ollama" ? {} : { apiKey: KEY },
  );
  const settings = testSettings(dir.path, {
    CLOSED_CLAW_LLM_PROVIDER: c.provider,
    CLOSED_CLAW_LLM_MAX_RETRIES: "2",
    ...c.env(fake.baseURL),
  });
  await body(createLlmService({ settings, timing: { retryBaseMs: 10 } }), fake);
}

const rejection = (p: Promise<unknown>) => rejectionOf(p, LlmError);

const readFileParams = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  properties: { path: { type: "string", description: "A workspace path." } },
  required: ["path"],
  additionalProperties: false,
};
const searchParams = {
  type: "object",
  properties: { query: { type: "string" }, limit: { type: "integer" } },
  required: ["query"],
};
const TOOLS: ToolDeclaration[] = [
  { name: "read_file", description: "Read a file.", parameters: readFileParams },
  { name: "web_search", description: "Search the web.", parameters: searchParams },
];

const SYSTEM: ChatMessage[] = [
  { role: "system", content: "You are a careful agent. ".repeat(20) },
  { role: "system", content: "Workspace: /tmp/ws" },
];
const first: CompletionRequest = {
  messages: [...SYSTEM, { role: "user", content: "Read notes.txt and search for deno." }],
  tools: TOOLS,
  cachePrefix: 1,
};
const CALLS = [
  { id: "call_a1", name: "read_file", args: { path: "notes.txt" } },
  { id: "call_b2", name: "web_search", args: { query: "deno", limit: 3 } },
];
const second: CompletionRequest = {
  ...first,
  messages: [
    ...first.messages,
    { role: "assistant", content: "", toolCalls: CALLS },
    { role: "tool", content: "hello from notes", toolCallId: "call_a1", name: "read_file" },
    { role: "tool", content: "3 results", toolCallId: "call_b2", name: "web_search" },
  ],
};
const meta = { purpose: "agent_step" };

for (const c of CASES) {
  Deno.test(`llm tools ${c.provider}: two declared tools, two parallel calls come back`, async () => {
    await withService(c, async (llm, fake) => {
      // Gemini's calls carry no ids: the client makes them.
      const ids = c.fake === "gemini" ? [undefined, undefined] : ["call_x", "call_y"];
      fake.enqueue({
        toolCalls: [
          { id: ids[0], name: "read_file", args: { path: "notes.txt" } },
          { id: ids[1], name: "web_search", args: { query: "deno", limit: 3 } },
        ],
      });
      const reply = await llm.complete(first, meta);
      const calls = reply.toolCalls ?? [];
      assert.equal(calls.length, 2);
      assert.deepEqual(calls.map((t) => [t.name, t.args]), [
        ["read_file", { path: "notes.txt" }],
        ["web_search", { query: "deno", limit: 3 }],
      ]);
      if (c.fake === "gemini") {
        assert.ok(calls.every((t) => /^call_\d+$/.test(t.id)), JSON.stringify(calls));
        assert.notEqual(calls[0].id, calls[1].id);
      } else {
        assert.deepEqual(calls.map((t) => t.id), ids);
      }
      assert.ok(calls.every((t) => t.argsError === undefined));

      const body = fake.requests[0].body;
      if (c.fake === "openai") {
        assert.deepEqual(body.tools, [
          {
            type: "function",
            function: {
              name: "read_file",
              description: "Read a file.",
              parameters: readFileParams,
              strict: true,
            },
          },
          {
            type: "function",
            function: {
              name: "web_search",
              description: "Search the web.",
              parameters: searchParams,
            },
          },
        ]);
        // Several system messages stay separate, in order.
        assert.deepEqual(
          body.messages.filter((m: { role: string }) => m.role === "system")
            .map((m: { content: string }) => m.content),
          SYSTEM.map((m) => m.content),
        );
      } else if (c.fake === "anthropic") {
        assert.deepEqual(body.tools, [
          { name: "read_file", description: "Read a file.", input_schema: readFileParams },
          { name: "web_search", description: "Search the web.", input_schema: searchParams },
        ]);
        assert.equal(body.tool_choice, undefined);
      } else {
        const { $schema: _declaration, ...withoutDeclaration } = readFileParams;
        assert.deepEqual(body.tools, [{
          functionDeclarations: [
            {
              name: "read_file",
              description: "Read a file.",
              parametersJsonSchema: withoutDeclaration,
            },
            {
              name: "web_search",
              description: "Search the web.",
              parametersJsonSchema: searchParams,
            },
          ],
        }]);
      }
    });
  });

  Deno.test(`llm tools ${c.provider}: the calls and their results are sent back in the provider's shape`, async () => {
    await withService(c, async (llm, fake) => {
      fake.enqueue({ text: "notes say hello; 3 results" });
      const reply = await llm.complete(second, meta);
      assert.equal(reply.text, "notes say hello; 3 results");
      assert.equal(reply.toolCalls, undefined);
      const body = fake.requests[0].body;
      if (c.fake === "openai") {
        const messages = body.messages.slice(3);
        assert.equal(messages.length, 3);
        assert.equal(messages[0].role, "assistant");
        assert.deepEqual(
          messages[0].tool_calls.map((t: Record<string, unknown>) => ({
            ...t,
            function: {
              ...(t.function as object),
              arguments: JSON.parse((t.function as { arguments: string }).arguments),
            },
          })),
          CALLS.map((t) => ({
            id: t.id,
            type: "function",
            function: { name: t.name, arguments: t.args },
          })),
        );
        assert.deepEqual(messages.slice(1), [
          { role: "tool", content: "hello from notes", tool_call_id: "call_a1" },
          { role: "tool", content: "3 results", tool_call_id: "call_b2" },
        ]);
      } else if (c.fake === "anthropic") {
        // The system prompt is text blocks; the stable prefix ends in a cache breakpoint.
        assert.deepEqual(body.system, [
          { type: "text", text: SYSTEM[0].content, cache_control: { type: "ephemeral" } },
          { type: "text", text: SYSTEM[1].content },
        ]);
        assert.equal(body.messages.length, 3);
        assert.deepEqual(body.messages[1], {
          role: "assistant",
          content: CALLS.map((t) => ({ type: "tool_use", id: t.id, name: t.name, input: t.args })),
        });
        // Both results in ONE user turn; the conversation's end is the second breakpoint.
        assert.deepEqual(body.messages[2], {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "call_a1", content: "hello from notes" },
            {
              type: "tool_result",
              tool_use_id: "call_b2",
              content: "3 results",
              cache_control: { type: "ephemeral" },
            },
          ],
        });
        const breakpoints = JSON.stringify(body).match(/cache_control/g) ?? [];
        assert.equal(breakpoints.length, 2);
      } else {
        assert.equal(body.contents.length, 3);
        assert.deepEqual(body.contents[1], {
          role: "model",
          parts: CALLS.map((t) => ({ functionCall: { id: t.id, name: t.name, args: t.args } })),
        });
        assert.deepEqual(body.contents[2], {
          role: "user",
          parts: [
            {
              functionResponse: {
                id: "call_a1",
                name: "read_file",
                response: { result: "hello from notes" },
              },
            },
            {
              functionResponse: {
                id: "call_b2",
                name: "web_search",
                response: { result: "3 results" },
              },
            },
          ],
        });
        assert.ok(body.tools[0].functionDeclarations.length === 2);
      }
    });
  });

  Deno.test(`llm tools ${c.provider}: cached input tokens are read and priced cheaper`, async () => {
    await withService(c, async (llm, fake) => {
      const cacheWrite = c.fake === "anthropic" ? 1000 : 0;
      fake.enqueue({
        text: "ok",
        usage: { input: 10_000, output: 1000, cached: 8000, cacheWrite },
      });
      const reply = await llm.complete(second, meta);
      assert.deepEqual(reply.usage, {
        inputTokens: 10_000,
        outputTokens: 1000,
        cachedInputTokens: 8000,
        ...(cacheWrite ? { cacheWriteTokens: cacheWrite } : {}),
      });
      // USD per million: gpt-4o-mini 0.15 / cached 0.075 / out 0.6; claude-3-5-haiku
      // 0.8 / cached 0.08 / write 1 / out 4; gemini-2.5-flash 0.3 / cached 0.075 / out 2.5.
      const expected = {
        openai: (2000 * 0.15 + 8000 * 0.075 + 1000 * 0.6) / 1e6,
        claude: (1000 * 0.8 + 8000 * 0.08 + 1000 * 1 + 1000 * 4) / 1e6,
        gemini: (2000 * 0.3 + 8000 * 0.075 + 1000 * 2.5) / 1e6,
        ollama: 0,
      }[c.provider];
      assert.ok(
        Math.abs((reply.costUsd ?? -1) - expected) < 1e-12,
        `cost ${reply.costUsd}, expected ${expected}`,
      );
    });
  });

  Deno.test(`llm tools ${c.provider}: a 400 saying tools are unsupported is tools_unsupported`, async () => {
    await withService(c, async (llm, fake) => {
      fake.enqueue({ status: 400, errorMessage: c.unsupported });
      const error = await rejection(llm.complete(first, meta));
      assert.equal(error.kind, "tools_unsupported");
      assert.equal(error.retryable, false);
      assert.ok(error.message.includes(c.unsupported), error.message);
      assert.equal(fake.requests.length, 1);
    });
  });
}

Deno.test("llm tools claude: no cachePrefix, no cache breakpoints; text comes before tool_use", async () => {
  await withService(CASES[1], async (llm, fake) => {
    fake.enqueue({ text: "done" });
    const messages = second.messages.map((m) =>
      m.role === "assistant" ? { ...m, content: "Let me look." } : m
    );
    await llm.complete({ ...second, messages, cachePrefix: undefined }, meta);
    const body = fake.requests[0].body;
    assert.ok(!JSON.stringify(body).includes("cache_control"));
    assert.deepEqual(body.messages[1].content[0], { type: "text", text: "Let me look." });
    assert.equal(body.messages[1].content[1].type, "tool_use");
  });
});

Deno.test("llm tools claude: a structured request still forces its schema tool", async () => {
  await withService(CASES[1], async (llm, fake) => {
    fake.enqueue({ json: { answer: "yes" } });
    const reply = await llm.complete({
      messages: first.messages,
      schema: {
        name: "verdict",
        jsonSchema: { type: "object", properties: { answer: { type: "string" } } },
      },
    }, meta);
    assert.deepEqual(JSON.parse(reply.text), { answer: "yes" });
    assert.equal(reply.toolCalls, undefined);
    assert.deepEqual(fake.requests[0].body.tool_choice, { type: "tool", name: "verdict" });
  });
});

Deno.test("llm tools openai: arguments that are not a JSON object come back with argsError", async () => {
  await withService(CASES[0], async (llm, fake) => {
    fake.enqueue({
      toolCalls: [
        { id: "call_1", name: "read_file", args: {}, rawArguments: '{"path": "a.txt"' },
        { id: "call_2", name: "web_search", args: { query: "ok" } },
        { id: "call_3", name: "read_file", args: {}, rawArguments: "[1, 2]" },
      ],
    });
    const reply = await llm.complete(first, meta);
    const calls = reply.toolCalls ?? [];
    // In the model's order, the bad ones kept with an explanation quoting the raw text.
    assert.deepEqual(calls.map((t) => t.id), ["call_1", "call_2", "call_3"]);
    assert.deepEqual(calls[0].args, {});
    assert.match(calls[0].argsError ?? "", /not valid JSON.*\{"path": "a\.txt"/);
    assert.deepEqual(calls[1], { id: "call_2", name: "web_search", args: { query: "ok" } });
    assert.match(calls[2].argsError ?? "", /not a JSON object: \[1, 2\]/);
  });
});

Deno.test("parseToolArgs: objects, empty arguments, invalid JSON and other JSON", () => {
  assert.deepEqual(parseToolArgs('{"a":1}'), { args: { a: 1 } });
  assert.deepEqual(parseToolArgs(""), { args: {} });
  assert.deepEqual(parseToolArgs({ a: 1 }), { args: { a: 1 } });
  assert.match(parseToolArgs("{oops").argsError ?? "", /not valid JSON/);
  assert.match(parseToolArgs('"text"').argsError ?? "", /not a JSON object: "text"/);
  assert.match(parseToolArgs("null").argsError ?? "", /not a JSON object/);
});

Deno.test("toLlmError: what servers say when a model cannot call tools", () => {
  const config = {
    provider: "openai-compatible" as const,
    model: "m",
    apiKey: "k",
    keySource: "",
    baseUrl: "http://127.0.0.1:1/v1",
    timeoutMs: 1000,
    maxRetries: 0,
  };
  const http = (status: number, message: string) =>
    toLlmError(Object.assign(new Error(`${status} ${message}`), { status }), config).kind;
  for (
    const message of [
      "registry.ollama.ai/library/gemma:2b does not support tools",
      "tools is not supported in this model",
      "tool use is not supported",
      "This model does not support function calling.",
      '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set',
      "Function calling is not enabled for models/gemma-3-27b-it",
    ]
  ) {
    assert.equal(http(400, message), "tools_unsupported", message);
  }
  assert.equal(http(404, "No endpoints found that support tool use."), "tools_unsupported");
  assert.equal(http(400, "max_tokens is too large"), "bad_request");
  assert.equal(http(500, "does not support tools"), "server_error");
  assert.equal(http(401, "does not support tools"), "auth");
});
