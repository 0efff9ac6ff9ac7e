import assert from "node:assert/strict";
import { checkEgressProxy } from "../../cli/doctor.ts";
import { testSettings } from "../helpers/temp.ts";

const settings = (env: Record<string, string> = {}) => testSettings("/tmp/claw-doctor-unit", env);

Deno.test("doctor's egress proxy line: without bubblewrap, exec tools keep today's rule", () => {
  const refused = checkEgressProxy(settings(), "");
  assert.equal(refused.name, "egress proxy");
  assert.equal(refused.status, "warn");
  assert.match(refused.detail, /^not available \(needs bubblewrap\)/);
  assert.match(refused.detail, /refused unless CLOSED_CLAW_ALLOW_UNSANDBOXED_EXEC=true/);
  const optedIn = checkEgressProxy(
    settings({ CLOSED_CLAW_ALLOW_UNSANDBOXED_EXEC: "true" }),
    "",
  );
  assert.match(optedIn.detail, /allowed unsandboxed .* with your rights and your network/);
});

Deno.test("doctor's egress proxy line: with bubblewrap, programs reach only their hosts", () => {
  const python = ["/usr/local/bin/python3", "/usr/bin/python3", "/bin/python3"].some((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
  const check = checkEgressProxy(settings(), "/usr/bin/bwrap");
  if (!python) {
    assert.equal(check.status, "warn");
    assert.match(check.fix ?? "", /python3/);
    return;
  }
  assert.equal(check.status, "ok");
  assert.match(check.detail, /^available: .*reach only their agent's network_hosts/);
});
