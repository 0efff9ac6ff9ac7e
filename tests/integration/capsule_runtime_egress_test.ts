/**
 * Programs reach the network only through the egress proxy, and only the
 * hosts their manifest lists. The upstream is a real HTTP server in a network
 * namespace of its own with public-looking addresses (1.2.3.4 for a listed
 * host, 1.2.3.5 for one that is not), routed from this machine over a veth
 * pair; nothing leaves the machine. Each refused route is a hostile program.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { machineFacts } from "../../capsule_runtime/machine.ts";
import { egressProxyAvailable } from "../../capsule_runtime/egress_bridge.ts";
import { effectiveLimits } from "../../capsule_runtime/limits.ts";
import type { Resolver } from "../../guest/policy/ssrf.ts";
import { ALLOWED_IP, bareRepo, has, OTHER_IP, startUpstream } from "../helpers/test_hosts.ts";
import {
  capsuleFixture,
  eventsOfType,
  finalStep,
  scriptedModel,
  toolStep,
} from "../fixtures/capsule_harness.ts";

const facts = await machineFacts();
const proxyState = egressProxyAvailable(facts);
const root = Deno.uid() === 0;
const missing = [
  !root && "root",
  !proxyState.available && `the egress proxy (${proxyState.detail})`,
  ...["ip", "curl", "git", "getent"].filter((c) => !has(c)),
].filter(Boolean);
if (missing.length) console.log(`capsule_runtime_egress_test skipped: needs ${missing.join(", ")}`);

const resolver: Resolver = (host) => {
  const table: Record<string, string> = {
    "allowed.test": ALLOWED_IP,
    "other.test": OTHER_IP,
    "private.test": "10.0.0.5",
    "loop.test": "127.0.0.1",
  };
  const address = table[host];
  return address
    ? Promise.resolve([{ address, family: 4 }])
    : Promise.reject(Object.assign(new Error("not found"), { code: "ENOTFOUND" }));
};

/** Static files the upstream serves: a greeting, 3 MiB, and a bare repository (dumb HTTP). */
function upstreamFiles(www: string): void {
  Deno.writeTextFileSync(join(www, "hello.txt"), "HELLO-FROM-UPSTREAM\n");
  Deno.writeFileSync(join(www, "big.bin"), new Uint8Array(3 * 1024 * 1024).fill(120));
  bareRepo(www, "repo", { README: "REPO-README\n" });
}

const ATTACKS = (localPort: number) =>
  [
    'curl -fsS -m 10 http://allowed.test/hello.txt; echo " A=$?"',
    'curl -fsS -m 10 -p http://allowed.test/hello.txt; echo " TUNNEL=$?"',
    'curl -fsS -m 10 http://other.test/hello.txt; echo " NOTLISTED=$?"',
    'curl -fsS -m 10 http://private.test/hello.txt; echo " PRIVATE=$?"',
    `curl -fsS -m 10 -p http://loop.test:${localPort}/; echo " LOOPNAME=$?"`,
    `curl -fsS -m 10 http://${ALLOWED_IP}/hello.txt; echo " RAWIP=$?"`,
    `curl -fsS -m 5 --noproxy '*' http://${ALLOWED_IP}/hello.txt; echo " DIRECT=$?"`,
    `curl -fsS -m 5 --noproxy '*' http://127.0.0.1:${localPort}/; echo " HOSTLOCAL=$?"`,
    `curl -fsS -m 10 http://127.0.0.1:${localPort}/; echo " HOSTLOCALPROXY=$?"`,
    'getent hosts allowed.test; echo " DNS=$?"',
    `(echo x > /dev/tcp/${ALLOWED_IP}/80) 2>/dev/null; echo " DEVTCP=$?"`,
    'git clone -q http://allowed.test/repo.git clone 2>&1 && cat clone/README; echo " CLONE=$?"',
  ].join("; ");

/** Past its byte budget a host is cut off, and later connections to it are refused. */
const OVER_BUDGET = [
  'curl -fsS -m 30 -o /dev/null http://allowed.test/big.bin; echo " BIG=$?"',
  'curl -fsS -m 10 http://allowed.test/hello.txt; echo " AFTER=$?"',
].join("; ");

const PYTHON = `import urllib.request
print(urllib.request.urlopen("http://allowed.test/hello.txt", timeout=10).read().decode().strip())
try:
    urllib.request.urlopen("http://other.test/hello.txt", timeout=10)
    print("PY-OTHER-REACHED")
except Exception as e:
    print("PY-OTHER-REFUSED", e)
`;

Deno.test({
  name: "programs reach only listed public hosts through the egress proxy; every other route fails",
  ignore: missing.length > 0,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    // Something on this machine's 127.0.0.1 that no program may reach.
    const local = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response("HOST-LOCAL-SECRET"),
    );
    await using upstream = await startUpstream(upstreamFiles);
    void upstream;
    try {
      await using fx = await capsuleFixture({
        tools: ["terminal", "python_exec", "http_api"],
        permissions: {
          read_roots: ["."],
          write_roots: ["."],
          file_write: true,
          network_hosts: ["allowed.test", "private.test", "loop.test"],
        },
      });
      fx.manifest = { ...fx.manifest, limits: { ...effectiveLimits(fx.manifest), egress_mb: 1 } };
      const model = scriptedModel([
        toolStep("terminal", { cmd: ATTACKS(local.addr.port), timeout_s: 120 }),
        toolStep("python_exec", { code: PYTHON, timeout_s: 60 }),
        toolStep("terminal", { cmd: OVER_BUDGET, timeout_s: 60 }),
        finalStep("done"),
      ]);
      const result = await fx.run({
        task: "reach out",
        hooks: model,
        resolver,
        timeoutMs: 180_000,
      });
      assert.equal(result.status, "ok", `${result.error_code}: ${result.error_message}`);
      const started = eventsOfType(fx.events, "started")[0];
      assert.deepEqual(started.refused_tools, [], "exec and network tools share the capsule");
      const done = eventsOfType(fx.events, "tool_done");
      assert.equal(done.length, 3, JSON.stringify(done));
      const out = JSON.stringify(done[0].result);
      const code = (name: string) => Number(new RegExp(` ${name}=(\\d+)`).exec(out)?.[1] ?? -1);
      assert.equal(code("A"), 0, out);
      assert.equal(code("TUNNEL"), 0, out);
      assert.equal((out.match(/HELLO-FROM-UPSTREAM/g) ?? []).length, 2, out);
      for (const name of ["NOTLISTED", "PRIVATE", "LOOPNAME", "RAWIP", "DIRECT", "HOSTLOCAL"]) {
        assert.ok(code(name) > 0, `${name} must fail: ${out}`);
      }
      for (const name of ["HOSTLOCALPROXY", "DNS", "DEVTCP"]) {
        assert.ok(code(name) > 0, `${name} must fail: ${out}`);
      }
      assert.ok(!out.includes("HOST-LOCAL-SECRET"), out);
      assert.match(out, /REPO-README/, "git clone over dumb HTTP works through the proxy");
      assert.equal(code("CLONE"), 0, out);
      const over = JSON.stringify(done[2].result);
      assert.match(over, / BIG=[1-9]\d*/, over);
      assert.match(over, / AFTER=[1-9]\d*/, over);
      const py = JSON.stringify(done[1].result);
      assert.match(py, /HELLO-FROM-UPSTREAM/, py);
      assert.match(py, /PY-OTHER-REFUSED/, py);

      const egress = eventsOfType(fx.events, "egress");
      const refused = (host: string) => egress.filter((e) => e.host === host && !e.allowed);
      const allowed = egress.filter((e) => e.host === "allowed.test" && e.allowed);
      assert.ok(allowed.length >= 4, JSON.stringify(egress));
      assert.ok(allowed.every((e) => e.address === ALLOWED_IP && e.port === 80));
      assert.ok(allowed.some((e) => e.method === "CONNECT" && e.bytes_down > 0));
      assert.ok(allowed.some((e) => e.method === "GET" && e.bytes_up > 0 && e.bytes_down > 0));
      assert.match(refused("other.test")[0]?.reason ?? "", /not in this agent's network_hosts/);
      assert.match(refused("private.test")[0]?.reason ?? "", /10\.0\.0\.5 \(private network\)/);
      assert.match(refused("loop.test")[0]?.reason ?? "", /127\.0\.0\.1 \(loopback\)/);
      assert.match(refused(ALLOWED_IP)[0]?.reason ?? "", /raw IP address/);
      assert.match(refused("127.0.0.1")[0]?.reason ?? "", /raw IP address/);
      const cut = allowed.filter((e) => /byte limit of 1 MiB .*cut off/.test(e.reason));
      assert.equal(cut.length, 1, JSON.stringify(egress));
      assert.ok(cut[0].bytes_down < 2 * 1024 * 1024, "cut off near the limit");
      const spent = refused("allowed.test");
      assert.equal(spent.length, 1, JSON.stringify(egress));
      assert.match(spent[0].reason, /byte limit of 1 MiB/);
    } finally {
      await local.shutdown();
    }
  },
});
