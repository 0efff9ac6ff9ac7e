/**
 * Every provider through its real SDK against its fake server, wrapped by the
 * LLM service: text, native structured output, repair retry, invalid output,
 * Retry-After, 5xx retries, a refused key and an unreachable base URL.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { type FakeKind, type FakeServer, startFakeServer } from "../fakes/mod.ts";
import { rejection as rejectionOf } from "../helpers/assert.ts";
import { tempDir, testSettings } from "../helpers/temp.ts";
import { createLlmService } from "../../llm/service.ts";
import { LlmError } from "../../llm/errors.ts";
import type { LlmService } from "../../llm/types.ts";

for (const name of ["LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING", "LANGSMITH_TRACING"]) {
  Deno.env.delete(name);
}

const KEY = "fake-key-123";

interface Case {
  provider: "openai" | "claude" | "gemini" | "openai-compatible";
  fake: FakeKind;
  env: (baseURL: string) => Record<string, string>;
  /** Where the request body carries the schema, proving it was sent natively. */
  schemaSent: (body: Record<string, unknown>) => unknown;
}

const CASES: Case[] = [
  {
    provider: "openai",
    fake: "openai",
    env: (base) => ({ OPENAI_API_KEY: KEY, OPENAI_BASE_URL: base }),
    schemaSent: (b) => (b.response_format as { json_schema: { name: string } }).json_schema.name,
  },
  {
    provider: "openai-compatible",
    fake: "openai",
    env: (base) => ({ CLOSED_CLAW_LLM_API_KEY: KEY, CLOSED_CLAW_LLM_BASE_URL: base }),
    schemaSent: (b) => (b.response_format as { json_schema: { name: string } }).json_schema.name,
  },
  {
    provider: "claude",
    fake: "anthropic",
    env: (base) => ({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: base }),
    schemaSent: (b) => (b.tool_choice as { name: string }).name,
  },
  {
    provider: "gemini",
    fake: "gemini",
    env: (base) => ({ GEMINI_API_KEY: KEY, GEMINI_BASE_URL: base }),
    schemaSent: (b) =>
      (b.generationConfig as { responseJsonSchema?: unknown }).responseJsonSchema
        ? "verdict"
        : undefined,
  },
];

const verdict = z.object({ answer: z.string(), score: z.number() });

async function withService(
  c: Case,
  body: (llm: LlmService, fake: FakeServer) => Promise<void>,
  env: Record<string, string> = {},
) {
  await using dir = await tempDir();
  await using fake = await startFakeServer(c.fake, { apiKey: KEY });
  const settings = testSettings(dir.path, {
    CLOSED_CLAW_LLM_PROVIDER: c.provider,
    CLOSED_CLAW_LLM_MAX_RETRIES: "2",
    ...c.env(fake.baseURL),
    ...env,
  });
  await body(createLlmService({ settings, timing: { retryBaseMs: 10 } }), fake);
}

/** Awaits a rejection that must be an LlmError. */
const rejection = (p: Promise<unknown>) => rejectionOf(p, LlmError);

const ask = {
  messages: [{ role: "system" as const, content: "Be brief." }, {
    role: "user" as const,
    content: "Hi",
  }],
};
const meta = { purpose: "test" };

for (const c of CASES) {
  Deno.test(`llm ${c.provider}: text reply with usage and cost`, async () => {
    await withService(c, async (llm, fake) => {
      fake.enqueue({ text: "Hello!", usage: { input: 1000, output: 500 } });
      const reply = await llm.complete(ask, meta);
      assert.equal(reply.text, "Hello!");
      assert.deepEqual(reply.usage, { inputTokens: 1000, outputTokens: 500 });
      assert.equal(fake.requests.length, 1);
      if (c.provider !== "openai-compatible") assert.ok((reply.costUsd ?? 0) > 0);
    });
  });

  Deno.test(`llm ${c.provider}: each call sends its own temperature and token cap`, async () => {
    await withService(c, async (llm, fake) => {
      // Clients are kept between calls: one call's settings must not stick to the next.
      const calls = [
        { temperature: 0.2, maxTokens: 300 },
        { temperature: 0.9, maxTokens: 50 },
        { temperature: 0.2, maxTokens: 300 },
      ];
      for (const settings of calls) {
        fake.enqueue({ text: "ok" });
        await llm.complete({ ...ask, ...settings }, meta);
      }
      const sent = fake.requests.map((r) => {
        const body = r.body as Record<string, unknown>;
        const config = (body.generationConfig ?? body) as Record<string, unknown>;
        return {
          temperature: config.temperature,
          maxTokens: config.max_tokens ?? config.max_completion_tokens ?? config.maxOutputTokens,
        };
      });
      assert.deepEqual(sent, calls);
    });
  });

  Deno.test(`llm ${c.provider}: structured output is sent natively and validated`, async () => {
    await withService(c, async (llm, fake) => {
      fake.enqueue({ json: { answer: "yes", score: 0.9 } });
      const { value } = await llm.structured(verdict, { ...ask, schemaName: "verdict" }, meta);
      assert.deepEqual(value, { answer: "yes", score: 0.9 });
      assert.equal(c.schemaSent(fake.requests[0].body), "verdict");
    });
  });

  Deno.test(`llm ${c.provider}: a schema's $schema declaration is not sent`, async () => {
    await withService(c, async (llm, fake) => {
      fake.enqueue({ json: { answer: "yes", score: 1 } });
      const jsonSchema = z.toJSONSchema(verdict) as Record<string, unknown>;
      assert.ok("$schema" in jsonSchema, "zod declares it");
      await llm.complete({ ...ask, schema: { name: "verdict", jsonSchema } }, meta);
      assert.ok(!JSON.stringify(fake.requests[0].body).includes('"$schema"'));
      assert.equal(c.schemaSent(fake.requests[0].body), "verdict");
    });
  });

  Deno.test(`llm ${c.provider}: a repair retry shows the validation error, then succeeds`, async () => {
    await withService(c, async (llm, fake) => {
      fake.enqueue({ json: { answer: "yes", score: "high" } }, {
        json: { answer: "yes", score: 1 },
      });
      const { value } = await llm.structured(verdict, { ...ask, schemaName: "verdict" }, meta);
      assert.deepEqual(value, { answer: "yes", score: 1 });
      assert.equal(fake.requests.length, 2);
      const repairText = JSON.stringify(fake.requests[1].body);
      assert.match(repairText, /did not match the verdict JSON schema/);
      assert.match(repairText, /score/);
    });
  });

  Deno.test(`llm ${c.provider}: invalid output after the repair keeps the raw text`, async () => {
    await withService(c, async (llm, fake) => {
      fake.enqueue({ json: { nope: 1 } }, { json: { still: "wrong" } });
      const error = await rejection(
        llm.structured(verdict, { ...ask, schemaName: "verdict" }, meta),
      );
      assert.equal(error.kind, "invalid_output");
      assert.deepEqual(JSON.parse(error.rawText ?? ""), { still: "wrong" });
      assert.match(error.message, /did not match the verdict schema after a repair retry/);
    });
  });

  Deno.test(`llm ${c.provider}: 429 waits for Retry-After, 500 is retried`, async () => {
    await withService(c, async (llm, fake) => {
      fake.enqueue({ status: 429, retryAfterSec: 1 }, { status: 500 }, { text: "third time" });
      const reply = await llm.complete(ask, meta);
      assert.equal(reply.text, "third time");
      assert.equal(fake.requests.length, 3);
      const waited = fake.requests[1].receivedAt - fake.requests[0].receivedAt;
      assert.ok(waited >= 950, `waited only ${waited} ms for Retry-After: 1`);
    });
  });

  Deno.test(`llm ${c.provider}: a refused key says so and is not retried`, async () => {
    await withService(
      c,
      async (llm, fake) => {
        const error = await rejection(llm.complete(ask, meta));
        assert.equal(error.kind, "auth");
        assert.match(error.message, /refused the key \(HTTP 401\)/);
        assert.match(error.toLine(), /closed-claw setup/);
        assert.equal(fake.requests.length, 1);
      },
      Object.fromEntries(
        Object.entries(c.env("")).filter(([k]) => k.endsWith("KEY")).map(([k]) => [k, "wrong"]),
      ),
    );
  });
}

Deno.test("llm openai: a reply that is not JSON at all still reaches the repair", async () => {
  await withService(CASES[0], async (llm, fake) => {
    fake.enqueue({ text: "Sure! The answer is yes." }, { json: { answer: "yes", score: 2 } });
    const { value } = await llm.structured(verdict, { ...ask, schemaName: "verdict" }, meta);
    assert.deepEqual(value, { answer: "yes", score: 2 });
    assert.match(JSON.stringify(fake.requests[1].body), /the reply is not JSON/);
  });
});

Deno.test("llm: a malformed provider reply is retried", async () => {
  for (const c of [CASES[0], CASES[2], CASES[3]]) {
    await withService(c, async (llm, fake) => {
      fake.enqueue({ malformed: true }, { text: "fine now" });
      assert.equal((await llm.complete(ask, meta)).text, "fine now");
      assert.equal(fake.requests.length, 2);
    });
  }
});

Deno.test("llm: an unreachable base URL names the URL", async () => {
  await using dir = await tempDir();
  // A port that was just free: nothing listens there.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const base = `http://127.0.0.1:${port}/v1`;
  const settings = testSettings(dir.path, {
    OPENAI_API_KEY: KEY,
    OPENAI_BASE_URL: base,
    CLOSED_CLAW_LLM_MAX_RETRIES: "0",
  });
  const error = await rejection(createLlmService({ settings }).complete(ask, meta));
  assert.equal(error.kind, "network");
  assert.ok(error.message.includes(base), error.message);
});

Deno.test("llm ollama: no key needed, served on the OpenAI wire format", async () => {
  await using dir = await tempDir();
  const fake = await startFakeServer("openai");
  try {
    fake.enqueue({ text: "local reply" });
    const settings = testSettings(dir.path, {
      CLOSED_CLAW_LLM_PROVIDER: "ollama",
      CLOSED_CLAW_LLM_BASE_URL: fake.baseURL,
    });
    const llm = createLlmService({ settings });
    assert.equal(llm.model, "llama3.1");
    const reply = await llm.complete(ask, meta);
    assert.equal(reply.text, "local reply");
    assert.equal(reply.costUsd, 0);
    assert.equal(fake.requests[0].headers["authorization"], "Bearer not-needed");
  } finally {
    await fake.close();
  }
});

Deno.test("llm: an unknown model is a not_found error listing the models there", async () => {
  await using dir = await tempDir();
  const fake = await startFakeServer("openai", { apiKey: KEY });
  try {
    fake.enqueue({ status: 404 });
    const settings = testSettings(dir.path, {
      OPENAI_API_KEY: KEY,
      OPENAI_BASE_URL: fake.baseURL,
      CLOSED_CLAW_LLM_MODEL: "gpt-nope",
    });
    const error = await rejection(createLlmService({ settings }).complete(ask, meta));
    assert.equal(error.kind, "not_found");
    assert.match(error.message, /has no model "gpt-nope"/);
    assert.match(error.hint ?? "", /gpt-4o-mini/);
  } finally {
    await fake.close();
  }
});
