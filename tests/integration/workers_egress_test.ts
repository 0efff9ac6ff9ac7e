/**
 * Programs of a capsule on a worker reach their network_hosts through the
 * worker's own egress proxy, and every connection is reported to the
 * coordinator's run log: "clone the repository at <host> and run its tests"
 * with `--nats`, the clone going out from the worker. A host the agent was
 * not given stays unreachable there too.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { egressProxyAvailable } from "../../capsule_runtime/egress_bridge.ts";
import { machineFacts } from "../../capsule_runtime/machine.ts";
import { runCli } from "../helpers/cli.ts";
import { finalStep, startBrain, toolStep } from "../helpers/coordinator_brain.ts";
import { tempDir } from "../helpers/temp.ts";
import { ALLOWED_IP, bareRepo, has, OTHER_IP, startUpstream } from "../helpers/test_hosts.ts";
import { natsServerPath, startNats, startWorker } from "../helpers/nats.ts";

const proxy = egressProxyAvailable(await machineFacts());
const missing = [
  Deno.uid() !== 0 && "root",
  !proxy.available && `the egress proxy (${proxy.detail})`,
  natsServerPath() === "" && "nats-server",
  ...["ip", "git"].filter((c) => !has(c)),
].filter(Boolean);

/** Clones through a worker; with `paid`, the host is a paid API and `mode` decides it. */
async function cloneOnWorker(paid?: { mode: "approve" | "deny" }) {
  await using upstream = await startUpstream((www) =>
    bareRepo(www, "calc", {
      "calc.sh": "add() { echo $(($1 + $2)); }\n",
      "test.sh": '. ./calc.sh\n[ "$(add 2 3)" = 5 ] && echo "TESTS PASSED 1/1" || exit 1\n',
    })
  );
  void upstream;
  await using dir = await tempDir();
  await using nats = await startNats(dir.path);
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
        ? toolStep("terminal", {
          cmd: `curl -sf -m 3 http://${OTHER_IP}/ || echo OTHER-REFUSED; ` +
            `git clone -q ${url} calc && cd calc && sh test.sh`,
        })
        : finalStep(
          `${/TESTS PASSED \d+\/\d+/.exec(last)?.[0] ?? "the tests did not run"}${
            last.includes("OTHER-REFUSED") ? " (other host refused)" : ""
          }`,
        ),
  }, {
    ...(paid
      ? { CLOSED_CLAW_PAID_API_PROVIDERS: ALLOWED_IP, CLOSED_CLAW_API_APPROVAL_MODE: paid.mode }
      : {}),
  });
  await using worker = await startWorker(dir.path, {
    name: "builder",
    url: nats.url,
    roots: [workspace],
  });
  await worker.ready;
  try {
    const result = await runCli(
      ["run", `Clone the repository at ${url} and run its tests`, "--nats", nats.url, "--json"],
      { cwd: workspace, env },
    );
    const out = JSON.parse(result.stdout);
    const log = Deno.readTextFileSync(
      join(workspace, ".closed_claw", "runs", `${out.run_id}.jsonl`),
    );
    return { out, log, context: `${result.stdout}${result.stderr}\n${worker.output.join("\n")}` };
  } finally {
    await fake.close();
  }
}

Deno.test({
  name: missing.length
    ? `a worker's paid-API connection is approved by the coordinator (skipped: needs ${
      missing.join(", ")
    })`
    : "a worker's program connecting to a paid API waits for the coordinator's approval mode",
  ignore: missing.length > 0,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const denied = await cloneOnWorker({ mode: "deny" });
    // The coordinator's deny mode decided it (its approval note); the worker's proxy refused.
    assert.match(
      JSON.stringify(denied.out),
      /paid API host '1\.2\.3\.4' .* was not approved: auto_denied_by_policy/,
      denied.context,
    );
    assert.match(
      denied.log,
      /"event":"egress"[^\n]*"host":"1\.2\.3\.4"[^\n]*"allowed":false/,
      "refused by the worker's proxy after the coordinator said no",
    );
    const approved = await cloneOnWorker({ mode: "approve" });
    assert.equal(approved.out.result, "TESTS PASSED 1/1 (other host refused)", approved.context);
    assert.match(approved.log, /"event":"egress"[^\n]*"host":"1\.2\.3\.4"[^\n]*"allowed":true/);
  },
});

Deno.test({
  name: missing.length
    ? `a worker's programs go out through its egress proxy (skipped: needs ${missing.join(", ")})`
    : "a worker's programs reach their host through the worker's egress proxy, reported to the coordinator",
  ignore: missing.length > 0,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { out, log, context } = await cloneOnWorker();
    assert.equal(out.result, "TESTS PASSED 1/1 (other host refused)", context);
    assert.match(log, /"event":"capsule_started"[^\n]*"worker":"builder"/);
    // The worker's proxy reported each connection: the clone allowed, the other host refused.
    assert.match(log, /"event":"egress"[^\n]*"host":"1\.2\.3\.4"[^\n]*"allowed":true/);
    assert.match(log, /"event":"egress"[^\n]*"host":"1\.2\.3\.5"[^\n]*"allowed":false/);
  },
});
