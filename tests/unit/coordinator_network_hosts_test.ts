import assert from "node:assert/strict";
import {
  checkHostPattern,
  checkHostPatterns,
  hostCovers,
  hostsCovered,
  MAX_HOSTS,
  programNetwork,
} from "../../coordinator/network_hosts.ts";

const refusal = (raw: string, given = "") => {
  const checked = checkHostPattern(raw, given);
  return "refused" in checked ? checked.refused : null;
};

Deno.test("host names and *. patterns are accepted in their normal form", () => {
  assert.deepEqual(checkHostPattern(" GitHub.com. "), { host: "github.com" });
  assert.deepEqual(checkHostPattern("*.PyPI.org"), { host: "*.pypi.org" });
  assert.deepEqual(checkHostPattern("files.pythonhosted.org"), { host: "files.pythonhosted.org" });
});

Deno.test("schemes, paths, ports, users, bare labels and local names are refused with one line", () => {
  for (
    const [raw, why] of [
      ["https://github.com", "no scheme"],
      ["github.com/org/repo", "no path"],
      ["user@github.com", "no path, user"],
      ["github.com:443", "no scheme or port"],
      ["*.com", "two labels"],
      ["*", "host name or *.domain"],
      ["foo.*.org", "host name or *.domain"],
      ["intranet", "host name or *.domain"],
      ["localhost", "host name or *.domain"],
      ["db.internal", "local-only"],
      ["metadata.google.internal", "metadata"],
      ["1.2.3.4.5", "host name or *.domain"],
      ["", "empty"],
    ]
  ) {
    const line = refusal(raw);
    assert.ok(line, `${raw} should be refused`);
    assert.ok(line.startsWith(`network host "${raw}" refused: `), line);
    assert.ok(line.includes(why), `${raw}: ${line}`);
    assert.ok(!line.includes("\n"), "one line");
  }
});

Deno.test("an IP address only when the task names it, and never a private one", () => {
  assert.match(refusal("93.184.216.34")!, /only when the task names it/);
  assert.deepEqual(checkHostPattern("93.184.216.34", "fetch from 93.184.216.34 please"), {
    host: "93.184.216.34",
  });
  assert.match(refusal("127.0.0.1", "use 127.0.0.1")!, /not a public address \(loopback/);
  assert.match(refusal("169.254.169.254", "169.254.169.254")!, /not a public address/);
  assert.match(refusal("10.1.2.3", "10.1.2.3")!, /not a public address/);
  assert.match(refusal("[::1]", "[::1]")!, /not a public address/);
});

Deno.test("a list is de-duplicated, capped, and reports each refused entry", () => {
  const checked = checkHostPatterns(["github.com", "GITHUB.com", "http://x.org", "*.pypi.org"]);
  assert.deepEqual(checked.hosts, ["github.com", "*.pypi.org"]);
  assert.equal(checked.refused.length, 1);
  const many = Array.from({ length: MAX_HOSTS + 2 }, (_, i) => `h${i}.example.com`);
  const capped = checkHostPatterns(many);
  assert.equal(capped.hosts.length, MAX_HOSTS);
  assert.equal(capped.refused.length, 2);
  assert.match(capped.refused[0], /at most 16 hosts/);
});

Deno.test("an agent's hosts cover a need only through the same entry or a wider *. pattern", () => {
  assert.equal(hostCovers("github.com", "github.com"), true);
  assert.equal(hostCovers("*.pypi.org", "files.pypi.org"), true);
  assert.equal(hostCovers("*.pypi.org", "*.files.pypi.org"), true);
  assert.equal(hostCovers("*.pypi.org", "*.pypi.org"), true);
  assert.equal(hostCovers("*.pypi.org", "pypi.org"), false, "not the apex");
  assert.equal(hostCovers("files.pypi.org", "*.pypi.org"), false);
  assert.equal(hostCovers("github.com", "api.github.com"), false);
  assert.equal(hostCovers("*.pypi.org", "evilpypi.org"), false);
  assert.equal(hostsCovered(["github.com", "*.pypi.org"], ["github.com", "a.pypi.org"]), true);
  assert.equal(hostsCovered(["github.com"], ["github.com", "a.pypi.org"]), false);
  assert.equal(hostsCovered([], []), true);
  assert.equal(hostsCovered([], ["github.com"]), false, "no hosts covers no need");
});

Deno.test("what an agent's programs may reach, in one line", () => {
  const up = { available: true, detail: "" };
  const down = { available: false, detail: "bubblewrap does not work here" };
  const hosts = ["github.com", "*.pypi.org"];
  assert.deepEqual(programNetwork(["terminal"], hosts, up), {
    hosts,
    reachable: true,
    line: "github.com, *.pypi.org (through the egress proxy, which logs every connection)",
  });
  const blocked = programNetwork(["python_exec"], hosts, down);
  assert.equal(blocked.reachable, false);
  assert.match(blocked.line, /granted, but the egress proxy is not available here: bubblewrap/);
  assert.match(programNetwork(["terminal"], [], up).line, /none: no network_hosts/);
  const web = programNetwork(["web_fetch"], hosts, up);
  assert.deepEqual([web.hosts, web.reachable], [[], false]);
  assert.match(web.line, /no program tool/);
});
