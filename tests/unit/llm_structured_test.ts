/**
 * Structured output on its own, over a call path that answers from a script:
 * reading the reply (fenced or not), validating each reply once, and the one
 * repair call.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import type { Answer, CallPath, Verdict } from "../../llm/_call_path.ts";
import { callStructured, jsonSchemaOf, validate } from "../../llm/_structured.ts";
import { LlmError } from "../../llm/errors.ts";
import type { CompletionRequest, CompletionResponse } from "../../llm/types.ts";

/** A call path answering with the given texts in turn, and remembering what it was asked. */
function scriptedCall(...texts: string[]) {
  const requests: { request: CompletionRequest; purpose: string }[] = [];
  const call = (<V>(
    request: CompletionRequest,
    meta: { purpose: string },
    check?: (response: CompletionResponse) => Verdict<V>,
  ): Promise<Answer<V>> => {
    requests.push({ request, purpose: meta.purpose });
    const text = texts[requests.length - 1];
    const response = { text, usage: { inputTokens: 1, outputTokens: 1 }, model: "m" };
    return Promise.resolve({ response, verdict: check?.(response) });
  }) as CallPath;
  return { call, requests };
}

const ask = { messages: [{ role: "user" as const, content: "verdict?" }], schemaName: "verdict" };
const meta = { purpose: "judge" };

Deno.test("validate: JSON, fenced JSON, not JSON, and JSON of the wrong shape", () => {
  const schema = z.object({ ok: z.boolean() });
  assert.deepEqual(validate(schema, '{"ok":true}'), { ok: true, value: { ok: true } });
  assert.deepEqual(validate(schema, '```json\n{"ok":false}\n```'), {
    ok: true,
    value: { ok: false },
  });
  const notJson = validate(schema, "sure, here it is");
  assert.ok(!notJson.ok && notJson.error.startsWith("the reply is not JSON"));
  const wrong = validate(schema, '{"ok":"yes"}');
  assert.ok(!wrong.ok && wrong.error.includes("ok"));
});

Deno.test("jsonSchemaOf: the $schema declaration is dropped", () => {
  const json = jsonSchemaOf(z.object({ ok: z.boolean() }));
  assert.equal(json.$schema, undefined);
  assert.equal(json.type, "object");
});

Deno.test("jsonSchemaOf: made once per schema, and each caller gets a copy of its own", () => {
  const schema = z.object({ ok: z.boolean() });
  const first = jsonSchemaOf(schema);
  (first.properties as Record<string, unknown>).ok = { type: "string" };
  first.extra = true;
  const second = jsonSchemaOf(schema);
  assert.deepEqual(second.properties, { ok: { type: "boolean" } });
  assert.equal(second.extra, undefined);
});

Deno.test("structured: a good reply is validated once and its value returned", async () => {
  let validations = 0;
  const schema = z.object({ ok: z.boolean() }).refine(() => ++validations > 0);
  const t = scriptedCall('{"ok":true}');
  const result = await callStructured(t.call, "openai", schema, ask, meta);
  assert.deepEqual(result.value, { ok: true });
  assert.equal(result.response.text, '{"ok":true}');
  assert.equal(validations, 1);
  assert.equal(t.requests.length, 1);
  assert.equal(t.requests[0].request.schema?.name, "verdict");
});

Deno.test("structured: a bad reply is repaired once, showing the model its reply and the problem", async () => {
  let validations = 0;
  const schema = z.object({ ok: z.boolean() }).refine(() => ++validations > 0);
  const t = scriptedCall('{"ok":"yes"}', '{"ok":false}');
  const result = await callStructured(t.call, "openai", schema, ask, meta);
  assert.deepEqual(result.value, { ok: false });
  assert.equal(validations, 1, "the refinement only runs on the reply of the right shape");
  assert.deepEqual(t.requests.map((r) => r.purpose), ["judge", "judge_repair"]);
  const [, assistant, correction] = t.requests[1].request.messages;
  assert.deepEqual(assistant, { role: "assistant", content: '{"ok":"yes"}' });
  assert.match(correction.content, /did not match the verdict JSON schema:\n.*ok/s);
});

Deno.test("structured: a repair that still does not validate is invalid_output with the raw text", async () => {
  const t = scriptedCall("nope", "still nope");
  const error = await callStructured(t.call, "openai", z.object({ ok: z.boolean() }), ask, meta)
    .then(() => assert.fail("expected a rejection"), (e) => e);
  assert.ok(error instanceof LlmError);
  assert.equal(error.kind, "invalid_output");
  assert.equal(error.rawText, "still nope");
  assert.match(error.message, /judge did not match the verdict schema after a repair retry/);
});
