/** Cassette request hashes. */
import assert from "node:assert/strict";
import { requestHash } from "../../llm/cassette.ts";

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
