import assert from "node:assert/strict";
import { type LoopPorts, runLoop } from "../../guest/loop.ts";
import { declaredTools } from "../../guest/prompt_rules.ts";
import type {
  ChatMessageWire,
  LlmResultMessage,
  StartMessage,
  ToolCallWire,
  ToolDecisionMessage,
  ToolMode,
} from "../../guest/protocol_types.ts";
import { startMessage } from "../helpers/start_message.ts";

const start = startMessage();

type Turn = Partial<LlmResultMessage>;

/** Ports that play `turns`, record what the model saw and when each tool started and ended. */
function nativePorts(turns: Turn[], options: { deny?: string; readMs?: number } = {}) {
  const seen: { messages: ChatMessageWire[]; mode: ToolMode }[] = [];
  const timeline: string[] = [];
  let ids = 0;
  const ports: LoopPorts = {
    askModel: (messages, mode) => {
      seen.push({ messages: structuredClone(messages), mode });
      const turn = turns.shift() ?? { ok: true, message: "done" };
      return Promise.resolve({ v: 1, type: "llm_result", id: "l", ok: true, ...turn });
    },
    askHost: (_tool, args): Promise<ToolDecisionMessage> => {
      const refused = options.deny !== undefined && args.path === options.deny;
      return Promise.resolve({
        v: 1,
        type: "tool_decision",
        id: `tool-${++ids}`,
        allowed: !refused,
        args,
        reason: refused ? "path outside the workspace" : "ok",
        side_effects: args.op !== "read",
      });
    },
    runTool: async (_tool, args) => {
      timeline.push(`start ${args.op} ${args.path}`);
      await new Promise((r) => setTimeout(r, args.op === "read" ? options.readMs ?? 20 : 5));
      timeline.push(`end ${args.op} ${args.path}`);
      return {
        ok: true,
        result: { path: args.path, content: `text of ${args.path}` },
        error: "",
        ms: 1,
      };
    },
    reportToolDone: () => {},
    mayChange: (_tool, args) => args.op !== "read",
  };
  return { ports, seen, timeline };
}

const call = (id: string, op: string, path: string): ToolCallWire => ({
  id,
  name: "file_io",
  args: { op, path },
});

Deno.test("native loop: two independent reads run at once; results go back in the model's order", async () => {
  const t = nativePorts([
    { message: "", tool_calls: [call("c1", "read", "a.md"), call("c2", "read", "b.md")] },
    { message: "Both read." },
  ]);
  const final = await runLoop(start, t.ports);
  assert.equal(final.status, "ok");
  assert.equal(final.result, "Both read.");
  // Both started before either ended.
  assert.deepEqual(t.timeline.slice(0, 2), ["start read a.md", "start read b.md"]);
  const second = t.seen[1].messages;
  const results = second.filter((m) => m.role === "tool");
  assert.deepEqual(results.map((m) => m.tool_call_id), ["c1", "c2"]);
  assert.match(results[0].content, /text of a\.md/);
  assert.match(results[1].content, /text of b\.md/);
  const assistant = second.find((m) => m.role === "assistant");
  assert.deepEqual(assistant?.tool_calls?.map((c) => c.id), ["c1", "c2"]);
});

Deno.test("native loop: a write waits for the reads before it, and later reads wait for it", async () => {
  const t = nativePorts([
    {
      message: "",
      tool_calls: [
        call("c1", "read", "a.md"),
        call("c2", "write", "out.md"),
        call("c3", "read", "out.md"),
      ],
    },
    { message: "Copied." },
  ]);
  await runLoop(start, t.ports);
  assert.deepEqual(t.timeline, [
    "start read a.md",
    "end read a.md",
    "start write out.md",
    "end write out.md",
    "start read out.md",
    "end read out.md",
  ]);
});

Deno.test("native loop: a refused call and an unknown tool are answered; the other call still runs", async () => {
  const t = nativePorts([
    {
      message: "",
      tool_calls: [
        call("c1", "read", "/etc/passwd"),
        call("c2", "read", "a.md"),
        { id: "c3", name: "shell", args: { cmd: "ls" } },
        { id: "c4", name: "file_io", args: {}, args_error: "Unexpected token" },
      ],
    },
    { message: "Read a.md only." },
  ], { deny: "/etc/passwd" });
  const final = await runLoop(start, t.ports);
  assert.equal(final.status, "ok");
  const results = t.seen[1].messages.filter((m) => m.role === "tool");
  assert.deepEqual(results.map((m) => m.tool_call_id), ["c1", "c2", "c3", "c4"]);
  assert.match(results[0].content, /host refused.*path outside the workspace/);
  assert.match(results[1].content, /text of a\.md/);
  assert.match(results[2].content, /"shell" is not available/);
  assert.match(results[3].content, /Invalid arguments.*Unexpected token/);
  assert.deepEqual(t.timeline, ["start read a.md", "end read a.md"]);
});

Deno.test("native loop: the prompt is the stable part, then the run's tail, then the task; no JSON-step rules", async () => {
  const t = nativePorts([{ message: "Nothing to do." }]);
  await runLoop(start, t.ports);
  const [first] = t.seen;
  assert.equal(first.mode, "native");
  const [stable, tail, task] = first.messages;
  assert.equal(stable.role, "system");
  assert.match(stable.content, /^You are a careful agent\./);
  assert.doesNotMatch(stable.content, /args_json|JSON Schema|\/ws/);
  // No tool expands ~ or $HOME (file_io least of all): the rules say so, once.
  assert.match(stable.content, /absolute paths, not \$HOME or ~/);
  assert.deepEqual(tail, { role: "system", content: start.system_tail });
  assert.equal(task.role, "user");
  assert.match(task.content, /summarise the notes/);
});

Deno.test("native loop: an answer starting with the infeasible prefix is a self-reported failure", async () => {
  const t = nativePorts([{ message: "IMPOSSIBLE: no network tool to fetch the page." }]);
  const final = await runLoop(start, t.ports);
  assert.equal(final.status, "error");
  assert.equal(final.error_code, "agent_self_reported_infeasible");
  assert.equal(final.result, "no network tool to fetch the page.");
});

Deno.test("native loop: a model that refuses tools is asked again in JSON steps, from the start", async () => {
  const t = nativePorts([
    { ok: false, error: "model does not support tools", error_code: "tools_unsupported" },
    { message: JSON.stringify({ action: "final", result: "answered in JSON", status: "ok" }) },
  ]);
  const final = await runLoop(start, t.ports);
  assert.equal(final.result, "answered in JSON");
  assert.deepEqual(t.seen.map((s) => s.mode), ["native", "json"]);
  const jsonPrompt = t.seen[1].messages[0].content;
  assert.match(jsonPrompt, /### file_io/);
  assert.match(jsonPrompt, /args_json/);
  assert.match(jsonPrompt, /absolute paths, not \$HOME or ~/);
  assert.equal(t.seen[1].messages.filter((m) => m.role === "assistant").length, 0);
});

Deno.test("native loop: an empty reply is a mistake the model is told about, not an answer", async () => {
  const t = nativePorts([{ message: "  " }, { message: "Real answer." }]);
  const final = await runLoop(start, t.ports);
  assert.equal(final.result, "Real answer.");
  const nudge = t.seen[1].messages.at(-1);
  assert.equal(nudge?.role, "user");
  assert.match(nudge?.content ?? "", /reply was empty/);
});

Deno.test("native loop: skill guides are listed by id and read on request, in the capsule", async () => {
  const withSkills: StartMessage = {
    ...start,
    skills: [{ id: "file_system", description: "Work with files.", text: "# Files\nLIST FIRST." }],
  };
  const t = nativePorts([
    {
      message: "",
      tool_calls: [{ id: "s1", name: "read_skill", args: { skill_id: "file_system" } }],
    },
    { message: "Read the guide." },
  ]);
  let hostAsked = 0;
  const askHost = t.ports.askHost;
  t.ports.askHost = (...args) => (hostAsked++, askHost(...args));
  const final = await runLoop(withSkills, t.ports);
  assert.equal(final.result, "Read the guide.");
  assert.equal(hostAsked, 0, "nothing for the host to decide");
  // The guides' ids, in read_skill's declaration (the host declares declaredTools(start)).
  const reader = declaredTools(withSkills).find((tool) => tool.name === "read_skill")!;
  assert.deepEqual(
    (reader.args_schema.properties as Record<string, { enum: string[] }>).skill_id.enum,
    ["file_system"],
  );
  assert.doesNotMatch(JSON.stringify(reader), /LIST FIRST|Work with files/);
  const system = t.seen[0].messages[0].content;
  assert.doesNotMatch(system, /LIST FIRST/);
  const shown = t.seen[1].messages.at(-1)!;
  assert.equal(shown.tool_call_id, "s1");
  assert.match(shown.content, /LIST FIRST/);
});
