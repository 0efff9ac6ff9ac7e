/** The CLI's --llm-provider and --llm-model options. */
import assert from "node:assert/strict";
import { llmOverrides } from "../../cli/llm_options.ts";
import { ClosedClawError } from "../../core/errors.ts";

Deno.test("llmOverrides: --llm-provider is checked and aliased; --llm-model is trimmed", () => {
  assert.deepEqual(
    llmOverrides({ options: { "llm-provider": "Anthropic", "llm-model": " m1 " } }),
    {
      provider: "claude",
      model: "m1",
    },
  );
  assert.deepEqual(llmOverrides({ options: {} }), {});
  assert.throws(
    () => llmOverrides({ options: { "llm-provider": "siemens" } }),
    (e: unknown) =>
      e instanceof ClosedClawError &&
      /Unknown LLM provider "siemens"\. Choose one of: openai, openai-compatible, ollama, claude, gemini, replay\./
        .test(e.toLine()),
  );
  assert.throws(() => llmOverrides({ options: { "llm-model": "two words" } }), /needs a model id/);
});
