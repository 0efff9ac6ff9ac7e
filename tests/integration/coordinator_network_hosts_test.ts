/**
 * Network hosts from the plan to the manifest, through the real CLI: the
 * planner's checked hosts become the new agent's `permissions.network_hosts`
 * (the profile step cannot add any, a bad pattern is refused with one line),
 * the create question names them, and routing does not reuse an agent that
 * lacks one of them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../store/mod.ts";
import { readManifest } from "../../capsule_runtime/factory.ts";
import { createCapsule } from "../../capsule_runtime/factory.ts";
import { HashEmbedder } from "../../store/hash_embedder.ts";
import { VectorIndex } from "../../store/vector_index.ts";
import type { Settings } from "../../core/settings.ts";
import { runCli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp.ts";
import { type Brain, finalStep, type PlanItem, startBrain } from "../helpers/coordinator_brain.ts";

const CLONE: PlanItem = {
  task_id: "clone",
  title: "Clone the repository and run its tests",
  description: "Clone the repository from github.com, install its packages and run its tests.",
  role_tag: "repo-tester",
  tools: ["terminal"],
  requires_tool: false,
  network_hosts: ["GitHub.com", "*.pypi.org", "https://evil.example/x"],
};

function cloneBrain(hosts = CLONE.network_hosts): Brain {
  return {
    plan: () => [{ ...CLONE, network_hosts: hosts }],
    agent: () => finalStep("cloned, 12 tests passed"),
    // The profile model asks for hosts of its own: they must not reach the manifest.
    profileExtra: { network_hosts: ["attacker.example.com"] },
    synthesis: "done",
  };
}

function runEvents(settings: Settings, event: string): Record<string, unknown>[] {
  const store = openStore(settings.dbPath);
  try {
    const run = store.runs.list({ limit: 1 })[0];
    return Deno.readTextFileSync(join(settings.runLogsDir, `${run.run_id}.jsonl`)).trim()
      .split("\n").map((l) => JSON.parse(l)).filter((l) => l.event === event)
      .map((l) => l.payload);
  } finally {
    store.close();
  }
}

/** An existing terminal agent whose description matches the subtask word for word. */
function seedTester(settings: Settings, networkHosts: string[]): string {
  const embedder = new HashEmbedder(settings.embeddingDim);
  const vector = embedder.embedSync(`${CLONE.title}\n${CLONE.description}`);
  const manifest = createCapsule(settings.agentsDir, {
    name: "Old Tester",
    description: CLONE.description,
    tools_allowlist: ["terminal"],
    permissions: {
      read_roots: ["."],
      write_roots: [],
      network_hosts: networkHosts,
      file_write: false,
      sql_paths: [],
    },
    embedding_model: embedder.name,
    embedding_vector: Array.from(vector),
  });
  const store = openStore(settings.dbPath);
  try {
    store.agents.upsertManifest(manifest);
    new VectorIndex(store.db, embedder.dim).upsert(manifest.agent_id, vector);
  } finally {
    store.close();
  }
  return manifest.agent_id;
}

Deno.test("the planner's hosts reach the new agent's manifest, named in the create question", async () => {
  await using dir = await tempDir();
  const { fake, env, settings } = await startBrain(dir.path, cloneBrain());
  try {
    const out = await runCli(["run", "Clone the repository and run its tests", "--json"], {
      cwd: dir.path,
      env,
    });
    assert.equal(out.code, 0, out.stderr + out.stdout);
    const [created] = runEvents(settings, "agent_created_for_role");
    const manifest = readManifest(settings.agentsDir, String(created.agent_id))!;
    assert.deepEqual(manifest.permissions.network_hosts, ["github.com", "*.pypi.org"]);
    // `closed-claw agent` says which hosts its programs may reach through the proxy.
    const shown = await runCli(["agent", manifest.agent_id], { cwd: dir.path, env });
    assert.match(shown.stdout, /programs reach\s+github.com, \*\.pypi\.org/);
    const json = JSON.parse(
      (await runCli(["agent", manifest.agent_id, "--json"], {
        cwd: dir.path,
        env,
      })).stdout,
    );
    assert.deepEqual(json.agent.program_network.hosts, ["github.com", "*.pypi.org"]);
    const refused = runEvents(settings, "network_host_refused");
    assert.deepEqual(refused, [{
      task_id: "execute-clone",
      line:
        'network host "https://evil.example/x" refused: no scheme; give a host name or *.domain (e.g. github.com, *.pypi.org)',
    }]);
    const store = openStore(settings.dbPath);
    try {
      // No agent matched, yet a new agent that reaches the network is asked about.
      const [ask] = store.approvals.list().filter((a) => a.kind === "agent_create");
      assert.equal(ask.status, "approved");
      assert.deepEqual(ask.request_data.network_hosts, ["github.com", "*.pypi.org"]);
      assert.match(
        String(ask.request_data.summary),
        /that can run programs \(bash\) and reach the network \(github.com, \*\.pypi.org\)\?/,
      );
    } finally {
      store.close();
    }
  } finally {
    await fake.close();
  }
});

Deno.test("denying the create question leaves no agent with the hosts, and says why", async () => {
  await using dir = await tempDir();
  const { fake, env, settings } = await startBrain(dir.path, cloneBrain(["github.com"]), {
    CLOSED_CLAW_CREATE_APPROVAL_MODE: "deny",
  });
  try {
    const out = await runCli(["run", "Clone the repository and run its tests", "--json"], {
      cwd: dir.path,
      env,
    });
    assert.notEqual(out.code, 0);
    assert.match(
      out.stdout,
      /agent_create_denied: a new agent reaching github.com was not approved/,
    );
    assert.deepEqual(runEvents(settings, "agent_created_for_role"), []);
  } finally {
    await fake.close();
  }
});

Deno.test("routing does not reuse a close match that lacks a host the subtask needs", async () => {
  for (const [seedHosts, reused] of [[["github.com"], true], [[], false]] as const) {
    await using dir = await tempDir();
    const { fake, env, settings } = await startBrain(dir.path, cloneBrain(["github.com"]));
    try {
      const seeded = seedTester(settings, [...seedHosts]);
      const out = await runCli(["run", "Clone the repository and run its tests", "--json"], {
        cwd: dir.path,
        env,
      });
      assert.equal(out.code, 0, out.stderr + out.stdout);
      const [decision] = runEvents(settings, "routing_decision");
      const candidate = (decision.candidates as { agent_id: string; tools_fit: boolean }[])
        .find((c) => c.agent_id === seeded)!;
      assert.equal(candidate.tools_fit, reused, `seed hosts ${seedHosts}`);
      assert.equal(decision.decision, reused ? "reuse" : "create");
      assert.equal(runEvents(settings, "agent_created_for_role").length, reused ? 0 : 1);
    } finally {
      await fake.close();
    }
  }
});
