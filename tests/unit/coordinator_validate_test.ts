import assert from "node:assert/strict";
import { checkResultText, GIVE_UP_PHRASES, verifyToolUse } from "../../coordinator/validate.ts";

Deno.test("validation: required tools, give-up phrases and absolute paths", () => {
  assert.equal(verifyToolUse(false, []), null);
  assert.equal(verifyToolUse(true, []), "required_tool_call_not_observed");
  assert.equal(
    verifyToolUse(true, [{ tool: "file_io", allowed: true, ok: false, error: "no such file" }]),
    "required_tool_failed: no such file",
  );
  assert.equal(verifyToolUse(true, [{ tool: "x", allowed: true, ok: true, error: "" }]), null);
  for (const phrase of GIVE_UP_PHRASES) {
    assert.equal(
      checkResultText(`Sorry, the ${phrase.toUpperCase()}.`, []),
      "agent_self_reported_failure_in_result_text",
    );
  }
  const abs = ["Give the absolute path of the file"];
  assert.equal(checkResultText("It is at ~/notes.txt", abs), "unresolved_env_var_in_absolute_path");
  assert.equal(checkResultText("notes.txt", abs), "no_absolute_path_in_result");
  assert.equal(checkResultText("/home/u/notes.txt", abs), null);
});
