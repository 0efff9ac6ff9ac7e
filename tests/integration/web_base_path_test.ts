/**
 * The dashboard served under a path prefix (`claw.webApp({ basePath })`):
 * every link, asset and script URL carries the prefix, the login redirect and
 * cookie stay under it, and the security rules hold for `<base>/api/...`.
 */
import assert from "node:assert/strict";
import { ClosedClawError } from "../../core/errors.ts";
import { mountableWebApp } from "../../api/web_mount.ts";
import type { ClawWebApp } from "../../api/web_mount.ts";
import { BULK_DELETE_CONFIRMATION } from "../../web/api/agents_routes.ts";
import { normalizeBasePath } from "../../web/base_path.ts";
import { seedRun, startWebFixture, type WebFixture } from "../helpers/web_fixture.ts";

const PORT = 8787;
const ORIGIN = `http://127.0.0.1:${PORT}`;

/** The fixture's data served a second time, under `/claw`, as a user's own server would. */
async function prefixed(fn: (web: ClawWebApp, fx: WebFixture) => Promise<void>): Promise<void> {
  await using fx = await startWebFixture();
  using web = mountableWebApp(fx.deps, { port: PORT, basePath: "/claw/" });
  await fn(web, fx);
}

function request(
  web: ClawWebApp,
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: string } = {},
): Promise<Response> {
  return Promise.resolve(web.fetch(
    new Request(`${ORIGIN}${path}`, {
      method,
      headers: { host: `127.0.0.1:${PORT}`, ...init.headers },
      body: init.body,
      redirect: "manual",
    }),
  ));
}

async function login(web: ClawWebApp): Promise<string> {
  const response = await request(web, "GET", web.loginPath);
  assert.equal(response.status, 303);
  return (response.headers.get("set-cookie") ?? "").split(";")[0];
}

/** Every URL-valued attribute of a page (links, assets, forms, script targets). */
function urlsOf(html: string): string[] {
  const found = html.matchAll(
    /\s(?:href|src|action|data-url|data-json-form|data-redirect|data-stream)="(\/[^"]*)"/g,
  );
  return [...found].map((m) => m[1]);
}

Deno.test("web base path: normalised, and anything but plain segments refused", () => {
  assert.equal(normalizeBasePath(""), "");
  assert.equal(normalizeBasePath("/"), "");
  assert.equal(normalizeBasePath("claw/"), "/claw");
  assert.equal(normalizeBasePath("/tools/claw"), "/tools/claw");
  for (const bad of ["/../x", "/a;b", "/a b", '/"x', "/./a", "/a?b"]) {
    assert.throws(
      () => normalizeBasePath(bad),
      (e) => e instanceof ClosedClawError && e.code === "bad_base_path",
      bad,
    );
  }
});

Deno.test("web base path: the token URL redirects and sets its cookie under the prefix", () =>
  prefixed(async (web) => {
    assert.equal(web.basePath, "/claw");
    assert.equal(web.loginPath, `/claw/?token=${web.token}`);
    const runs = await request(web, "GET", `/claw/runs?range=7d&token=${web.token}`);
    assert.equal(runs.status, 303);
    assert.equal(runs.headers.get("location"), "/claw/runs?range=7d");
    const cookie = runs.headers.get("set-cookie") ?? "";
    assert.match(cookie, /Path=\/claw(;|$)/);
    assert.match(cookie, /HttpOnly/i);
    const bare = await request(web, "GET", `/claw?token=${web.token}`);
    assert.equal(bare.headers.get("location"), "/claw/");
    const offsite = await request(web, "GET", `/claw//evil.example/?token=${web.token}`);
    assert.equal(offsite.headers.get("location"), "/claw/evil.example/");
  }));

Deno.test("web base path: every page links, loads assets and streams under the prefix", () =>
  prefixed(async (web, fx) => {
    const runId = "prefixed-run";
    seedRun(fx, runId, "prefixed run", [{ event: "task_ingested" }], "running");
    const approval = fx.store.approvals.create({
      runId,
      kind: "api_call",
      request: { url: "https://api.example.com" },
      timeoutSec: 60,
    });
    const cookie = await login(web);
    const pages = ["/", "/runs", "/runs/new", `/runs/${runId}`, "/agents", "/approvals"]
      .concat(["/audit", "/tools", "/skills", "/skills/git", "/settings", "/system"]);
    for (const page of pages) {
      const response = await request(web, "GET", `/claw${page}`, { headers: { cookie } });
      assert.equal(response.status, 200, page);
      const html = await response.text();
      assert.match(html, /<body data-base="\/claw">/, page);
      const urls = urlsOf(html);
      assert.ok(urls.length > 10, `${page}: ${urls.length} URLs`);
      for (const url of urls) assert.match(url, /^\/claw\//, `${page}: ${url}`);
    }
    const run = await (await request(web, "GET", `/claw/runs/${runId}`, { headers: { cookie } }))
      .text();
    assert.ok(run.includes(`data-stream="/claw/api/runlog/${runId}/stream"`));
    assert.ok(run.includes(`data-url="/claw/api/approvals/${approval.approval_id}/decide"`));
    assert.ok(run.includes(`data-url="/claw/api/runs/${runId}/cancel"`));

    const script = await request(web, "GET", "/claw/static/app.js", { headers: { cookie } });
    assert.equal(script.status, 200);
    assert.match(script.headers.get("content-type") ?? "", /javascript/);
    assert.match(await script.text(), /new EventSource\(`\$\{BASE\}\/api\/events\/stream`\)/);
    const health = await request(web, "GET", "/claw/api/health", { headers: { cookie } });
    assert.equal(health.status, 200);
    assert.equal((await health.json()).db_exists, true);
  }));

Deno.test("web base path: state-changing API calls under the prefix keep every check", () =>
  prefixed(async (web) => {
    const cookie = await login(web);
    const post = (headers: Record<string, string>, body: string) =>
      request(web, "POST", "/claw/api/agents/delete-bulk", {
        headers: { cookie, ...headers },
        body,
      });
    const confirmed = JSON.stringify({ exclude_ids: [], confirm: BULK_DELETE_CONFIRMATION });

    const ok = await post({ origin: ORIGIN, "content-type": "application/json" }, confirmed);
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).deleted_count, 0);
    // The JSON-only rule applies to <base>/api/..., for cookies and bearer tokens alike.
    const plain = await post({ origin: ORIGIN, "content-type": "text/plain" }, confirmed);
    assert.equal(plain.status, 415);
    const bearerPlain = await request(web, "POST", "/claw/api/agents/delete-bulk", {
      headers: { authorization: `Bearer ${web.token}`, "content-type": "text/plain" },
      body: confirmed,
    });
    assert.equal(bearerPlain.status, 415);
    const crossOrigin = await post(
      { origin: "http://evil.example", "content-type": "application/json" },
      confirmed,
    );
    assert.equal(crossOrigin.status, 403);
    const noOrigin = await post({ "content-type": "application/json" }, confirmed);
    assert.equal(noOrigin.status, 403);
    const anonymous = await request(web, "GET", "/claw/api/agents");
    assert.equal(anonymous.status, 401);
  }));

Deno.test("web base path: a request without the prefix (a stripping mount) is a 404 that says how to mount", () =>
  prefixed(async (web) => {
    const bearer = { authorization: `Bearer ${web.token}` };
    for (const path of ["/api/health", "/", "/clawx/api/health"]) {
      const response = await request(web, "GET", path, { headers: bearer });
      assert.equal(response.status, 404, path);
      const body = await response.json();
      assert.equal(body.code, "outside_base_path");
      assert.ok(body.error.includes('site.all("/claw/*"'), body.error);
    }
  }));
