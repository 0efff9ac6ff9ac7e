/**
 * The host's reach to Streamable HTTP MCP servers (capsule_runtime/mcp_http.ts):
 * the URL passes the http tools' SSRF guard and the agent's network_hosts;
 * every request goes to the checked address (plain HTTP and HTTPS through the
 * tunnel, with the certificate checked against the URL's name), never to
 * another origin. The servers are the SDK's own McpServer on 127.0.0.1,
 * reached under a public-looking name that only the pinned address leads to.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
// @ts-types="@modelcontextprotocol/sdk/server/webStandardStreamableHttp"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { z } from "zod";
import {
  checkMcpUrl,
  connectMcpHttpServer,
  pinnedFetch,
  startTunnel,
} from "../../capsule_runtime/mcp_http.ts";
import { connectClient } from "../../capsule_runtime/mcp_client.ts";
import type { UrlCheck } from "../../guest/policy/ssrf.ts";
import { tempDir } from "../helpers/temp.ts";

const PUBLIC = () => Promise.resolve([{ address: "93.184.216.34", family: 4 as const }]);
const LOOPBACK = () => Promise.resolve([{ address: "127.0.0.1", family: 4 as const }]);

Deno.test("checkMcpUrl: the http tools' SSRF guard, and the agent's network_hosts when given", async () => {
  const refused = async (url: string, hosts?: string[], resolver = PUBLIC) => {
    const check = await checkMcpUrl(url, { networkHosts: hosts, resolver });
    assert.equal(check.ok, false, url);
    return check.ok ? "" : check.error;
  };
  assert.match(await refused("http://127.0.0.1:3001/mcp"), /loopback/);
  assert.match(await refused("http://localhost:3001/mcp"), /local or metadata name/);
  assert.match(await refused("http://10.1.2.3/mcp"), /private network/);
  assert.match(await refused("http://169.254.169.254/mcp"), /link-local/);
  assert.match(await refused("http://mcp.example.com/mcp", undefined, LOOPBACK), /resolves to/);
  assert.match(await refused("file:///etc/passwd"), /scheme/);
  assert.match(await refused("https://u:p@mcp.example.com/mcp"), /credentials/);
  assert.match(await refused("not a url"), /invalid URL/);
  // For an agent: the host must be listed; no hosts at all reaches nothing.
  assert.match(
    await refused("https://mcp.example.com/mcp", []),
    /not in this agent's network_hosts \(none\)/,
  );
  assert.match(await refused("https://mcp.example.com/mcp", ["api.example.com"]), /network_hosts/);
  const ok = await checkMcpUrl("https://mcp.example.com/mcp", {
    networkHosts: ["*.example.com"],
    resolver: PUBLIC,
  });
  assert.ok(ok.ok && ok.pinned.address === "93.184.216.34");
  // For the user (`mcp add`): any public host.
  assert.ok((await checkMcpUrl("https://mcp.example.com/mcp", { resolver: PUBLIC })).ok);
  // connect refuses before any request, in one line naming the server.
  await assert.rejects(
    connectMcpHttpServer({
      name: "remote",
      command: "",
      args: [],
      url: "http://127.0.0.1:9/mcp",
      read_paths: [],
      env: {},
      tools: [],
      hash: "",
      approved_at: "",
    }),
    /MCP server 'remote' at http:\/\/127\.0\.0\.1:9\/mcp refused: address 127\.0\.0\.1 is loopback/,
  );
});

/** The SDK's McpServer (stateless) on 127.0.0.1, recording each request's Host and headers. */
function startServer(tls?: { cert: string; key: string }) {
  const seen: { host: string; auth: string }[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {}, ...(tls ?? {}) },
    async (request) => {
      seen.push({
        host: new URL(request.url).host,
        auth: request.headers.get("authorization") ?? "",
      });
      if (new URL(request.url).pathname === "/big") return new Response("x".repeat(10_000));
      if (new URL(request.url).pathname === "/elsewhere") {
        return new Response(null, { status: 302, headers: { location: "http://evil.test/" } });
      }
      const mcp = new McpServer({ name: "pinned-test", version: "1.0.0" });
      mcp.registerTool("add", {
        description: "Adds two numbers.",
        inputSchema: { a: z.number(), b: z.number() },
        annotations: { readOnlyHint: true },
      }, ({ a, b }) => ({ content: [{ type: "text", text: String(a + b) }] }));
      const transport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
      });
      await mcp.connect(transport);
      return transport.handleRequest(request);
    },
  );
  return { server, port: server.addr.port, seen };
}

function checked(url: string): Extract<UrlCheck, { ok: true }> {
  const parsed = new URL(url);
  const pinned = { address: "127.0.0.1", family: 4 as const };
  return {
    ok: true,
    url: parsed,
    host: parsed.hostname,
    port: Number(parsed.port),
    addresses: [pinned],
    pinned,
  };
}

Deno.test("pinnedFetch over HTTP: a public name reaches only the checked address, with the entry's headers", async () => {
  const { server, port, seen } = startServer();
  const url = `http://mcp.example.com:${port}/mcp`;
  const pinned = pinnedFetch(checked(url), { Authorization: "Bearer s3cret" });
  try {
    const connection = await connectClient(
      "pinned",
      new StreamableHTTPClientTransport(new URL(url), { fetch: pinned.fetch }),
    );
    assert.deepEqual(connection.tools.map((t) => t.name), ["add"]);
    assert.equal(connection.tools[0].annotations?.readOnlyHint, true);
    const sum = await connection.call("add", { a: 2, b: 40 });
    assert.equal(sum.ok, true);
    assert.equal((sum.result as { text: string }).text, "42");
    await connection.close();
    assert.ok(seen.length >= 2);
    assert.ok(seen.every((s) => s.host === `mcp.example.com:${port}`), JSON.stringify(seen));
    assert.ok(seen.every((s) => s.auth === "Bearer s3cret"));
    // Another origin is refused before anything is sent; a redirect is not followed.
    const before = seen.length;
    await assert.rejects(pinned.fetch("http://evil.test/mcp"), /not the MCP server's origin/);
    assert.equal(seen.length, before);
    const redirect = await pinned.fetch(`http://mcp.example.com:${port}/elsewhere`);
    assert.equal(redirect.status, 302);
    await redirect.body?.cancel();
    // Bodies up and down count against the connection's byte budget.
    const small = pinnedFetch(checked(url), {}, undefined, 4096);
    const big = await small.fetch(`http://mcp.example.com:${port}/big`);
    assert.equal(big.status, 200);
    await assert.rejects(big.text(), /byte limit of 4096 bytes for this MCP server reached/);
    await assert.rejects(
      small.fetch(url, { method: "POST", body: "y" }),
      /byte limit of 4096 bytes for this MCP server reached/,
    );
    small.close();
    const roomy = pinnedFetch(checked(url), {}, undefined, 20_000);
    assert.equal(
      (await (await roomy.fetch(`http://mcp.example.com:${port}/big`)).text()).length,
      10_000,
    );
    roomy.close();
    // A server that is not there: one line saying why, not only "fetch failed".
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const deadPort = (closed.addr as Deno.NetAddr).port;
    closed.close();
    const dead = pinnedFetch(checked(`http://mcp.example.com:${deadPort}/mcp`));
    await assert.rejects(
      connectClient(
        "gone",
        new StreamableHTTPClientTransport(new URL(`http://mcp.example.com:${deadPort}/mcp`), {
          fetch: dead.fetch,
        }),
      ),
      /MCP server 'gone' did not start: fetch failed \(.*Connection refused/,
    );
    dead.close();
  } finally {
    pinned.close();
    await server.shutdown();
  }
});

Deno.test("the HTTPS tunnel opens only a CONNECT to the server's host and port, with its token", async () => {
  // The pinned "server": echoes one line back.
  const upstream = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (upstream.addr as Deno.NetAddr).port;
  const echoing = (async () => {
    for await (const conn of upstream) {
      (async () => {
        try {
          await conn.readable.pipeTo(conn.writable);
        } catch {
          // the client went away
        }
      })();
    }
  })().catch(() => {});
  const tunnel = startTunnel("mcp.example.com", port, "127.0.0.1");
  const auth = (token: string) => `Proxy-Authorization: Basic ${btoa(`mcp:${token}`)}\r\n`;
  /** Sends `head` to the tunnel; its status line, and the connection when it is open. */
  const ask = async (head: string) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: tunnel.port });
    await conn.write(new TextEncoder().encode(head));
    const buffer = new Uint8Array(256);
    let text = "";
    while (!text.includes("\r\n\r\n")) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    return { status: text.split("\r\n")[0], conn };
  };
  const authority = `mcp.example.com:${port}`;
  try {
    const refused = [
      `CONNECT ${authority} HTTP/1.1\r\n\r\n`,
      `CONNECT ${authority} HTTP/1.1\r\n${auth("guessed")}\r\n`,
      `CONNECT other.example.com:${port} HTTP/1.1\r\n${auth(tunnel.token)}\r\n`,
      `CONNECT mcp.example.com:${port + 1} HTTP/1.1\r\n${auth(tunnel.token)}\r\n`,
      `GET http://${authority}/mcp HTTP/1.1\r\n${auth(tunnel.token)}\r\n`,
    ];
    for (const head of refused) {
      const { status, conn } = await ask(head);
      assert.equal(status, "HTTP/1.1 403 Forbidden", head);
      conn.close();
    }
    const { status, conn } = await ask(
      `CONNECT MCP.example.com:${port} HTTP/1.1\r\n${auth(tunnel.token)}\r\n`,
    );
    assert.equal(status, "HTTP/1.1 200 Connection Established");
    await conn.write(new TextEncoder().encode("ping\n"));
    const buffer = new Uint8Array(16);
    const n = await conn.read(buffer);
    assert.equal(new TextDecoder().decode(buffer.subarray(0, n ?? 0)), "ping\n");
    conn.close();
  } finally {
    tunnel.close();
    upstream.close();
    await echoing;
  }
});

const HAS_OPENSSL = (() => {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: HAS_OPENSSL
    ? "pinnedFetch over HTTPS: tunnelled to the checked address, TLS verified against the URL's name"
    : "pinnedFetch over HTTPS (skipped: needs openssl)",
  ignore: !HAS_OPENSSL,
  fn: async () => {
    await using dir = await tempDir();
    // A CA and a leaf it signs for mcp.example.com (a self-signed leaf is not accepted as a CA).
    const f = (name: string) => join(dir.path, name);
    const ext = f("leaf.ext");
    Deno.writeTextFileSync(ext, "subjectAltName=DNS:mcp.example.com\n");
    const openssl = (...args: string[]) => {
      const out = new Deno.Command("openssl", { args, stdout: "null", stderr: "piped" })
        .outputSync();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
    };
    openssl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      f("ca.key"),
      "-out",
      f("ca.pem"),
      "-days",
      "1",
      "-subj",
      "/CN=test ca",
    );
    openssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      f("key.pem"),
      "-out",
      f("leaf.csr"),
      "-subj",
      "/CN=mcp.example.com",
    );
    openssl(
      "x509",
      "-req",
      "-in",
      f("leaf.csr"),
      "-CA",
      f("ca.pem"),
      "-CAkey",
      f("ca.key"),
      "-CAcreateserial",
      "-out",
      f("cert.pem"),
      "-days",
      "1",
      "-extfile",
      ext,
    );
    const key = f("key.pem"), cert = f("cert.pem");
    const pem = Deno.readTextFileSync(f("ca.pem"));
    const { server, port, seen } = startServer({
      cert: Deno.readTextFileSync(cert),
      key: Deno.readTextFileSync(key),
    });
    const url = `https://mcp.example.com:${port}/mcp`;
    const pinned = pinnedFetch(checked(url), {}, [pem]);
    const other = pinnedFetch(checked(`https://other.example.com:${port}/mcp`), {}, [pem]);
    try {
      const connection = await connectClient(
        "tls",
        new StreamableHTTPClientTransport(new URL(url), { fetch: pinned.fetch }),
      );
      const sum = await connection.call("add", { a: 1, b: 1 });
      assert.equal((sum.result as { text: string }).text, "2");
      await connection.close();
      assert.ok(seen.every((s) => s.host === `mcp.example.com:${port}`));
      // A name the certificate does not cover fails TLS, although the address is the same.
      await assert.rejects(
        other.fetch(`https://other.example.com:${port}/mcp`, { method: "POST" }),
      );
    } finally {
      pinned.close();
      other.close();
      await server.shutdown();
    }
  },
});
