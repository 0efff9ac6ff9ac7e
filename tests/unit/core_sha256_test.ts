import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { sha256Hex } from "../../core/sha256.ts";

Deno.test("sha256Hex matches node:crypto on the padding boundaries and large input", () => {
  const known = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  assert.equal(sha256Hex(new TextEncoder().encode("abc")), known);
  const lengths = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 1_000_003];
  for (const length of lengths) {
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i++) bytes[i] = (i * 31 + 7) & 0xff;
    const expected = createHash("sha256").update(bytes).digest("hex");
    assert.equal(sha256Hex(bytes), expected, `length ${length}`);
  }
});
