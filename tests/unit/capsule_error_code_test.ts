/**
 * Model-call failures cross the protocol with an `error_code`, and the guest
 * decides whether to give up from that code, never from the message text.
 */
import assert from "node:assert/strict";
import { ClosedClawError } from "../../core/errors.ts";
import { LlmError } from "../../llm/errors.ts";
import { modelErrorCode } from "../../capsule_runtime/_format.ts";
import { isFatalModelError } from "../../guest/loop.ts";
import type { LlmResultMessage } from "../../guest/protocol_types.ts";

Deno.test("the host turns a thrown error into the llm_result error_code", () => {
  const table: [unknown, string][] = [
    [new LlmError("budget_exceeded", "openai", "Run r1 spent $1."), "budget_exceeded"],
    [new LlmError("rate_limited", "openai", "slow down"), "rate_limited"],
    [new LlmError("auth", "anthropic", "key refused"), "auth"],
    [new ClosedClawError("llm_key_missing", "no key"), "key_missing"],
    [new ClosedClawError("budget_exceeded", "spent"), "budget_exceeded"],
    [new Error("budget_exceeded somewhere in the text"), "model_call_failed"],
    [Object.assign(new Error("x"), { code: 20 }), "model_call_failed"],
    [Object.assign(new Error("x"), { code: "Not A Code!" }), "model_call_failed"],
    [Object.assign(new Error("x"), { code: "llm_" }), "model_call_failed"],
    ["a string", "model_call_failed"],
  ];
  for (const [error, code] of table) assert.equal(modelErrorCode(error), code, String(error));
});

Deno.test("the guest gives up on fatal codes only, whatever the text says", () => {
  const reply = (error_code: string | undefined, error = "x"): LlmResultMessage => ({
    v: 1,
    type: "llm_result",
    id: "llm-1",
    ok: false,
    error,
    error_code,
  });
  for (const code of ["budget_exceeded", "circuit_open", "cancelled", "key_missing", "auth"]) {
    assert.equal(isFatalModelError(reply(code)), true, code);
  }
  for (const code of ["rate_limited", "timeout", "model_call_failed", undefined]) {
    assert.equal(isFatalModelError(reply(code, "budget_exceeded: auth cancelled")), false);
  }
  const ok: LlmResultMessage = { v: 1, type: "llm_result", id: "l", ok: true, error_code: "auth" };
  assert.equal(isFatalModelError(ok), false);
});
