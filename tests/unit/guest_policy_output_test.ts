import assert from "node:assert/strict";
import { TextCapper, truncateText, truncationMark } from "../../guest/policy/output.ts";

Deno.test("truncateText: marks cuts visibly with the total size", () => {
  assert.deepEqual(truncateText("abc", 3), { text: "abc", truncated: false, totalChars: 3 });
  assert.deepEqual(truncateText("abcdef", 3), {
    text: "abc… [truncated, 6 total chars]",
    truncated: true,
    totalChars: 6,
  });
  assert.equal(truncationMark(10), "… [truncated, 10 total chars]");
  // Never split a surrogate pair.
  assert.equal(truncateText("a😀b", 2).text, "a… [truncated, 4 total chars]");
});

Deno.test("TextCapper: decodes across chunk boundaries and keeps memory bounded", () => {
  const capper = new TextCapper(5);
  const bytes = new TextEncoder().encode("héllo wörld");
  // Feed one byte at a time so every multi-byte character is split.
  for (const byte of bytes) capper.push(new Uint8Array([byte]));
  assert.deepEqual(capper.finish(), {
    text: "héllo… [truncated, 11 total chars]",
    truncated: true,
    totalChars: 11,
  });
  const small = new TextCapper(100);
  small.push(new TextEncoder().encode("ok"));
  assert.deepEqual(small.finish(), { text: "ok", truncated: false, totalChars: 2 });
  const huge = new TextCapper(10);
  const chunk = new Uint8Array(1 << 20).fill(120);
  for (let i = 0; i < 20; i++) huge.push(chunk);
  const out = huge.finish();
  assert.equal(out.totalChars, 20 << 20);
  assert.equal(out.text.length, 10 + truncationMark(20 << 20).length);
});
