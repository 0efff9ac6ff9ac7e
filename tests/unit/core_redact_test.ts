import assert from "node:assert/strict";
import { REDACTED, Redactor } from "../../core/redact.ts";

Deno.test("redaction hides known key values and every token shape, whatever the case of Bearer", () => {
  const r = new Redactor(["my-own-key-12345", "short"]);
  assert.equal(
    r.text("key my-own-key-12345 twice my-own-key-12345"),
    `key ${REDACTED} twice ${REDACTED}`,
  );
  assert.equal(r.text("short stays"), "short stays", "values under 8 characters are not hunted");
  const tokens = [
    "sk-proj-abcdefghijklmnop1234",
    "sk-ant-abcdefghijklmnop1234",
    "AIza" + "A".repeat(32),
    "ghp_" + "a".repeat(36),
    "xoxb-1234567890-abcdef",
    "AKIAABCDEFGHIJKLMNOP",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTYifQ.abcdefghijklmnop",
  ];
  for (const token of tokens) assert.equal(r.text(`x ${token} y`), `x ${REDACTED} y`, token);
  assert.equal(
    r.text("Authorization: bearer abcdefghijklmnop"),
    `Authorization: bearer ${REDACTED}`,
  );
  assert.equal(r.text("Basic dXNlcjpwYXNzd29yZA=="), `Basic ${REDACTED}`);
  // Text with none of them comes back as it was.
  const plain = "The workspace holds 3 files: a.txt, b.txt and skills.md (basically notes).";
  assert.equal(r.text(plain), plain);
});

Deno.test("redaction copies values deeply and blanks secret-named fields", () => {
  const r = new Redactor(["my-own-key-12345"]);
  const input = {
    args: { api_key: "abc", url: "https://x/?k=my-own-key-12345", n: [1, 2] },
    token: "",
  };
  const out = r.value(input);
  assert.deepEqual(out, {
    args: { api_key: REDACTED, url: `https://x/?k=${REDACTED}`, n: [1, 2] },
    token: "",
  });
  assert.equal(input.args.api_key, "abc", "the input is left as it was");
});
