/**
 * The everyday task the egress proxy exists for, through the real CLI with
 * its own flags: "clone the repository at <host> and run its tests". The host
 * is a test host with a public-looking address in a network namespace of its
 * own; the planner names it, the created agent gets exactly that host, and its
 * programs reach it only through the proxy.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { egressProxyAvailable } from "../../capsule_runtime/egress_bridge.ts";
import { machineFacts } from "../../capsule_runtime/machine.ts";
import { runCli } from "../helpers/cli.ts";
import { finalStep, startBrain, toolStep } from "../helpers/coordinator_brain.ts";
import { tempDir } from "../helpers/temp.ts";
import { ALLOWED_IP, bareRepo, has, startUpstream } from "../helpers/test_hosts.ts";

const proxy = egressProxyAvailable(await machineFacts());
const missing = [
  Deno.uid() !== 0 && "root",
  !proxy.available && `the egress proxy (${proxy.detail})`,
  ...["ip", "git"].filter((c) => !has(c)),
].filter(Boolean);

Deno.test({
  name: missing.length
    ? `clone a repository and run its tests through the CLI (skipped: needs ${missing.join(", ")})`
    : "clone a repository at an allowed host and run its tests, through the CLI and the egress proxy",
  ignore: missing.length > 0,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using upstream = await startUpstream((www) =>
      bareRepo(www, "calc", {
        "calc.sh": "add() { echo $(($1 + $2)); }\n",
        "test.sh": '. ./calc.sh\n[ "$(add 2 3)" = 5 ] && echo "TESTS PASSED 1/1" || exit 1\n',
      })
    );
    void upstream;
    await using dir = await tempDir();
    const url = `http://${ALLOWED_IP}/calc.git`;
    const { fake, workspace, env } = await startBrain(dir.path, {
      plan: () => [{
        task_id: "clone-test",
        title: "Clone and test",
        description: `Clone ${url} and run its tests.`,
        role_tag: "repo-tester",
        tools: ["terminal", "file_io"],
        writes_files: true,
        network_hosts: [ALLOWED_IP],
      }],
      agent: ({ step, last }) =>
        step === 0
          ? toolStep("terminal", { cmd: `git clone -q ${url} calc && cd calc && sh test.sh` })
          : finalStep(/TESTS PASSED \d+\/\d+/.exec(last)?.[0] ?? "the tests did not run"),
    });
    try {
      const result = await runCli(
        ["run", `Clone the repository at ${url} and run its tests`, "--json"],
        { cwd: workspace, env },
      );
      assert.equal(result.code, 0, result.stdout + result.stderr);
      const out = JSON.parse(result.stdout);
      // One subtask: the agent's own answer, which it read off the tests' output.
      assert.equal(out.result, "TESTS PASSED 1/1");
      assert.equal(Deno.readTextFileSync(join(workspace, "calc", "calc.sh")).length > 0, true);
      const log = Deno.readTextFileSync(
        join(workspace, ".closed_claw", "runs", `${out.run_id}.jsonl`),
      );
      // Each connection is in the run log: the clone went through the proxy, allowed.
      assert.match(log, /"event":"egress"[^\n]*"host":"1\.2\.3\.4"[^\n]*"allowed":true/);
      assert.match(log, /TESTS PASSED 1\/1/);
    } finally {
      await fake.close();
    }
  },
});
