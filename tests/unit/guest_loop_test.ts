import assert from "node:assert/strict";
import { isFatalModelError, type LoopPorts, parseStep, runLoop } from "../../guest/loop.ts";
import type { LlmResultMessage, StartMessage } from "../../guest/protocol_types.ts";

const start: StartMessage = {
  v: 1,
  type: "start",
  task: "write a report",
  context: {},
  system_prompt: "sys",
  tools: [{
    name: "file_io",
    description: "files",
    args_schema: {},
    risk_level: "medium",
    side_effects: true,
  }],
  tool_context: {
    workspace: "/ws",
    read_roots: ["."],
    write_roots: ["."],
    file_write: true,
    sql_paths: [],
    network_hosts: [],
  },
  limits: {
    max_steps: 6,
    max_tool_calls: 5,
    max_consecutive_errors: 3,
    max_observation_chars: 500,
  },
  step_schema: {},
};

/** Ports that answer the model with `steps` in order and run file_io as `results` says. */
function ports(
  steps: object[],
  results: Record<string, unknown>[],
): LoopPorts & { done: string[] } {
  const done: string[] = [];
  let call = 0;
  return {
    done,
    askModel: () => {
      const text = JSON.stringify(steps.shift());
      return Promise.resolve({
        v: 1,
        type: "llm_result",
        id: `llm-${call}`,
        ok: true,
        message: text,
      });
    },
    askHost: (_tool, args) =>
      Promise.resolve({
        v: 1,
        type: "tool_decision",
        id: `tool-${++call}`,
        allowed: true,
        args,
        reason: "ok",
      }),
    runTool: () => Promise.resolve({ ok: true, result: results.shift()!, error: "", ms: 1 }),
    reportToolDone: (id) => void done.push(id),
    mayChange: () => true,
  };
}

const tool = (args: object) => ({
  thought: "",
  action: "tool",
  tool: "file_io",
  args_json: JSON.stringify(args),
  result: "",
  status: "ok",
});

Deno.test("guest loop: written and appended files become artifacts, reads do not", async () => {
  const p = ports(
    [
      tool({ op: "write", path: "a.md", content: "x" }),
      tool({ op: "read", path: "b.md" }),
      tool({ op: "append", path: "c.md", content: "y" }),
      { thought: "", action: "final", tool: "", args_json: "{}", result: "done", status: "ok" },
    ],
    [
      { written: true, path: "/ws/a.md", bytes: 1 },
      { path: "/ws/b.md", content: "b" },
      { appended: true, path: "/ws/c.md", bytes: 1 },
    ],
  );
  const final = await runLoop(start, p);
  assert.equal(final.status, "ok");
  assert.equal(final.result, "done");
  assert.deepEqual(final.artifacts, ["/ws/a.md", "/ws/c.md"]);
  assert.deepEqual(p.done, ["tool-1", "tool-2", "tool-3"]);
});

Deno.test("guest loop: a step in a code fence or with an args object is understood", () => {
  const fenced = parseStep(
    'Here:\n```json\n{"action":"tool","tool":"file_io","args":{"op":"list"}}\n```',
  );
  assert.equal(typeof fenced, "object");
  assert.equal((fenced as { args_json: string }).args_json, '{"op":"list"}');
  assert.equal(parseStep('{"action":"maybe"}'), 'field "action" must be "tool" or "final"');
  assert.equal(parseStep("no json here"), "the reply is not a JSON object");
});

// Model-call failures cross the protocol with an `error_code` (see capsule_runtime_format_test.ts).
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
