/**
 * The second layer: guest tools running under narrow Deno permissions, as in
 * a capsule. The path/SSRF policy is deliberately opened wide here so that
 * only Deno stands in the way; every refusal must come back as ok:false JSON
 * and the process must not crash.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DatabaseSync } from "node:sqlite";
import type { ToolContext, ToolResult } from "../../guest/tools/run.ts";
import { tempDir } from "../helpers/temp.ts";
import { toolContext } from "../helpers/tool_context.ts";

const RUNNER = fileURLToPath(new URL("../fixtures/tools/run_tool.ts", import.meta.url));
const TLS_PROBE = fileURLToPath(new URL("../fixtures/tools/tls_probe.ts", import.meta.url));
const CERT = await Deno.readTextFile(
  fileURLToPath(new URL("../fixtures/tools/tls_cert.pem", import.meta.url)),
);
const KEY = await Deno.readTextFile(
  fileURLToPath(new URL("../fixtures/tools/tls_key.pem", import.meta.url)),
);

async function runGuest(
  flags: string[],
  name: string,
  args: Record<string, unknown>,
  ctx: ToolContext,
): Promise<{ result: ToolResult; ms: number }> {
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--no-config",
      ...flags,
      RUNNER,
      JSON.stringify({ name, args, ctx }),
    ],
    cwd: ctx.workspace,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout).trim();
  const stderr = new TextDecoder().decode(output.stderr).trim();
  assert.equal(output.code, 0, `guest crashed: ${stderr}`);
  return { result: JSON.parse(stdout.split("\n").at(-1)!), ms: performance.now() - started };
}

async function setup(root: string) {
  const base = await Deno.realPath(root);
  const ws = join(base, "ws");
  const other = join(base, "other");
  await Deno.mkdir(ws);
  await Deno.mkdir(other);
  await Deno.writeTextFile(join(other, "secret.txt"), "secret");
  const ctx = toolContext(ws, {
    readRoots: [ws, other], // the policy allows it: only Deno refuses
    writeRoots: [ws, other],
    fileWrite: true,
  });
  return { ws, other, ctx };
}

Deno.test("deno layer: file reads and writes outside --allow-read/--allow-write are ok:false", async () => {
  await using dir = await tempDir();
  const { ws, other, ctx } = await setup(dir.path);
  const read = await runGuest([`--allow-read=${ws}`], "file_io", {
    op: "read",
    path: join(other, "secret.txt"),
  }, ctx);
  assert.equal(read.result.ok, false);
  assert.match(read.result.error, /permission|Deno permissions/);
  const write = await runGuest([`--allow-read=${ws}`], "file_io", {
    op: "write",
    path: "x.txt",
    content: "x",
  }, ctx);
  assert.equal(write.result.ok, false);
  assert.match(write.result.error, /denied by the capsule's Deno permissions/);
  await assert.rejects(Deno.stat(join(ws, "x.txt")), Deno.errors.NotFound);
  const allowed = await runGuest(
    [`--allow-read=${ws}`, `--allow-write=${ws}`],
    "file_io",
    { op: "write", path: "x.txt", content: "x" },
    ctx,
  );
  assert.ok(allowed.result.ok, allowed.result.error);
});

Deno.test("deno layer: network without --allow-net is ok:false, not an uncaught NotCapable", async () => {
  await using dir = await tempDir();
  const { ctx } = await setup(dir.path);
  const literal = await runGuest([], "http_api", { url: "http://93.184.215.14/" }, ctx);
  assert.equal(literal.result.ok, false);
  assert.match(literal.result.error, /not permitted by the capsule's Deno permissions/);
  const named = await runGuest([], "web_fetch", { url: "http://example.com/" }, ctx);
  assert.equal(named.result.ok, false);
  assert.match(named.result.error, /DNS lookup of 'example\.com' is not permitted/);
  // A host-name allow does not cover the address actually dialled.
  const hostOnly = await runGuest(["--allow-net=93.184.215.99"], "http_api", {
    url: "http://93.184.215.14/",
  }, ctx);
  assert.match(hostOnly.result.error, /93\.184\.215\.14:80\) is not permitted/);
});

Deno.test("deno layer: a --deny-net CIDR range (the launcher's setup) is an answer, not a crash", async () => {
  await using dir = await tempDir();
  const { ctx } = await setup(dir.path);
  const out = await runGuest(["--allow-net", "--deny-net=93.184.215.0/24"], "http_api", {
    url: "http://93.184.215.14/",
  }, ctx);
  assert.equal(out.result.ok, false);
  assert.match(
    out.result.error,
    /93\.184\.215\.14:80\) is not permitted by the capsule's Deno permissions/,
  );
});

Deno.test("deno layer: processes need --allow-run; a narrow one still times out cleanly", async () => {
  await using dir = await tempDir();
  const { ctx } = await setup(dir.path);
  const none = await runGuest([], "terminal", { cmd: "echo hi" }, ctx);
  assert.equal(none.result.ok, false);
  assert.match(
    none.result.error,
    /not permitted by the capsule's Deno permissions \(--allow-run\)/,
  );
  const other = await runGuest(["--allow-run=python3"], "terminal", { cmd: "echo hi" }, ctx);
  assert.equal(other.result.ok, false);
  const python = await runGuest(
    ["--allow-run=python3"],
    "python_exec",
    { code: "print('ok')" },
    ctx,
  );
  assert.ok(python.result.ok, python.result.error);
  assert.equal(python.result.result.stdout, "ok\n");
  const slow = await runGuest(["--allow-run=python3"], "python_exec", {
    code: "import time; time.sleep(30)",
    timeout_s: 1,
  }, ctx);
  assert.equal(slow.result.ok, false);
  assert.equal(slow.result.result.timed_out, true);
  assert.ok(slow.ms < 10_000, "killed without the group permission");
});

Deno.test("deno layer: sql_query needs only read access to the database file", async () => {
  await using dir = await tempDir();
  const { ws, ctx } = await setup(dir.path);
  const path = join(ws, "data.db");
  const db = new DatabaseSync(path);
  db.exec("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (7);");
  db.close();
  const out = await runGuest([`--allow-read=${path}`], "sql_query", {
    db_path: "data.db",
    query: "SELECT x FROM t",
  }, ctx);
  assert.ok(out.result.ok, out.result.error);
  assert.deepEqual(out.result.result.rows, [{ x: 7 }]);
  const denied = await runGuest(
    [],
    "sql_query",
    { db_path: "data.db", query: "SELECT x FROM t" },
    ctx,
  );
  assert.equal(denied.result.ok, false);
  assert.match(denied.result.error, /permission/);
});

Deno.test("deno layer: https needs only --allow-net for the dialled address when the env is clean", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: CERT, key: KEY, onListen() {} },
    () => new Response("hello"),
  );
  const probe = async (env: Record<string, string>, ca?: string): Promise<ToolResult> => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--no-config",
        `--allow-net=127.0.0.1:${server.addr.port}`,
        TLS_PROBE,
        String(server.addr.port),
        ...(ca ? [ca] : []),
      ],
      clearEnv: true,
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    return JSON.parse(new TextDecoder().decode(output.stdout));
  };
  try {
    const trusted = await probe({}, CERT);
    assert.ok(trusted.ok, trusted.error);
    assert.equal(trusted.result.text, "hello");
    // Default roots load without extra flags: the failure is the certificate, not a permission.
    const untrusted = await probe({});
    assert.match(untrusted.error, /TLS certificate verification failed/);
    // NODE_EXTRA_CA_CERTS in the capsule env makes node:https ask for --allow-sys.
    const leaky = await probe({ NODE_EXTRA_CA_CERTS: "/etc/ssl/certs/ca-certificates.crt" });
    assert.match(leaky.error, /blocked by the capsule's Deno permissions: .*sys/);
  } finally {
    await server.shutdown();
  }
});
