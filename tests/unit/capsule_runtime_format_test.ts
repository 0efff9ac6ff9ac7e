/**
 * Model-call failures cross the protocol with an `error_code`, and the guest
 * decides whether to give up from that code, never from the message text
 * (the guest's side is in guest_loop_test.ts).
 */
import assert from "node:assert/strict";
import { ClosedClawError } from "../../core/errors.ts";
import { LlmError } from "../../llm/errors.ts";
import { modelErrorCode } from "../../capsule_runtime/_format.ts";

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
