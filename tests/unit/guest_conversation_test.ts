import assert from "node:assert/strict";
import { observation, resultText } from "../../guest/conversation.ts";

const read = (content: string, truncated = false) => ({
  ok: true,
  result: { path: "/ws/notes.txt", content, size_bytes: content.length, truncated },
  error: "",
});

Deno.test("a whole file read is shown as its text, with no JSON escaping around it", () => {
  const text = 'line "one"\nline two\n';
  assert.equal(resultText(read(text), 10_000), text);
  assert.equal(resultText(read(""), 10_000), "(the file is empty)");
  assert.match(
    observation("file_io", read(text), 10_000),
    /^Observation from file_io \(ok\):\nline "one"/,
  );
});

Deno.test("a read cut short, any other result and any failure stay JSON", () => {
  const cut = JSON.parse(resultText(read("abc", true), 10_000));
  assert.equal(cut.truncated, true);
  assert.equal(cut.content, "abc");
  const listing = { ok: true, result: { path: "/ws", entries: [], truncated: false }, error: "" };
  assert.deepEqual(JSON.parse(resultText(listing, 10_000)), listing.result);
  const failed = { ok: false, result: { path: "/ws/x" }, error: "not found" };
  assert.deepEqual(JSON.parse(resultText(failed, 10_000)), { error: "not found", path: "/ws/x" });
  // A long text is cut like any result, with the visible note.
  assert.match(resultText(read("x".repeat(50)), 20), /^x{20}… \[truncated: 50 characters/);
});
