import assert from "node:assert/strict";
import {
  FirstPlanSchema,
  generatePlan,
  type Plan,
  PlanSchema,
  planTask,
  preparePhasePool,
} from "../../coordinator/planner.ts";
import type { LlmService } from "../../llm/types.ts";
import { planSubtask as sub } from "../helpers/plan.ts";
import { noLlm } from "../helpers/run_context.ts";

Deno.test("phase pools get prefixed, de-duplicated ids, remapped dependencies and a cap", () => {
  const plan: Plan = {
    subtasks: [sub("scan"), sub("scan", ["scan"]), sub("report", ["scan", "ghost"]), sub("extra")],
  };
  const pool = preparePhasePool(plan, "discovery", 3, ["file_io"]);
  assert.deepEqual(pool.map((t) => t.task_id), [
    "discover-scan",
    "discover-scan-2",
    "discover-report",
  ]);
  assert.deepEqual(pool.map((t) => t.depends_on), [[], ["discover-scan"], ["discover-scan"]]);
  assert.deepEqual(pool.map((t) => t.status), ["pending", "waiting", "waiting"]);
  assert.equal(pool[0].role_tag, "file-reader");
  assert.deepEqual(pool[0].tools, ["file_io"]);
  assert.deepEqual(pool[0].acceptance_criteria, ["c1"]);
  const exec = preparePhasePool({ subtasks: [sub("execute-write")] }, "execution", 4, ["file_io"]);
  assert.equal(exec[0].task_id, "execute-write");
});

Deno.test("a subtask writes files only when the run allows file_io", () => {
  const writer = { ...sub("save"), tools: ["file_io" as const], writes_files: true };
  const [allowed] = preparePhasePool({ subtasks: [writer] }, "execution", 4, ["file_io"]);
  assert.equal(allowed.writes_files, true);
  // Without file_io no agent can get write permission, so routing would never find a fit.
  const [denied] = preparePhasePool({ subtasks: [writer] }, "execution", 4, ["terminal"]);
  assert.deepEqual(denied.tools, []);
  assert.equal(denied.writes_files, false);
});

Deno.test("a subtask keeps the network hosts the planner proposed, checked, with one line per refusal", () => {
  const clone = {
    ...sub("clone"),
    tools: ["terminal" as const],
    network_hosts: ["GitHub.com", "*.pypi.org", "https://evil.example/x", "10.0.0.1"],
  };
  const refused: [string, string][] = [];
  const [task] = preparePhasePool({ subtasks: [clone] }, "execution", 4, ["terminal"], {
    givenText: "clone it",
    onRefused: (id, line) => refused.push([id, line]),
  });
  assert.deepEqual(task.network_hosts, ["github.com", "*.pypi.org"]);
  assert.deepEqual(refused.map(([id]) => id), ["execute-clone", "execute-clone"]);
  assert.match(refused[0][1], /^network host "https:\/\/evil.example\/x" refused: no scheme/);
  assert.match(refused[1][1], /^network host "10.0.0.1" refused: .*not a public address/);
});

Deno.test("hosts need a tool that reaches the network, and a plan without hosts gets none", () => {
  const reader = { ...sub("read"), tools: ["file_io" as const], network_hosts: ["github.com"] };
  const refused: string[] = [];
  const [task] = preparePhasePool({ subtasks: [reader] }, "execution", 4, ["file_io"], {
    onRefused: (_id, line) => refused.push(line),
  });
  assert.deepEqual(task.network_hosts, []);
  assert.match(refused[0], /github.com refused: the subtask has no tool that reaches the network/);
  // A model that leaves the field out (older prompts, cassettes) plans no hosts.
  const { network_hosts: _omitted, ...bare } = sub("bare");
  const parsed = PlanSchema.parse({ subtasks: [bare] });
  assert.deepEqual(parsed.subtasks[0].network_hosts, []);
});

Deno.test("the planner's prompt says how to request hosts and that programs reach only them", async () => {
  let system = "";
  const llm = {
    ...noLlm(),
    structured<T>(schema: { parse(v: unknown): T }, request: { messages: { content: string }[] }) {
      system = request.messages[0].content;
      return Promise.resolve({
        value: schema.parse({ subtasks: [{ ...sub("x"), network_hosts: ["github.com"] }] }),
        response: { text: "", usage: { inputTokens: 0, outputTokens: 0 } },
      });
    },
  } as unknown as LlmService;
  const plan = await generatePlan(llm, {
    task: "clone",
    phase: "execution",
    context: {},
    maxSubtasks: 4,
    tools: ["terminal"],
    workspace: "/ws",
  }, { runId: "run_x" });
  assert.deepEqual(plan.subtasks[0].network_hosts, ["github.com"]);
  assert.match(system, /network_hosts/);
  assert.match(system, /through a proxy that lets through exactly the hosts/);
  assert.match(system, /"\*\.pypi\.org"/);
});

/** An LlmService answering every structured call with `reply`, recording each call. */
function recordingLlm(reply: unknown) {
  const calls: { schemaName: string; purpose: string; system: string; user: string }[] = [];
  const llm = {
    ...noLlm(),
    structured<T>(
      schema: { parse(v: unknown): T },
      request: { schemaName: string; messages: { content: string }[] },
      meta: { purpose: string },
    ) {
      calls.push({
        schemaName: request.schemaName,
        purpose: meta.purpose,
        system: request.messages[0].content,
        user: request.messages[1].content,
      });
      return Promise.resolve({
        value: schema.parse(reply),
        response: { text: "", usage: { inputTokens: 0, outputTokens: 0 } },
      });
    },
  } as unknown as LlmService;
  return { llm, calls };
}

const FIRST_REQUEST = {
  task: "count the rows of data.csv",
  context: {},
  maxSubtasks: 4,
  tools: ["file_io" as const],
  workspace: "/ws",
};

Deno.test("one call classifies the task and plans it: simple means the plan is the execution phase", async () => {
  const { llm, calls } = recordingLlm({ complexity: "simple", subtasks: [sub("count")] });
  const first = await planTask(llm, FIRST_REQUEST, { runId: "run_x" });
  assert.equal(calls.length, 1, "no separate classification call");
  assert.deepEqual([calls[0].schemaName, calls[0].purpose], ["task_plan", "plan"]);
  assert.deepEqual([first.complexity, first.phase], ["simple", "execution"]);
  assert.deepEqual(first.plan.subtasks.map((t) => t.task_id), ["count"]);
  // The classification rules the old classify call had are in the planner's prompt.
  assert.match(calls[0].system, /SIMPLE: one or two direct steps with no need to explore first/);
  assert.match(calls[0].system, /COMPLEX: the task needs discovery/);
  assert.match(calls[0].system, /for a COMPLEX task, the DISCOVERY phase only: read-only/);
  assert.equal(calls[0].user, "Task: count the rows of data.csv");
});

Deno.test("a complex task's first plan is its discovery phase", async () => {
  const { llm } = recordingLlm({ complexity: "complex", subtasks: [sub("scan")] });
  const first = await planTask(llm, FIRST_REQUEST, { runId: "run_x" });
  assert.deepEqual([first.complexity, first.phase], ["complex", "discovery"]);
  const pool = preparePhasePool(first.plan, first.phase, 4, ["file_io"]);
  assert.equal(pool[0].task_id, "discover-scan");
});

Deno.test("the first plan's schema needs the complexity and keeps the plan's rules", () => {
  assert.equal(FirstPlanSchema.safeParse({ subtasks: [sub("a")] }).success, false);
  assert.equal(
    FirstPlanSchema.safeParse({ complexity: "medium", subtasks: [sub("a")] }).success,
    false,
  );
  const { network_hosts: _omitted, ...bare } = sub("bare");
  const parsed = FirstPlanSchema.parse({ complexity: "simple", subtasks: [bare] });
  assert.deepEqual(parsed.subtasks[0].network_hosts, []);
  assert.equal(FirstPlanSchema.safeParse({ complexity: "simple", subtasks: [{}] }).success, false);
});

Deno.test("with an MCP catalogue the planner sees it, one line per server, and may name servers per subtask; without one the request is unchanged", async () => {
  const catalogue = [
    { name: "fs", tools: ["read_text_file", "write_file"] },
    { name: "remote", tools: ["search"], host: "mcp.example.com" },
  ];
  const reply = {
    complexity: "simple",
    subtasks: [{ ...sub("read"), mcp_servers: ["fs", "ghost"] }],
  };
  const offered = recordingLlm(reply);
  const first = await planTask(offered.llm, { ...FIRST_REQUEST, mcpServers: catalogue }, {
    runId: "run_x",
  });
  assert.deepEqual(first.plan.subtasks[0].mcp_servers, ["fs", "ghost"]);
  const system = offered.calls[0].system;
  assert.match(
    system,
    /MCP servers \(the user's approved catalogue; list in a subtask's mcp_servers/,
  );
  assert.match(
    system,
    /\n- fs: read_text_file, write_file\n- remote \(remote, mcp\.example\.com\): search/,
  );
  // Without a catalogue: no MCP line, and the schema has no mcp_servers (the reply's is dropped).
  for (const mcpServers of [undefined, []]) {
    const plain = recordingLlm(reply);
    const bare = await planTask(plain.llm, { ...FIRST_REQUEST, mcpServers }, { runId: "run_x" });
    assert.doesNotMatch(plain.calls[0].system, /MCP/);
    assert.equal("mcp_servers" in bare.plan.subtasks[0], false);
  }
  const execution = recordingLlm({ subtasks: [{ ...sub("x"), mcp_servers: ["remote"] }] });
  const plan = await generatePlan(execution.llm, {
    ...FIRST_REQUEST,
    phase: "execution",
    mcpServers: catalogue,
  }, { runId: "run_x" });
  assert.deepEqual(plan.subtasks[0].mcp_servers, ["remote"]);
  assert.match(execution.calls[0].system, /- remote \(remote, mcp\.example\.com\): search/);
});

Deno.test("a subtask keeps only catalogue MCP servers; each other name is reported, never kept", () => {
  const dropped: [string, string][] = [];
  const pool = preparePhasePool(
    {
      subtasks: [
        { ...sub("read"), mcp_servers: ["fs", "ghost", "fs"] },
        { ...sub("plain") },
        { ...sub("only-ghost"), mcp_servers: ["ghost"] },
      ],
    },
    "execution",
    4,
    ["file_io"],
    {
      mcpServers: ["fs", "mem"],
      onMcpDropped: (id, name) => dropped.push([id, name]),
    },
  );
  assert.deepEqual(pool[0].mcp_servers, ["fs"]);
  assert.equal(pool[1].mcp_servers, undefined);
  assert.equal(pool[2].mcp_servers, undefined);
  assert.deepEqual(dropped, [["execute-read", "ghost"], ["execute-only-ghost", "ghost"]]);
  // No catalogue given: every name is dropped.
  const none = preparePhasePool(
    { subtasks: [{ ...sub("read"), mcp_servers: ["fs"] }] },
    "execution",
    4,
    ["file_io"],
  );
  assert.equal(none[0].mcp_servers, undefined);
});
