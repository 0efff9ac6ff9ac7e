/** The dashboard's security rules: token, cookie, Host, Origin, JSON only, ids, escaping. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createCapsule } from "../../capsule_runtime/factory.ts";
import { allowedHostsFor, isLoopbackHost } from "../../web/security.ts";
import { seedRun, startWebFixture } from "../helpers/web_fixture.ts";

Deno.test("web security: every route needs the token; the token URL sets an HttpOnly SameSite=Strict cookie", async () => {
  await using fx = await startWebFixture();
  for (
    const path of [
      "/",
      "/runs",
      "/api/health",
      "/api/agents",
      "/api/events/stream",
      "/static/app.js",
    ]
  ) {
    const response = await fx.raw("GET", path);
    assert.equal(response.status, 401, path);
    await response.body?.cancel();
  }
  const wrong = await fx.raw("GET", "/api/health", { headers: { authorization: "Bearer nope" } });
  assert.equal(wrong.status, 401);
  await wrong.body?.cancel();
  const wrongUrl = await fx.raw("GET", "/?token=guess");
  assert.equal(wrongUrl.status, 401);
  await wrongUrl.body?.cancel();

  const login = await fx.raw("GET", `/runs?token=${fx.server.token}`);
  assert.equal(login.status, 303);
  assert.equal(login.headers.get("location"), "/runs");
  const cookie = login.headers.get("set-cookie") ?? "";
  assert.match(cookie, /HttpOnly/i);
  assert.match(cookie, /SameSite=Strict/i);
  await login.body?.cancel();

  // The redirect stays on this site: a path starting with `//` is not a protocol-relative URL.
  for (const path of ["//evil.example/", "///evil.example/"]) {
    const offsite = await fx.raw("GET", `${path}?token=${fx.server.token}`);
    assert.equal(offsite.status, 303, path);
    assert.equal(offsite.headers.get("location"), "/evil.example/", path);
    await offsite.body?.cancel();
  }

  const withCookie = await fx.raw("GET", "/runs", { headers: { cookie: cookie.split(";")[0] } });
  assert.equal(withCookie.status, 200);
  assert.match(withCookie.headers.get("content-security-policy") ?? "", /script-src 'self'/);
  await withCookie.body?.cancel();
});

/** One HTTP/1.1 request over a raw socket, so the Host header is exactly what we say. */
async function statusWithHost(port: number, host: string, token: string): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const request = `GET /api/health HTTP/1.1\r\nHost: ${host}\r\n` +
      `Authorization: Bearer ${token}\r\nConnection: close\r\n\r\n`;
    await conn.write(new TextEncoder().encode(request));
    const buffer = new Uint8Array(1024);
    const n = await conn.read(buffer);
    const line = new TextDecoder().decode(buffer.subarray(0, n ?? 0)).split("\r\n")[0];
    return Number(line.split(" ")[1]);
  } finally {
    conn.close();
  }
}

Deno.test("web security: a wrong Host header is refused (DNS rebinding)", async () => {
  await using fx = await startWebFixture();
  const { port, token } = fx.server;
  assert.equal(await statusWithHost(port, `evil.example:${port}`, token), 421);
  assert.equal(await statusWithHost(port, "evil.example", token), 421);
  assert.equal(await statusWithHost(port, `127.0.0.1:${port}`, token), 200);
  assert.equal(await statusWithHost(port, `localhost:${port}`, token), 200);
});

Deno.test("web security: cross-origin and cookie-only POSTs without an Origin are refused (CSRF)", async () => {
  await using fx = await startWebFixture();
  const login = await fx.raw("GET", `/?token=${fx.server.token}`);
  const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
  await login.body?.cancel();
  const body = JSON.stringify({ exclude_ids: [], confirm: "DELETE ALL AGENTS" });
  const post = (headers: Record<string, string>) =>
    fx.raw("POST", "/api/agents/delete-bulk", {
      headers: { cookie, "content-type": "application/json", ...headers },
      body,
    });
  const manifest = createCapsule(fx.settings.agentsDir, {
    name: "Keep",
    description: "",
    tools_allowlist: [],
  });
  fx.store.agents.upsertManifest(manifest);

  const attempts: Record<string, string>[] = [
    { origin: "https://evil.example" },
    { origin: "null" },
    { "sec-fetch-site": "cross-site" },
    {},
  ];
  for (const headers of attempts) {
    const response = await post(headers);
    assert.equal(response.status, 403, JSON.stringify(headers));
    await response.body?.cancel();
  }
  assert.equal(fx.store.agents.count(), 1);

  const same = await post({ origin: fx.server.url });
  assert.equal(same.status, 200);
  assert.equal((await same.json()).deleted_count, 1);
});

Deno.test("web security: JSON endpoints refuse text/plain and form bodies", async () => {
  await using fx = await startWebFixture();
  for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]) {
    const response = await fx.api("POST", "/api/settings", {
      changes: { CLOSED_CLAW_LLM_MODEL: "x" },
    }, {
      "content-type": type,
    });
    assert.equal(response.status, 415, type);
    await response.body?.cancel();
  }
  const bad = await fx.raw("POST", "/api/settings", {
    headers: { authorization: `Bearer ${fx.server.token}`, "content-type": "application/json" },
    body: "{not json",
  });
  assert.equal(bad.status, 400);
  await bad.body?.cancel();
});

Deno.test("web security: ids with dots or slashes are rejected and nothing outside the agents dir is touched", async () => {
  await using fx = await startWebFixture();
  const marker = join(fx.dir, "project-file.txt");
  Deno.writeTextFileSync(marker, "keep me");
  for (
    const path of ["/api/agents/..", "/api/agents/%2E%2E", "/api/agents/..%2F..", "/api/agents/a.b"]
  ) {
    const response = await fx.api("DELETE", path);
    assert.ok([400, 404].includes(response.status), `${path}: ${response.status}`);
    await response.body?.cancel();
  }
  for (
    const path of ["/api/runs/..%2Fx/analysis", "/api/runlog/..%2F..%2Fetc", "/api/runs/a.b/status"]
  ) {
    const response = await fx.api("GET", path);
    assert.ok([400, 404].includes(response.status), `${path}: ${response.status}`);
    await response.body?.cancel();
  }
  assert.equal(Deno.readTextFileSync(marker), "keep me");
  Deno.statSync(fx.settings.agentsDir);
});

Deno.test("web security: an XSS payload in a task and in an agent name is escaped everywhere", async () => {
  await using fx = await startWebFixture();
  const payload = `"><img src=x onerror=alert(1)><script>alert(2)</script>'`;
  seedRun(fx, "xss-run", payload, [{ event: "task_ingested", payload: { task: payload } }]);
  const manifest = createCapsule(fx.settings.agentsDir, {
    name: payload,
    description: payload,
    tools_allowlist: [],
  });
  fx.store.agents.upsertManifest(manifest);
  fx.store.approvals.create({
    runId: "xss-run",
    kind: "api_call",
    request: { note: payload },
    timeoutSec: 60,
  });
  for (
    const path of [
      "/",
      "/runs?range=all",
      "/runs/xss-run",
      "/agents",
      `/agents/${manifest.agent_id}`,
      "/approvals",
      "/runs/new?task=" + encodeURIComponent(payload),
    ]
  ) {
    const response = await fx.api("GET", path);
    assert.equal(response.status, 200, path);
    const html = await response.text();
    assert.ok(!html.includes("<img src=x"), `${path} has a raw <img>`);
    assert.ok(!html.includes("<script>alert"), `${path} has a raw <script>`);
    assert.ok(!/="[^"]*"><img/.test(html), `${path} lets a quote end an attribute`);
    assert.ok(
      html.includes("&lt;img src=x") || html.includes("&lt;script&gt;"),
      `${path} lost the text`,
    );
  }
});

Deno.test("web security: loopback detection and allowed Host values", () => {
  assert.equal(isLoopbackHost("127.0.0.1"), true);
  assert.equal(isLoopbackHost("::1"), true);
  assert.equal(isLoopbackHost("localhost"), true);
  assert.equal(isLoopbackHost("0.0.0.0"), false);
  assert.equal(isLoopbackHost("192.168.1.5"), false);
  assert.deepEqual([...allowedHostsFor("127.0.0.1", 7860)].sort(), [
    "127.0.0.1:7860",
    "[::1]:7860",
    "localhost:7860",
  ]);
  assert.deepEqual([...allowedHostsFor("192.168.1.5", 80)].sort(), [
    "192.168.1.5",
    "192.168.1.5:80",
  ]);
  const wildcard = allowedHostsFor("0.0.0.0", 7860, ["10.0.0.7", "fe80::1"]);
  assert.ok(wildcard.has("10.0.0.7:7860"));
  assert.ok(wildcard.has("[fe80::1]:7860"));
  assert.ok(wildcard.has("127.0.0.1:7860"));
  assert.ok(!wildcard.has("evil.example:7860"));
});

Deno.test("web security: two dashboards on one machine keep separate logins", async () => {
  await using first = await startWebFixture();
  await using second = await startWebFixture();
  // A browser keeps one cookie per name and host, whatever the port, and sends it to every port.
  const jar = new Map<string, string>();
  for (const fx of [first, second]) {
    const login = await fx.raw("GET", `/?token=${fx.server.token}`);
    const [name, value] = (login.headers.get("set-cookie") ?? "").split(";")[0].split("=");
    jar.set(name, value);
    await login.body?.cancel();
  }
  const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
  for (const fx of [first, second]) {
    const response = await fx.raw("GET", "/api/health", { headers: { cookie } });
    assert.equal(response.status, 200, fx.server.url);
    await response.body?.cancel();
  }
});
