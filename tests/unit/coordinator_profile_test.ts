import assert from "node:assert/strict";
import {
  fallbackProfile,
  generateProfile,
  normalizeProfile,
  type ProfilePayload,
} from "../../coordinator/profile.ts";
import { preparePhasePool } from "../../coordinator/planner.ts";
import type { LlmService } from "../../llm/types.ts";
import type { Subtask } from "../../coordinator/types.ts";
import { planSubtask } from "../helpers/plan.ts";
import { noLlm } from "../helpers/run_context.ts";

function subtask(network_hosts: string[]): Subtask {
  const item = { ...planSubtask("clone"), tools: ["terminal" as const], network_hosts };
  return preparePhasePool({ subtasks: [item] }, "execution", 4, ["terminal", "file_io"])[0];
}

const payload: ProfilePayload = {
  profile_id: "repo-cloner",
  name_prefix: "Repo Cloner",
  description: "Clones repositories and runs their tests.",
  tools_allowlist: ["terminal"],
  tags: [],
  skill_md: "# Repo Cloner\n\nClone, then test.",
  skill_ids: [],
  file_write: false,
};

/** A model whose profile reply also asks for hosts of its own (and writes). */
function greedyModel(): LlmService {
  return {
    ...noLlm(),
    structured<T>(schema: { parse(v: unknown): T }) {
      const reply = { ...payload, network_hosts: ["evil.example.com", "*.com"] };
      return Promise.resolve({
        value: schema.parse(reply),
        response: { text: JSON.stringify(reply), usage: { inputTokens: 0, outputTokens: 0 } },
      });
    },
  } as unknown as LlmService;
}

Deno.test("a new agent gets exactly the hosts the planner proposed for its subtask", () => {
  const profile = normalizeProfile(payload, subtask(["github.com", "*.pypi.org"]), ["terminal"]);
  assert.deepEqual(profile.permissions.network_hosts, ["github.com", "*.pypi.org"]);
  assert.match(profile.skill_md, /reaches only these hosts: github.com, \*.pypi.org/);
  assert.deepEqual(
    normalizeProfile(payload, subtask([]), ["terminal"]).permissions.network_hosts,
    [],
  );
  const fallback = fallbackProfile(subtask(["github.com"]), ["terminal"], "model down");
  assert.deepEqual(fallback.permissions.network_hosts, ["github.com"]);
});

Deno.test("the profile step cannot add hosts the planner did not propose", async () => {
  const withHosts = await generateProfile(greedyModel(), {
    task: "clone the repo",
    subtask: subtask(["github.com"]),
    allowedTools: ["terminal"],
  }, { runId: "run_x" });
  assert.equal(withHosts.source, "llm");
  assert.deepEqual(withHosts.permissions.network_hosts, ["github.com"]);
  const without = await generateProfile(greedyModel(), {
    task: "clone the repo",
    subtask: subtask([]),
    allowedTools: ["terminal"],
  }, { runId: "run_x" });
  assert.deepEqual(without.permissions.network_hosts, []);
});

Deno.test("a subtask from a run planned before hosts existed gives its agent none", () => {
  const old = { ...subtask(["github.com"]) };
  delete old.network_hosts;
  assert.deepEqual(normalizeProfile(payload, old, ["terminal"]).permissions.network_hosts, []);
});

Deno.test("a new agent is granted exactly the MCP servers the planner named for its subtask, whatever the model names", () => {
  const item = { ...planSubtask("read"), tools: ["file_io" as const], mcp_servers: ["fs"] };
  const [task] = preparePhasePool({ subtasks: [item] }, "execution", 4, ["file_io"], {
    mcpServers: ["fs", "remote"],
  });
  const profile = normalizeProfile(payload, task, ["file_io"], "llm", ["fs", "remote"], {
    remote: "mcp.example.com",
  });
  assert.deepEqual(profile.permissions.mcp_servers, ["fs"]);
  // The model's other catalogue servers are not added; its invented names are dropped.
  const more = normalizeProfile(
    { ...payload, mcp_servers: ["remote", "ghost"] },
    task,
    ["file_io"],
    "llm",
    ["fs", "remote"],
    { remote: "mcp.example.com" },
  );
  assert.deepEqual(more.permissions.mcp_servers, ["fs"]);
  assert.deepEqual(more.permissions.network_hosts, []);
  assert.deepEqual(more.dropped_mcp_servers, ["ghost"]);
  // A subtask the planner named none for: the model's catalogue servers are granted.
  const [plain] = preparePhasePool(
    { subtasks: [{ ...planSubtask("read"), tools: ["file_io" as const] }] },
    "execution",
    4,
    ["file_io"],
  );
  const chosen = normalizeProfile(
    { ...payload, mcp_servers: ["remote", "ghost"] },
    plain,
    ["file_io"],
    "llm",
    ["fs", "remote"],
    { remote: "mcp.example.com" },
  );
  assert.deepEqual(chosen.permissions.mcp_servers, ["remote"]);
  assert.deepEqual(chosen.permissions.network_hosts, ["mcp.example.com"]);
  assert.deepEqual(chosen.dropped_mcp_servers, ["ghost"]);
  // When the model fails, the fallback profile still grants them.
  const fallback = fallbackProfile(task, ["file_io"], "model down", ["fs"]);
  assert.deepEqual(fallback.permissions.mcp_servers, ["fs"]);
  assert.equal(fallback.dropped_mcp_servers, undefined);
});
