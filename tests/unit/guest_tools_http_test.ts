/**
 * http_api and web_fetch against local servers. 127.0.0.1 itself is refused
 * by the SSRF guard, so the tests inject a resolver that maps test names to
 * public-looking addresses and a `connectTo` seam that dials the local server
 * instead: everything else (check, pin, redirect re-check, TLS) is the
 * production path.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { runHttpApi, runWebFetch } from "../../guest/tools/http.ts";
import type { PinnedDeps } from "../../guest/tools/pinned_fetch.ts";
import { runTool } from "../../guest/tools/run.ts";
import type { ResolvedAddress } from "../../guest/policy/ssrf.ts";
import { toolContext } from "../helpers/tool_context.ts";

const CERT = await Deno.readTextFile(
  fileURLToPath(new URL("../fixtures/tools/tls_cert.pem", import.meta.url)),
);
const KEY = await Deno.readTextFile(
  fileURLToPath(new URL("../fixtures/tools/tls_key.pem", import.meta.url)),
);

const PAGE =
  "<html><head><title>T</title><script>evil()</script></head><body><h1>Hello</h1><p>World &amp; more</p></body></html>";

async function gzip(text: string): Promise<ArrayBuffer> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return await new Response(stream).arrayBuffer();
}

function handler(request: Request): Response | Promise<Response> {
  const url = new URL(request.url);
  switch (url.pathname) {
    case "/ok":
      return new Response("hello", {
        headers: {
          "content-type": "text/plain",
          "set-cookie": "session=abc",
          "x-secret": "s3cr3t",
          etag: '"v1"',
        },
      });
    case "/html":
      return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
    case "/echo":
      return request.text().then((body) =>
        Response.json({
          method: request.method,
          path: url.pathname + url.search,
          host: request.headers.get("host"),
          headers: Object.fromEntries(request.headers),
          body,
        })
      );
    case "/redirect-private":
      return new Response(null, { status: 302, headers: { location: "http://10.0.0.5/secret" } });
    case "/redirect-internal":
      return new Response(null, { status: 302, headers: { location: "http://internal.test/x" } });
    case "/redirect-ok":
      return new Response(null, { status: 302, headers: { location: "/ok" } });
    case "/redirect-other":
      return new Response(null, { status: 302, headers: { location: "http://other.test/echo" } });
    case "/loop":
      return new Response(null, { status: 302, headers: { location: "/loop" } });
    case "/status500":
      return new Response("boom", { status: 500 });
    case "/gzip":
      return gzip("compressed hello").then((body) =>
        new Response(body, {
          headers: { "content-type": "text/plain", "content-encoding": "gzip" },
        })
      );
    case "/big":
      return new Response("x".repeat(200_000), { headers: { "content-type": "text/plain" } });
    case "/latin1":
      return new Response(new Uint8Array([0x63, 0x61, 0x66, 0xe9]), {
        headers: { "content-type": "text/plain; charset=iso-8859-1" },
      });
    case "/image":
      return new Response(new Uint8Array(64), { headers: { "content-type": "image/png" } });
    case "/slow":
      // Headers now, body never: the client's deadline must still fire.
      return new Response(new ReadableStream({ pull: () => new Promise(() => {}) }), {
        headers: { "content-type": "text/plain" },
      });
    default:
      return new Response("not found", { status: 404 });
  }
}

const PUBLIC: Record<string, string> = {
  "site.test": "93.184.215.14",
  "other.test": "93.184.215.15",
  "secure.test": "93.184.215.16",
  "wrong.test": "93.184.215.16",
};

/**
 * A plain and a TLS server on 127.0.0.1 for one test, and its wiring: a
 * resolver over a table and a dialler onto the two servers. `await using`
 * shuts both down when the test ends.
 */
function startServers(extra: Record<string, string> = {}) {
  const plain = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  const secure = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: CERT, key: KEY, onListen() {} },
    handler,
  );
  const resolved: string[] = [];
  const dialled: ResolvedAddress[] = [];
  const deps: PinnedDeps = {
    resolver: (host) => {
      resolved.push(host);
      const address = extra[host] ?? PUBLIC[host];
      if (!address) {
        return Promise.reject(Object.assign(new Error("ENOTFOUND"), { code: "ENOTFOUND" }));
      }
      return Promise.resolve([{ address, family: 4 as const }]);
    },
    connectTo: (pinned, _port) => {
      dialled.push(pinned);
      const port = pinned.address === "93.184.215.16" ? secure.addr.port : plain.addr.port;
      return { address: "127.0.0.1", family: 4, port };
    },
    ca: [CERT],
  };
  return {
    plain,
    deps,
    resolved,
    dialled,
    async [Symbol.asyncDispose]() {
      await Promise.all([plain.shutdown(), secure.shutdown()]);
    },
  };
}

const ctx = toolContext(Deno.cwd());

Deno.test("web_fetch: HTML becomes readable text with the seed's result shape", async () => {
  await using servers = startServers();
  const { deps } = servers;
  const out = await runWebFetch({ url: "http://site.test/html" }, ctx, deps);
  assert.ok(out.ok, out.error);
  assert.deepEqual(out.result, {
    status_code: 200,
    text: "Hello\nWorld & more",
    content_type: "text/html; charset=utf-8",
    raw_length: PAGE.length,
    final_url: "http://site.test/html",
  });
});

Deno.test("pinning: one DNS answer per hop, and the connection goes to exactly that address", async () => {
  let calls = 0;
  await using servers = startServers();
  const { deps, dialled } = servers;
  // A rebinding resolver: public on the first answer, loopback afterwards.
  deps.resolver = () =>
    Promise.resolve([{ address: calls++ === 0 ? "93.184.215.14" : "127.0.0.1", family: 4 }]);
  const out = await runHttpApi({ url: "http://rebind.test/echo" }, ctx, deps);
  assert.ok(out.ok, out.error);
  assert.equal(calls, 1, "resolved once");
  assert.deepEqual(dialled, [{ address: "93.184.215.14", family: 4 }]);
  assert.equal(
    JSON.parse(String(out.result.text)).host,
    "rebind.test",
    "Host header is the URL's host",
  );
});

Deno.test("http_api: JSON body, params, headers; response headers filtered", async () => {
  await using servers = startServers();
  const { deps } = servers;
  // A lower-case method; Host and Content-Length must be dropped, not sent.
  const wired = await runHttpApi(
    {
      method: "post",
      url: "http://site.test/echo",
      json: { a: 1 },
      params: { q: "a b", n: [1, 2] },
      headers: { "X-Custom": "yes", Host: "evil.test", "Content-Length": "1" },
    },
    ctx,
    deps,
  );
  assert.ok(wired.ok, wired.error);
  const echo = JSON.parse(String(wired.result.text));
  assert.equal(echo.method, "POST");
  assert.equal(echo.path, "/echo?q=a+b&n=1&n=2");
  assert.equal(echo.host, "site.test");
  assert.equal(echo.body, '{"a":1}');
  assert.equal(echo.headers["content-type"], "application/json");
  assert.equal(echo.headers["x-custom"], "yes");
  assert.equal(wired.result.status_code, 200);
  const ok = await runHttpApi({ url: "http://site.test/ok" }, ctx, deps);
  assert.deepEqual(Object.keys(ok.result.headers as object).sort(), [
    "content-length",
    "content-type",
    "date",
    "etag",
  ]);
  assert.equal(ok.result.text, "hello");
});

Deno.test("redirects: every hop is re-checked; private targets are refused", async () => {
  await using servers = startServers({ "internal.test": "192.168.1.10" });
  const { deps } = servers;
  const literal = await runWebFetch({ url: "http://site.test/redirect-private" }, ctx, deps);
  assert.equal(literal.ok, false);
  assert.match(
    literal.error,
    /^redirect to http:\/\/10\.0\.0\.5\/secret refused: address 10\.0\.0\.5 is private network/,
  );
  const named = await runHttpApi({ url: "http://site.test/redirect-internal" }, ctx, deps);
  assert.match(named.error, /redirect to http:\/\/internal\.test\/x refused: .*192\.168\.1\.10/);
  const loop = await runWebFetch({ url: "http://site.test/loop" }, ctx, deps);
  assert.match(loop.error, /too many redirects \(more than 5\)/);
  const fine = await runWebFetch({ url: "http://site.test/redirect-ok" }, ctx, deps);
  assert.ok(fine.ok);
  assert.equal(fine.result.text, "hello");
  assert.equal(fine.result.final_url, "http://site.test/ok");
});

Deno.test("redirects: credentials are not carried to another origin; network_hosts applies to every hop", async () => {
  await using servers = startServers();
  const { deps } = servers;
  const out = await runHttpApi(
    {
      url: "http://site.test/redirect-other",
      headers: { Authorization: "Bearer secret", Cookie: "a=b", "X-Keep": "1" },
    },
    ctx,
    deps,
  );
  assert.ok(out.ok, out.error);
  const echo = JSON.parse(String(out.result.text));
  assert.equal(echo.host, "other.test");
  assert.equal(echo.headers.authorization, undefined);
  assert.equal(echo.headers.cookie, undefined);
  assert.equal(echo.headers["x-keep"], "1");
  const limited = await runHttpApi({ url: "http://site.test/redirect-other" }, {
    ...ctx,
    networkHosts: ["site.test"],
  }, deps);
  assert.match(
    limited.error,
    /redirect to http:\/\/other\.test\/echo refused: host 'other\.test' is not in this agent's network_hosts/,
  );
});

Deno.test("http_api: a POST is never re-sent to a redirect target", async () => {
  await using servers = startServers();
  const { deps, dialled } = servers;
  const out = await runHttpApi(
    { method: "POST", url: "http://site.test/redirect-ok", json: {} },
    ctx,
    deps,
  );
  assert.ok(out.ok, "3xx is a success per the seed");
  assert.equal(out.result.status_code, 302);
  assert.equal((out.result.headers as Record<string, string>).location, "/ok");
  assert.equal(dialled.length, 1);
});

Deno.test("http: statuses, encodings, charsets, binary bodies and caps", async () => {
  await using servers = startServers();
  const { deps } = servers;
  const failed = await runHttpApi({ url: "http://site.test/status500" }, ctx, deps);
  assert.equal(failed.ok, false);
  assert.equal(failed.error, "http_status_500");
  assert.equal(failed.result.status_code, 500);
  assert.equal(failed.result.text, "boom");
  const gz = await runWebFetch({ url: "http://site.test/gzip" }, ctx, deps);
  assert.equal(gz.result.text, "compressed hello");
  const latin = await runWebFetch({ url: "http://site.test/latin1" }, ctx, deps);
  assert.equal(latin.result.text, "café");
  const image = await runWebFetch({ url: "http://site.test/image" }, ctx, deps);
  assert.equal(image.result.text, "[binary content (image/png), 64 bytes not shown]");
  const big = await runHttpApi({ url: "http://site.test/big" }, ctx, deps);
  assert.equal(String(big.result.text), "x".repeat(10_000) + "… [truncated, 200000 total chars]");
  const capped = await runWebFetch({ url: "http://site.test/big" }, {
    ...ctx,
    limits: { maxBodyBytes: 1000 },
  }, deps);
  assert.ok(String(capped.result.text).endsWith("\n[body cut at 1000 bytes]"));
  assert.equal(capped.result.raw_length, 1000);
});

Deno.test("http: timeouts, cancellation and DNS failures are ok:false", async () => {
  await using servers = startServers();
  const { deps } = servers;
  const started = performance.now();
  const slow = await runHttpApi({ url: "http://site.test/slow", timeout_s: 1 }, ctx, deps);
  assert.ok(!slow.ok && /timed out/.test(slow.error), slow.error);
  assert.ok(performance.now() - started < 3_000);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  const cancelled = await runWebFetch({ url: "http://site.test/slow" }, {
    ...ctx,
    signal: controller.signal,
  }, deps);
  assert.ok(!cancelled.ok && /cancelled/.test(cancelled.error));
  const missing = await runWebFetch({ url: "http://nowhere.test/" }, ctx, deps);
  assert.ok(!missing.ok && /DNS lookup failed: host 'nowhere\.test' not found/.test(missing.error));
  const badArgs = await runHttpApi({ url: "http://site.test/", method: "TRACE" }, ctx, deps);
  assert.ok(!badArgs.ok && /'method' must be one of/.test(badArgs.error));
  const badHeader = await runHttpApi(
    { url: "http://site.test/", headers: { "X-A": "1\r\nX-Injected: 1" } },
    ctx,
    deps,
  );
  assert.ok(!badHeader.ok && /line break/.test(badHeader.error));
});

Deno.test("http: a refused connection is one clear line", async () => {
  await using servers = startServers();
  const { deps } = servers;
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close();
  const out = await runHttpApi({ url: "http://site.test/ok" }, ctx, {
    ...deps,
    connectTo: () => ({ address: "127.0.0.1", family: 4, port }),
  });
  assert.deepEqual(out, {
    ok: false,
    result: {},
    error: `connection to site.test (127.0.0.1:${port}) refused`,
  });
});

Deno.test("http: without seams, a live local server on 127.0.0.1 is still refused", async () => {
  await using servers = startServers();
  const { plain } = servers;
  for (
    const url of [
      `http://127.0.0.1:${plain.addr.port}/ok`,
      `http://localhost:${plain.addr.port}/ok`,
      `http://2130706433:${plain.addr.port}/ok`,
    ]
  ) {
    const out = await runTool("web_fetch", { url }, ctx);
    assert.equal(out.ok, false, url);
    assert.match(out.error, /refused/);
  }
});

Deno.test("https: the certificate is verified against the URL's host name, not the pinned IP", async () => {
  await using servers = startServers();
  const { deps } = servers;
  const ok = await runWebFetch({ url: "https://secure.test/ok" }, ctx, deps);
  assert.ok(ok.ok, ok.error);
  assert.equal(ok.result.text, "hello");
  const untrusted = await runWebFetch({ url: "https://secure.test/ok" }, ctx, {
    ...deps,
    ca: undefined,
  });
  assert.equal(untrusted.ok, false);
  assert.match(untrusted.error, /TLS certificate verification failed for secure\.test/);
  const wrongName = await runWebFetch({ url: "https://wrong.test/ok" }, ctx, deps);
  assert.equal(wrongName.ok, false);
  assert.match(wrongName.error, /TLS certificate verification failed for wrong\.test/);
});
