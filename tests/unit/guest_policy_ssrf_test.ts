import assert from "node:assert/strict";
import {
  blockedReason,
  checkUrl,
  checkUrlStatic,
  formatIp,
  hostAllowed,
  parseIp,
  parseIpv4,
  parseIpv6,
  type ResolvedAddress,
  type Resolver,
} from "../../guest/policy/ssrf.ts";

/** A resolver that must not be called (IP literals and refused names never resolve). */
const neverResolve: Resolver = (host) => {
  throw new Error(`resolver called for ${host}`);
};

/** A resolver answering from a table, counting its calls. */
function tableResolver(table: Record<string, ResolvedAddress[]>) {
  const calls: string[] = [];
  const resolver: Resolver = (host) => {
    calls.push(host);
    const answer = table[host];
    if (!answer) {
      return Promise.reject(
        Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" }),
      );
    }
    return Promise.resolve(answer);
  };
  return { resolver, calls };
}

const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });
const v6 = (address: string): ResolvedAddress => ({ address, family: 6 });

Deno.test("parseIpv4: every inet_aton form of 127.0.0.1", () => {
  for (
    const form of [
      "127.0.0.1",
      "2130706433",
      "0x7f000001",
      "0x7F000001",
      "0177.0.0.1",
      "0177.0.0.01",
      "127.1",
      "127.0.1",
      "0x7f.1",
      "0x7f.0.0.0x1",
    ]
  ) {
    assert.deepEqual(Array.from(parseIpv4(form) ?? []), [127, 0, 0, 1], form);
  }
  assert.deepEqual(Array.from(parseIpv4("0")!), [0, 0, 0, 0]);
  for (
    const bad of [
      "256.1.1.1",
      "4294967296",
      "1.2.3.4.5",
      "08.1.1.1",
      "1..1",
      "1.2.3.",
      "a.b.c.d",
      "1.2.3.256",
      "",
    ]
  ) {
    assert.equal(parseIpv4(bad), null, bad);
  }
});

Deno.test("parseIpv6: compressed forms, brackets, IPv4 tails; zone ids refused", () => {
  assert.equal(formatIp({ family: 6, bytes: parseIpv6("::1")! }), "::1");
  assert.equal(formatIp({ family: 6, bytes: parseIpv6("[::1]")! }), "::1");
  assert.equal(formatIp({ family: 6, bytes: parseIpv6("::ffff:127.0.0.1")! }), "::ffff:7f00:1");
  assert.equal(formatIp({ family: 6, bytes: parseIpv6("2001:DB8:0:0:0:0:0:1")! }), "2001:db8::1");
  assert.equal(formatIp({ family: 6, bytes: parseIpv6("1:2:3:4:5:6:7:8")! }), "1:2:3:4:5:6:7:8");
  for (
    const bad of [
      "fe80::1%eth0",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      "12345::",
      "::ffff:1.2.3",
      "g::1",
      "1:2",
    ]
  ) {
    assert.equal(parseIpv6(bad), null, bad);
  }
});

Deno.test("blockedReason: public addresses pass", () => {
  for (
    const ip of [
      "93.184.215.14",
      "8.8.8.8",
      "1.1.1.1",
      "100.63.255.255",
      "100.128.0.0",
      "172.32.0.1",
      "2606:4700::1111",
      "2001:4860:4860::8888",
      "::ffff:8.8.8.8",
      "64:ff9b::808:808",
    ]
  ) {
    assert.equal(blockedReason(parseIp(ip)!), null, ip);
  }
});

Deno.test("blockedReason: every private, local and reserved range is refused", () => {
  const table: [string, RegExp][] = [
    ["0.0.0.0", /unspecified/],
    ["10.1.2.3", /private/],
    ["100.64.0.1", /carrier-grade NAT/],
    ["100.100.100.200", /carrier-grade NAT/], // Alibaba metadata
    ["127.0.0.1", /loopback/],
    ["127.255.255.254", /loopback/],
    ["169.254.169.254", /link-local/],
    ["172.16.0.1", /private/],
    ["172.31.255.255", /private/],
    ["192.0.0.1", /IETF/],
    ["192.0.2.1", /documentation/],
    ["192.168.1.1", /private/],
    ["198.18.0.1", /benchmarking/],
    ["203.0.113.80", /documentation/],
    ["224.0.0.1", /multicast/],
    ["240.0.0.1", /reserved/],
    ["255.255.255.255", /reserved/],
    ["::", /unspecified/],
    ["::1", /loopback/],
    ["::ffff:127.0.0.1", /IPv4-mapped 127\.0\.0\.1: loopback/],
    ["::ffff:169.254.169.254", /IPv4-mapped .*link-local/],
    ["::ffff:0:10.0.0.1", /IPv4-translated/],
    ["::127.0.0.1", /IPv4-compatible/],
    ["64:ff9b::7f00:1", /NAT64 127\.0\.0\.1: loopback/],
    ["64:ff9b::a00:1", /NAT64 10\.0\.0\.1: private/],
    ["64:ff9b:1::1", /local-use NAT64/],
    ["100::1", /discard/],
    ["2001::1", /IETF/],
    ["2001:0:4136:e378:8000:63bf:3fff:fdd2", /Teredo/],
    ["2001:db8::1", /documentation/],
    ["2002:7f00:1::", /6to4/],
    ["fc00::1", /unique local/],
    ["fd00:ec2::254", /unique local/], // AWS metadata over IPv6
    ["fe80::1", /link-local/],
    ["fec0::1", /site-local/],
    ["ff02::1", /multicast/],
    ["4000::1", /reserved/],
  ];
  for (const [ip, reason] of table) {
    const parsed = parseIp(ip);
    assert.ok(parsed, ip);
    assert.match(blockedReason(parsed) ?? "PUBLIC", reason, ip);
  }
});

Deno.test("checkUrl: IP literals in every form are refused without any DNS lookup", async () => {
  const urls = [
    "http://127.0.0.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://127.0.1:8080/x",
    "http://0/",
    "http://0.0.0.0:7860/api",
    "http://[::1]/",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:a9fe:a9fe]/latest/meta-data/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/",
    "http://[fe80::1]/",
    "http://100.64.0.1/",
    "http://10.0.0.1/",
    "http://192.168.0.1/",
    "https://172.16.0.1/",
    "http://[::]/",
  ];
  for (const url of urls) {
    const check = await checkUrl(url, neverResolve);
    assert.equal(check.ok, false, url);
    if (!check.ok) assert.match(check.error, /^address .* is .*: refused$/, url);
  }
});

Deno.test("checkUrl: local and metadata host names are refused without a lookup", async () => {
  for (
    const url of [
      "http://localhost/",
      "http://LOCALHOST./",
      "http://localhost:7860/api/runs",
      "http://foo.localhost/",
      "http://metadata.google.internal/computeMetadata/v1/",
      "http://metadata/",
      "http://printer.local/",
      "http://db.internal/",
      "http://router.home.arpa/",
    ]
  ) {
    const check = await checkUrl(url, neverResolve);
    assert.equal(check.ok, false, url);
    if (!check.ok) assert.match(check.error, /local|metadata/, url);
  }
});

Deno.test("checkUrl: only http and https; no credentials; must have a host", async () => {
  for (
    const url of [
      "file:///etc/passwd",
      "gopher://example.com:70/_x",
      "data:text/plain,hello",
      "ftp://example.com/",
      "javascript:alert(1)",
      "ws://example.com/",
      "dict://example.com:11211/",
    ]
  ) {
    const check = await checkUrl(url, neverResolve);
    assert.ok(!check.ok && /scheme .* is not allowed/.test(check.error), url);
  }
  for (
    const url of [
      "http://user:pass@example.com/",
      "http://user@example.com/",
      "https://:pw@example.com/",
    ]
  ) {
    const check = await checkUrl(url, neverResolve);
    assert.ok(!check.ok && /credentials/.test(check.error), url);
  }
  for (const bad of ["not a url", "", 42, null, "http://"]) {
    assert.equal((await checkUrl(bad, neverResolve)).ok, false, String(bad));
  }
});

Deno.test("checkUrl: refused when ANY resolved address is private (one public + one private)", async () => {
  const { resolver } = tableResolver({
    "mixed.test": [v4("93.184.215.14"), v4("10.0.0.7")],
    "mixed-first.test": [v4("192.168.1.5"), v4("93.184.215.14")],
    "mapped.test": [v6("::ffff:10.0.0.1")],
    "v6local.test": [v4("93.184.215.14"), v6("fe80::1")],
    "rebind.test": [v4("127.0.0.1")],
    "garbage.test": [v4("not-an-ip")],
    "empty.test": [],
  });
  const cases: [string, RegExp][] = [
    ["http://mixed.test/", /resolves to 10\.0\.0\.7 \(private network\)/],
    ["http://mixed-first.test/", /resolves to 192\.168\.1\.5/],
    ["http://mapped.test/", /IPv4-mapped 10\.0\.0\.1/],
    ["http://v6local.test/", /fe80::1 \(link-local\)/],
    ["http://rebind.test/", /127\.0\.0\.1 \(loopback\)/],
    ["http://garbage.test/", /unparseable/],
    ["http://empty.test/", /no addresses/],
  ];
  for (const [url, pattern] of cases) {
    const check = await checkUrl(url, resolver);
    assert.ok(!check.ok, url);
    if (!check.ok) assert.match(check.error, pattern, url);
  }
});

Deno.test("checkUrl: a public host resolves ONCE and the pinned address is one that was checked", async () => {
  const { resolver, calls } = tableResolver({
    "example.test": [v6("2606:2800:220:1:248:1893:25c8:1946"), v4("93.184.215.14")],
  });
  const check = await checkUrl("https://Example.TEST./path?q=1", resolver);
  assert.ok(check.ok);
  assert.deepEqual(calls, ["example.test"]);
  assert.equal(check.host, "example.test");
  assert.equal(check.port, 443);
  assert.deepEqual(check.pinned, v4("93.184.215.14"), "IPv4 preferred");
  assert.equal(check.addresses.length, 2);
  assert.ok(check.addresses.some((a) => a.address === check.pinned.address));
});

Deno.test("checkUrl: public IP literals pass without DNS and pin themselves", async () => {
  const check = await checkUrl("http://93.184.215.14:8080/x", neverResolve);
  assert.ok(check.ok);
  assert.deepEqual(check.pinned, v4("93.184.215.14"));
  assert.equal(check.port, 8080);
  const six = await checkUrl("https://[2606:4700::1111]/", neverResolve);
  assert.ok(six.ok);
  assert.deepEqual(six.pinned, v6("2606:4700::1111"));
});

Deno.test("checkUrl: DNS failures are one clear line", async () => {
  const { resolver } = tableResolver({});
  const missing = await checkUrl("http://nowhere.test/", resolver);
  assert.ok(!missing.ok && /DNS lookup failed: host 'nowhere\.test' not found/.test(missing.error));
  const denied: Resolver = () =>
    Promise.reject(Object.assign(new Error("getaddrinfo EPERM"), { code: "EPERM" }));
  const perm = await checkUrl("http://x.test/", denied);
  assert.ok(!perm.ok && /not permitted by the capsule's network permissions/.test(perm.error));
  const hang: Resolver = () => new Promise(() => {});
  const slow = await checkUrl("http://slow.test/", hang, { dnsTimeoutMs: 50 });
  assert.ok(!slow.ok && /timed out/.test(slow.error));
});

Deno.test("checkUrl: network_hosts allowlist (exact and *.domain)", async () => {
  const { resolver } = tableResolver({
    "api.example.com": [v4("93.184.215.14")],
    "a.trusted.org": [v4("93.184.215.14")],
    "x.y.trusted.org": [v4("93.184.215.14")],
  });
  const networkHosts = ["api.example.com", "*.trusted.org"];
  for (
    const url of [
      "https://api.example.com/v1",
      "https://a.trusted.org/",
      "https://x.y.trusted.org/",
    ]
  ) {
    assert.ok((await checkUrl(url, resolver, { networkHosts })).ok, url);
  }
  for (
    const url of [
      "https://trusted.org/",
      "https://evil.com/",
      "https://api.example.com.evil.com/",
      "https://eviltrusted.org/",
      "http://93.184.215.14/",
    ]
  ) {
    const check = await checkUrl(url, resolver, { networkHosts });
    assert.ok(!check.ok && /not in this agent's network_hosts/.test(check.error), url);
  }
  assert.ok(hostAllowed("anything.test", []));
});

Deno.test("checkUrlStatic: the no-DNS half agrees on literals and names", () => {
  assert.equal(checkUrlStatic("http://2130706433/").ok, false);
  assert.equal(checkUrlStatic("http://localhost/").ok, false);
  const named = checkUrlStatic("https://example.org/");
  assert.ok(named.ok && named.literal === null);
  const literal = checkUrlStatic("http://8.8.8.8/");
  assert.ok(literal.ok && literal.literal?.address === "8.8.8.8");
});
