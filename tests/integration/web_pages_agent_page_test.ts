/** The dashboard's agent page: which hosts the agent's programs may reach through the proxy. */
import assert from "node:assert/strict";
import { createCapsule } from "../../capsule_runtime/factory.ts";
import type { ToolName } from "../../capsule_runtime/manifest.ts";
import { probeBubblewrap } from "../../capsule_runtime/bwrap_probe.ts";
import { egressProxyAvailable } from "../../capsule_runtime/egress_bridge.ts";
import { startWebFixture, type WebFixture } from "../helpers/web_fixture.ts";

function addAgent(fx: WebFixture, tools: ToolName[], networkHosts: string[]): string {
  const manifest = createCapsule(fx.settings.agentsDir, {
    name: "Repo Tester",
    description: "Clones repositories and runs their tests",
    tools_allowlist: tools,
    permissions: {
      read_roots: ["."],
      write_roots: [],
      network_hosts: networkHosts,
      file_write: false,
      sql_paths: [],
    },
  });
  fx.store.agents.upsertManifest(manifest);
  return manifest.agent_id;
}

Deno.test("the agent page lists the hosts its programs may reach through the egress proxy", async () => {
  await using fx = await startWebFixture();
  const bwrap = await probeBubblewrap();
  const proxy = egressProxyAvailable({ bwrapPath: bwrap.works ? bwrap.path : "" });
  const tester = addAgent(fx, ["terminal"], ["github.com", "*.pypi.org"]);
  const api = await (await fx.api("GET", `/api/agents/${tester}`)).json();
  assert.deepEqual(api.program_network.hosts, ["github.com", "*.pypi.org"]);
  assert.equal(api.program_network.reachable, proxy.available);
  const page = await (await fx.api("GET", `/agents/${tester}`)).text();
  assert.match(page, /<h2>Network for its programs<\/h2>/);
  assert.match(page, /may reach only these hosts, through the egress proxy/);
  assert.match(page, /<li class="mono">github.com<\/li><li class="mono">\*.pypi.org<\/li>/);
  if (!proxy.available) assert.match(page, /the egress proxy is not available here/);

  const offline = addAgent(fx, ["terminal"], []);
  const none = await (await fx.api("GET", `/agents/${offline}`)).text();
  assert.match(none, /none: no network_hosts, programs have no network/);
  const reader = addAgent(fx, ["file_io"], []);
  const noProgram = await (await fx.api("GET", `/agents/${reader}`)).text();
  assert.match(noProgram, /\(no program tool: /);
});
