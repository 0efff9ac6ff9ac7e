/**
 * The planner grants catalogue MCP servers per subtask, through the real CLI
 * and a scripted model: with a catalogue, the planning prompt lists it (one
 * line per server) and a subtask may name servers; a name not in the
 * catalogue is dropped with `mcp_server_dropped`; an existing agent that fits
 * the subtask in every other way but lacks the server is not reused (nor
 * taken as a twin), so a new agent is created with exactly that server and
 * calls it; a later run reuses that agent. Runs without bubblewrap (no
 * `bwrap` on the CLI's PATH), so the server is the Deno fixture
 * (tests/fixtures/mcp_deno_server.ts) under Deno's permissions.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import {
  type Brain,
  finalStep,
  type PlanItem,
  startBrain,
  toolStep,
} from "../helpers/coordinator_brain.ts";
import { tempDir } from "../helpers/temp.ts";
import { events } from "../helpers/run_events.ts";
import { cacheDenoServers, MCP_DENO_FIXTURE as FIXTURE } from "../helpers/mcp_deno_fixture.ts";

const DENO = Deno.realPathSync(Deno.execPath());

const cacheProblem = await cacheDenoServers();

Deno.test({
  name: cacheProblem
    ? `the planner grants MCP servers per subtask (skipped: ${cacheProblem})`
    : "the planner names catalogue MCP servers per subtask: unknown ones dropped, an agent lacking one is not reused, the agent created gets exactly it and uses it, and is reused later",
  ignore: cacheProblem !== "",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using dir = await tempDir();
    const item: PlanItem = {
      task_id: "read-notes",
      title: "Read the notes",
      description: "Read notes.txt in the workspace and report what it says.",
      role_tag: "notes-reader",
      tools: ["file_io"],
      // The first run's agent answers without a tool call.
      requires_tool: false,
    };
    let servers: string[] | undefined;
    let calls: [string, Record<string, unknown>][] = [];
    const planPrompts: string[] = [];
    const seen: string[] = [];
    const brain: Brain = {
      complexity: "simple",
      plan: (_phase, prompt) => {
        planPrompts.push(prompt);
        return [{ ...item, ...(servers ? { mcp_servers: servers } : {}) }];
      },
      agent: ({ step, last }) => {
        if (step > 0) seen.push(last);
        return step < calls.length ? toolStep(...calls[step]) : finalStep("done");
      },
      // The profile step asks for dn2: granted when the planner named none, ignored otherwise.
      profileExtra: { mcp_servers: ["dn2"] },
      synthesis: "done",
    };
    const started = await startBrain(dir.path, brain);
    const workspace = Deno.realPathSync(started.workspace);
    const env = { ...started.env, PATH: "/nonexistent" };
    Deno.writeTextFileSync(join(workspace, "notes.txt"), "hello from the notes\n");
    const cli = (args: string[]) => runCli(args, { cwd: workspace, env });
    const run = async () => {
      const out = await cli(["run", "Read the notes", "--json"]);
      assert.equal(out.code, 0, out.stdout + out.stderr);
      return JSON.parse(out.stdout).run_id as string;
    };
    try {
      for (const name of ["dn", "dn2"]) {
        const add = await cli(["mcp", "add", name, "--yes", "--", DENO, "run", FIXTURE]);
        assert.equal(add.code, 0, add.stdout + add.stderr);
      }

      // 1. No server named by the planner: the agent created gets what the profile asks (dn2).
      const first = await run();
      assert.match(planPrompts[0], /MCP servers \(the user's approved catalogue/);
      assert.match(planPrompts[0], /\n- dn: read_file, write_file, fetch_url.*\n- dn2: read_file/);
      const plainAgent = events(workspace, first, "agent_created_for_role")[0];
      assert.deepEqual((plainAgent.permissions as { mcp_servers?: string[] }).mcp_servers, [
        "dn2",
      ]);

      // 2. The planner names dn (and an invented server): that agent lacks dn, so it is not
      //    reused; a new one is created with exactly dn (not the profile's dn2), and its call
      //    reaches the server.
      servers = ["dn", "ghost"];
      calls = [["mcp__dn__read_file", { path: join(workspace, "notes.txt") }]];
      const second = await run();
      assert.deepEqual(
        events(workspace, second, "mcp_server_dropped").map((e) => [e.task_id, e.server]),
        [["execute-read-notes", "ghost"]],
      );
      const planned = events(workspace, second, "task_plan_created")[0];
      assert.deepEqual(
        (planned.subtasks as { mcp_servers?: string[] }[])[0].mcp_servers,
        ["dn"],
      );
      const routing = events(workspace, second, "routing_decision")[0];
      const candidates = routing.candidates as { agent_id: string; tools_fit: boolean }[];
      assert.deepEqual(
        candidates.filter((c) => c.agent_id === plainAgent.agent_id).map((c) => c.tools_fit),
        [false],
      );
      assert.equal(routing.decision, "create");
      assert.deepEqual(events(workspace, second, "agent_twin_found"), []);
      const created = events(workspace, second, "agent_created_for_role");
      assert.equal(created.length, 1);
      assert.notEqual(created[0].agent_id, plainAgent.agent_id);
      assert.deepEqual((created[0].permissions as { mcp_servers?: string[] }).mcp_servers, ["dn"]);
      const served = events(workspace, second, "mcp_servers")[0];
      assert.equal(served.agent_id, created[0].agent_id);
      assert.deepEqual((served.served as { server: string }[]).map((s) => s.server), ["dn"]);
      assert.match(seen[0], /hello from the notes/);

      // 3. The same plan again: the agent that has dn serves it (no new agent).
      seen.length = 0;
      const third = await run();
      assert.deepEqual(events(workspace, third, "agent_created_for_role"), []);
      const reused = events(workspace, third, "agent_reused_for_role");
      assert.deepEqual(reused.map((e) => e.agent_id), [created[0].agent_id]);
      assert.match(seen[0], /hello from the notes/);
    } finally {
      await started.fake.close();
    }
  },
});
