/**
 * Closed Claw as an MCP server, driven by the MCP SDK's own client: over
 * stdio (`closed-claw mcp serve` in a subprocess, as an MCP client starts it)
 * and over Streamable HTTP (the dashboard's `/mcp`, behind its token and
 * Origin checks), each against a fake model server with a scripted run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
// The SDK's "./*" export maps `x.js` to types at `x.js.d.ts`; see mcp_server/server.ts.
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import type { CallToolResult, Progress } from "@modelcontextprotocol/sdk/types.js";
import { openStore } from "../../store/mod.ts";
import { startWebServer } from "../../web/server.ts";
import { coordinatorForWeb } from "../../web/coordinator_adapter.ts";
import type { WebDeps } from "../../web/deps.ts";
import { childEnv, cliArgs } from "../helpers/cli.ts";
import { isAgentStep, notesBrain, startBrain } from "../helpers/coordinator_brain.ts";
import { waitFor } from "../helpers/wait.ts";
import { tempDir } from "../helpers/temp.ts";

const TOOLS = [
  "approve",
  "cancel_run",
  "deny",
  "get_run",
  "list_agents",
  "list_runs",
  "resume_run",
  "run_task",
];

/** The text of a tool result's first content block. */
function text(result: unknown): string {
  const first = (result as CallToolResult).content[0];
  return first?.type === "text" ? first.text : "";
}

/**
 * Calls run_task for notes.txt with progress; checks the answer and returns
 * the run id. With `approve`, an approval the run asks for (named in a
 * progress message) is approved with the approve tool while run_task waits.
 */
async function runNotesTask(
  client: Client,
  options: { approve?: boolean } = {},
): Promise<{ runId: string; progress: Progress[]; approvals: string[] }> {
  const progress: Progress[] = [];
  const approvals: Promise<CallToolResult>[] = [];
  const result = await client.callTool(
    { name: "run_task", arguments: { task: "Read notes.txt and tell me its first line" } },
    undefined,
    {
      onprogress: (p) => {
        progress.push(p);
        const asked = /^approval_request (\S+):/.exec(p.message ?? "")?.[1];
        if (asked && options.approve) {
          approvals.push(
            client.callTool({
              name: "approve",
              arguments: { approval_id: asked, note: "fine" },
            }) as Promise<CallToolResult>,
          );
        }
      },
      timeout: 120_000,
    },
  ) as CallToolResult;
  const decided = await Promise.all(approvals);
  for (const d of decided) assert.equal(d.isError, undefined, text(d));
  assert.equal(result.isError, undefined, text(result));
  assert.match(text(result), /hello world/);
  const outcome = result.structuredContent as { run_id: string; status: string; usage: object };
  assert.equal(outcome.status, "ok");
  assert.ok(outcome.usage);
  // One progress notification per run-log event, in order, from the first to the last.
  assert.ok(progress.length >= 3, `progress: ${JSON.stringify(progress)}`);
  assert.deepEqual(progress.map((p) => p.progress), progress.map((_, i) => i + 1));
  assert.match(progress[0].message ?? "", /^task_ingested/);
  assert.ok(progress.some((p) => /^tool_started/.test(p.message ?? "")), "a tool_started event");
  return {
    runId: outcome.run_id,
    progress,
    approvals: decided.map((d) => (d.structuredContent as { approval_id: string }).approval_id),
  };
}

Deno.test("mcp serve (stdio): tools, run_task with progress, runs, the run-log resource, errors", async () => {
  await using dir = await tempDir();
  const { fake, env, workspace } = await startBrain(dir.path, notesBrain());
  await Deno.writeTextFile(join(workspace, "notes.txt"), "hello world\nsecond line\n");
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: cliArgs(["mcp", "serve"]),
    cwd: dir.path,
    env: childEnv(dir.path, env),
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => stderr += new TextDecoder().decode(chunk));
  const client = new Client({ name: "closed-claw-test", version: "1.0.0" });
  // Anything but protocol messages on the server's stdout would be a parse error here.
  const protocolErrors: Error[] = [];
  client.onerror = (error) => protocolErrors.push(error);
  try {
    await client.connect(transport);
    assert.equal(client.getServerVersion()?.name, "closed-claw");

    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), TOOLS);
    const runTask = tools.find((t) => t.name === "run_task")!;
    assert.deepEqual(runTask.inputSchema.required, ["task"]);

    const { runId } = await runNotesTask(client);

    // get_run by id, by prefix and as `last`.
    for (const ref of [runId, runId.slice(0, 8), "last"]) {
      const got = await client.callTool({ name: "get_run", arguments: { run_id: ref } });
      assert.equal(got.isError, undefined, text(got));
      const run = got.structuredContent as { run_id: string; status: string; result: string };
      assert.equal(run.run_id, runId);
      assert.equal(run.status, "ok");
      assert.match(run.result, /hello world/);
    }
    const listed = await client.callTool({ name: "list_runs", arguments: { limit: 5 } });
    assert.deepEqual(
      (listed.structuredContent as { runs: { run_id: string }[] }).runs.map((r) => r.run_id),
      [runId],
    );
    const agents = await client.callTool({ name: "list_agents", arguments: {} });
    assert.equal((agents.structuredContent as { agents: unknown[] }).agents.length, 1);

    // The run's log, listed and read as JSON lines.
    const uri = `closed-claw://runs/${runId}/log`;
    const { resources } = await client.listResources();
    assert.ok(resources.some((r) => r.uri === uri), JSON.stringify(resources));
    const { resourceTemplates } = await client.listResourceTemplates();
    assert.deepEqual(resourceTemplates.map((t) => t.uriTemplate), [
      "closed-claw://runs/{run_id}/log",
    ]);
    const log = await client.readResource({ uri });
    const lines = String((log.contents[0] as { text: string }).text).trim().split("\n");
    const events = lines.map((line) => JSON.parse(line).event);
    assert.equal(events[0], "task_ingested");
    assert.ok(events.includes("run_finished"), events.join(","));

    // Errors are results with isError and one line; the server keeps serving.
    const unknown = await client.callTool({ name: "get_run", arguments: { run_id: "feedbeef" } });
    assert.equal(unknown.isError, true);
    assert.match(text(unknown), /^No run with id feedbeef\./);
    assert.equal(text(unknown).split("\n").length, 1);
    const badId = await client.callTool({ name: "get_run", arguments: { run_id: "../x" } });
    assert.equal(badId.isError, true);
    assert.match(text(badId), /is not a run id/);
    const noApproval = await client.callTool({
      name: "approve",
      arguments: { approval_id: "nope1234" },
    });
    assert.equal(noApproval.isError, true);
    assert.match(text(noApproval), /No approval with id nope1234/);
    const notRunning = await client.callTool({ name: "cancel_run", arguments: { run_id: runId } });
    assert.equal(notRunning.isError, true);
    assert.match(text(notRunning), /is ok\. Only running runs can be cancelled/);
    const done = await client.callTool({ name: "resume_run", arguments: { run_id: runId } });
    assert.equal(done.isError, true);
    assert.match(text(done), /already finished successfully/);
    const blank = await client.callTool({ name: "run_task", arguments: { task: "  " } });
    assert.equal(blank.isError, true);
    await assert.rejects(
      client.readResource({ uri: "closed-claw://runs/feedbeef/log" }),
      /No run with id feedbeef/,
    );
    const still = await client.callTool({ name: "list_runs", arguments: {} });
    assert.equal(still.isError, undefined);
    // The SDK's client handles a progress notification a microtask late, so one that shares a
    // read with the result finds its handler gone ("unknown token"): harmless, and not ours.
    const lateProgress = /progress notification for an unknown token/;
    assert.deepEqual(protocolErrors.filter((e) => !lateProgress.test(e.message)), []);
  } finally {
    await client.close();
    await fake.close();
  }
  assert.doesNotMatch(stderr, /error/i, stderr);
});

/** Starts `closed-claw mcp serve` in `dir` with `env` and connects the SDK's client to it. */
async function serveStdio(dir: string, env: Record<string, string>) {
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: cliArgs(["mcp", "serve"]),
    cwd: dir,
    env: childEnv(dir, env),
    stderr: "pipe",
  });
  const client = new Client({ name: "closed-claw-test", version: "1.0.0" });
  await client.connect(transport);
  return client;
}

Deno.test("mcp serve (stdio): cancelling run_task cancels the run; resume_run finishes it", async () => {
  await using dir = await tempDir();
  // The agent's first step hangs until the run is resumed.
  let slow = true;
  const [slowBrain, fastBrain] = [notesBrain({ stepDelayMs: 20_000 }), notesBrain()];
  const { fake, env, workspace } = await startBrain(dir.path, {
    ...fastBrain,
    agent: (input) => (slow ? slowBrain : fastBrain).agent(input),
  });
  await Deno.writeTextFile(join(workspace, "notes.txt"), "hello world\n");
  const client = await serveStdio(dir.path, env);
  try {
    const abort = new AbortController();
    const call = client.callTool(
      { name: "run_task", arguments: { task: "Read notes.txt and tell me its first line" } },
      undefined,
      { signal: abort.signal, timeout: 120_000 },
    );
    await waitFor(() => fake.requests.some(isAgentStep), "the agent's first step");
    abort.abort("changed my mind");
    await assert.rejects(call);
    const status = async () => {
      const got = await client.callTool({ name: "get_run", arguments: { run_id: "last" } });
      return (got.structuredContent as { status: string }).status;
    };
    let last = "";
    await waitFor(async () => (last = await status()) === "cancelled", "the run cancelled", 15_000);

    slow = false;
    const resumed = await client.callTool(
      { name: "resume_run", arguments: { run_id: "last" } },
      undefined,
      { timeout: 120_000 },
    ) as CallToolResult;
    assert.equal(resumed.isError, undefined, text(resumed));
    assert.match(text(resumed), /hello world/);
    assert.equal((resumed.structuredContent as { status: string }).status, "ok");
    assert.equal(last, "cancelled");
  } finally {
    await client.close();
    await fake.close();
  }
});

Deno.test("dashboard /mcp (Streamable HTTP): needs the token, refuses a foreign Origin, runs tasks", async () => {
  await using dir = await tempDir();
  // Every new agent is asked about, and nobody can answer a terminal here: the question waits
  // for the approve tool.
  const { fake, settings, workspace } = await startBrain(dir.path, notesBrain(), {
    CLOSED_CLAW_CREATE_APPROVAL_MODE: "interactive",
    CLOSED_CLAW_AGENT_APPROVAL_SCOPE: "all",
  });
  await Deno.writeTextFile(join(workspace, "notes.txt"), "hello world\n");
  Deno.mkdirSync(settings.homeDir, { recursive: true });
  const store = openStore(settings.dbPath);
  const deps: WebDeps = { settings, store, coordinator: null };
  deps.coordinator = coordinatorForWeb(deps);
  const server = startWebServer(deps, { port: 0 });
  const url = new URL(`${server.url}/mcp`);
  const connect = async (headers: Record<string, string>) => {
    const client = new Client({ name: "closed-claw-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
    return client;
  };
  const initialize = JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "raw", version: "1" },
    },
  });
  const post = (headers: Record<string, string>) =>
    fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...headers,
      },
      body: initialize,
    });
  try {
    // No token, a wrong token, a foreign Origin: refused before MCP sees the request.
    const status = (code: number) => (error: unknown) => (error as { code?: number }).code === code;
    await assert.rejects(connect({}), status(401));
    await assert.rejects(connect({ authorization: "Bearer wrong" }), status(401));
    const bearer = { authorization: `Bearer ${server.token}` };
    await assert.rejects(connect({ ...bearer, origin: "http://evil.example" }), status(403));
    const anonymous = await post({});
    assert.equal(anonymous.status, 401);
    await anonymous.body?.cancel();
    const foreign = await post({ ...bearer, origin: "http://evil.example" });
    assert.equal(foreign.status, 403);
    await foreign.body?.cancel();
    const foreignGet = await fetch(url, { headers: { ...bearer, origin: "http://evil.example" } });
    assert.equal(foreignGet.status, 403);
    await foreignGet.body?.cancel();
    const ownOrigin = await post({ ...bearer, origin: server.url });
    assert.equal(ownOrigin.status, 200);
    await ownOrigin.body?.cancel();

    // With the token: the same tools, and a whole run with progress.
    const client = await connect(bearer);
    try {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), TOOLS);
      const { runId, approvals } = await runNotesTask(client, { approve: true });
      assert.equal(approvals.length, 1, "the agent_create approval was asked and approved");
      const decision = store.approvals.get(approvals[0])!;
      assert.deepEqual([decision.kind, decision.status, decision.operator, decision.note], [
        "agent_create",
        "approved",
        "mcp",
        "fine",
      ]);
      assert.equal(store.agents.list(10).length, 1, "the approved agent was created");
      const got = await client.callTool({ name: "get_run", arguments: { run_id: "last" } });
      assert.equal((got.structuredContent as { run_id: string }).run_id, runId);
      assert.equal(store.runs.get(runId)?.status, "ok");
      const missing = await client.callTool({
        name: "deny",
        arguments: { approval_id: "nope1234", note: "no" },
      });
      assert.equal(missing.isError, true);
      assert.match(text(missing), /No approval with id nope1234/);
    } finally {
      await client.close();
    }
  } finally {
    await server.shutdown();
    store.close();
    await fake.close();
  }
});
