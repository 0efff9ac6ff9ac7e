import assert from "node:assert/strict";
import { EgressPolicy, parseAuthority } from "../../capsule_runtime/egress_policy.ts";
import { parseTarget } from "../../capsule_runtime/egress_proxy.ts";
import {
  EGRESS_SOCKET,
  egressEnv,
  egressProxyAvailable,
} from "../../capsule_runtime/egress_bridge.ts";
import { programEnv, programSandboxArgs } from "../../capsule_runtime/program_sandbox.ts";
import type { Resolver } from "../../guest/policy/ssrf.ts";

const resolver: Resolver = (host) => {
  const table: Record<string, string[]> = {
    "a.example.com": ["93.184.216.34"],
    "api.pay.example": ["93.184.216.35"],
    "pkg.pypi.org": ["151.101.0.223"],
    "inner.example.com": ["10.1.2.3"],
    "mixed.example.com": ["93.184.216.36", "169.254.169.254"],
  };
  const found = table[host];
  return found
    ? Promise.resolve(found.map((address) => ({ address, family: 4 as const })))
    : Promise.reject(Object.assign(new Error("nope"), { code: "ENOTFOUND" }));
};

function policy(extra: Partial<ConstructorParameters<typeof EgressPolicy>[0]> = {}) {
  return new EgressPolicy({
    networkHosts: ["a.example.com", "*.pypi.org", "inner.example.com", "mixed.example.com"],
    resolver,
    byteLimit: 1000,
    ...extra,
  });
}

Deno.test("egress policy: listed names and wildcards pass with the checked address; all else is refused", async () => {
  const p = policy();
  const cases: [string, number, boolean, RegExp][] = [
    ["a.example.com", 443, true, /listed/],
    ["A.Example.COM.", 80, true, /listed/],
    ["pkg.pypi.org", 443, true, /listed/],
    ["pypi.org", 443, false, /not in this agent's network_hosts/],
    ["evil.example.com", 443, false, /not in this agent's network_hosts/],
    ["inner.example.com", 443, false, /10\.1\.2\.3 \(private network\)/],
    ["mixed.example.com", 443, false, /169\.254\.169\.254/],
    ["93.184.216.34", 443, false, /raw IP address/],
    ["2130706433", 80, false, /raw IP address 127\.0\.0\.1/],
    ["localhost", 80, false, /not in this agent's network_hosts/],
  ];
  for (const [host, port, allowed, reason] of cases) {
    const verdict = await p.decide(host, port, `CONNECT ${host}:${port}`);
    assert.equal(verdict.allowed, allowed, `${host}: ${verdict.reason}`);
    assert.match(verdict.reason, reason, host);
  }
  const ok = await p.decide("a.example.com", 443, "");
  assert.ok(ok.allowed && ok.address === "93.184.216.34");
  // A listed literal passes only when it is public.
  const listed = policy({ networkHosts: ["93.184.216.34", "127.0.0.1"] });
  assert.equal((await listed.decide("93.184.216.34", 80, "")).allowed, true);
  assert.match((await listed.decide("127.0.0.1", 80, "")).reason, /loopback/);
  assert.match(
    (await policy({ networkHosts: [] }).decide("a.example.com", 80, "")).reason,
    /no network_hosts/,
  );
});

Deno.test("egress policy: a listed host is reached on web ports only (no SSH, SMTP or databases)", async () => {
  const p = policy();
  assert.equal((await p.decide("a.example.com", 443, "")).allowed, true);
  for (const port of [22, 25, 5432, 6379, 8080]) {
    const verdict = await p.decide("a.example.com", port, "");
    assert.equal(verdict.allowed, false, `port ${port}`);
    assert.match(verdict.reason, new RegExp(`port ${port} is not allowed`));
  }
});

Deno.test("egress policy: paid hosts need one approval per host; no approver refuses", async () => {
  const hosts = ["api.pay.example"];
  const refusing = policy({ networkHosts: hosts, paidApiProviders: ["pay.example"] });
  const verdict = await refusing.decide("api.pay.example", 443, "CONNECT api.pay.example:443");
  assert.equal(verdict.allowed, false);
  assert.match(verdict.reason, /not approved: no approver is reachable/);
  const asked: string[] = [];
  const approving = policy({
    networkHosts: hosts,
    paidApiProviders: ["pay.example"],
    approve: (provider, host, endpoint) => {
      asked.push(`${provider} ${host} ${endpoint}`);
      return Promise.resolve({ approved: true, note: "ok" });
    },
  });
  for (let i = 0; i < 3; i++) {
    assert.equal((await approving.decide("api.pay.example", 443, "CONNECT x")).allowed, true);
  }
  assert.deepEqual(asked, ["pay.example api.pay.example CONNECT x"]);
});

Deno.test("egress policy: bytes count per host; a spent host is refused", async () => {
  const p = policy();
  assert.equal(p.count("a.example.com", 600), true);
  assert.equal(p.count("pkg.pypi.org", 600), true);
  assert.equal(p.count("a.example.com", 600), false);
  const refused = await p.decide("a.example.com", 443, "");
  assert.match(refused.reason, /byte limit/);
  assert.equal((await p.decide("pkg.pypi.org", 443, "")).allowed, true);
});

Deno.test("proxy requests: CONNECT targets and absolute HTTP requests are parsed and rewritten", () => {
  assert.deepEqual(parseAuthority("[2001:db8::1]:443"), { host: "2001:db8::1", port: 443 });
  assert.equal(parseAuthority("example.com"), null);
  assert.equal(parseAuthority("example.com:70000"), null);
  const connect = parseTarget("CONNECT pkg.pypi.org:443 HTTP/1.1\r\nHost: pkg.pypi.org:443");
  assert.deepEqual(connect, {
    kind: "connect",
    method: "CONNECT",
    host: "pkg.pypi.org",
    port: 443,
  });
  const forward = parseTarget(
    "GET http://a.example.com:8080/x?y=1 HTTP/1.1\r\nHost: evil.test\r\nProxy-Authorization: k\r\n" +
      "Proxy-Connection: keep-alive\r\nAccept: */*",
  );
  assert.equal(forward.kind, "forward");
  if (forward.kind !== "forward") return;
  assert.equal(forward.host, "a.example.com");
  assert.equal(forward.port, 8080);
  const head = new TextDecoder().decode(forward.head);
  assert.equal(
    head,
    "GET /x?y=1 HTTP/1.1\r\nHost: a.example.com:8080\r\nAccept: */*\r\nConnection: close\r\n\r\n",
  );
  assert.equal(parseTarget("GET /relative HTTP/1.1").kind, "bad");
  assert.equal(parseTarget("GET ftp://a.example.com/ HTTP/1.1").kind, "bad");
  assert.equal(parseTarget("GET http://u:p@a.example.com/ HTTP/1.1").kind, "bad");
  assert.equal(parseTarget("garbage").kind, "bad");
});

Deno.test("a program's sandbox gets the proxy socket, the bridge and the proxy variables only with egress", () => {
  const input = {
    bwrapPath: "/usr/bin/bwrap",
    systemPaths: [],
    etcPaths: [],
    workspace: "/ws",
    readRoots: ["/ws"],
    writeRoots: [],
    hiddenDirs: [],
    readOnlyDirs: [],
    secrets: [],
    env: programEnv(),
  };
  const plain = programSandboxArgs(input, ["bash", "-c", "true"]);
  assert.ok(plain.includes("--unshare-all") && !plain.includes("--share-net"));
  assert.ok(!plain.join(" ").includes("PROXY"));
  const args = programSandboxArgs({ ...input, egressSocket: "/tmp/x/egress.sock" }, ["bash"]);
  assert.ok(args.includes("--unshare-all") && !args.includes("--share-net"), "still no network");
  assert.ok(args.join(" ").includes(`--bind /tmp/x/egress.sock ${EGRESS_SOCKET}`));
  for (const [key, value] of Object.entries(egressEnv())) {
    assert.ok(args.join("\n").includes(`--setenv\n${key}\n${value}\n`), key);
  }
  assert.equal(egressEnv().https_proxy, "http://127.0.0.1:3128");
  const sep = args.indexOf("--");
  assert.equal(args[sep + 1], "/bin/sh");
  assert.equal(args.at(-1), "bash", "the program is exec'd after the bridge");
  assert.equal(egressProxyAvailable({ bwrapPath: "" }).available, false);
});
