/** Strict JSON schemas for OpenAI structured output. */
import assert from "node:assert/strict";
import { isStrictCompatible } from "../../llm/providers/openai.ts";

Deno.test("isStrictCompatible: closed objects with every property required", () => {
  const closed = {
    type: "object",
    properties: {
      a: { type: "object", properties: { b: {} }, required: ["b"], additionalProperties: false },
    },
    required: ["a"],
    additionalProperties: false,
  };
  assert.equal(isStrictCompatible(closed), true);
  assert.equal(isStrictCompatible({ ...closed, required: [] }), false);
  assert.equal(
    isStrictCompatible({ ...closed, properties: { a: { type: "object", properties: { b: {} } } } }),
    false,
  );
});
