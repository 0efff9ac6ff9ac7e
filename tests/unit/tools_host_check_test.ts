import assert from "node:assert/strict";
import { join } from "node:path";
import { checkToolCall } from "../../tools/host_check.ts";
import type { Resolver } from "../../guest/policy/ssrf.ts";
import { tempDir } from "../helpers/temp.ts";
import { toolContext } from "../helpers/tool_context.ts";

const resolver: Resolver = (host) =>
  Promise.resolve(
    host === "public.test"
      ? [{ address: "93.184.215.14", family: 4 }]
      : [{ address: "10.0.0.1", family: 4 }],
  );

const ctxFor = (workspace: string) =>
  toolContext(workspace, { writeRoots: ["out"], fileWrite: true });

const ALL = ["terminal", "http_api", "web_fetch", "file_io", "python_exec", "sql_query"];

Deno.test("host check: allowlist and unknown tools", async () => {
  await using dir = await tempDir();
  const options = { allowlist: ["file_io"], ctx: ctxFor(dir.path), resolver };
  assert.deepEqual(await checkToolCall("terminal", { cmd: "ls" }, options), {
    allowed: false,
    reason: "tool 'terminal' is not allowed for this agent",
  });
  assert.deepEqual(await checkToolCall("shell", {}, options), {
    allowed: false,
    reason: "unknown tool 'shell'",
  });
});

Deno.test("host check: allowed calls come back normalised with defaults", async () => {
  await using dir = await tempDir();
  const decision = await checkToolCall("file_io", {
    action: "write",
    file: "out/a.txt",
    text: "hi",
  }, {
    allowlist: ALL,
    ctx: ctxFor(dir.path),
    resolver,
  });
  assert.deepEqual(decision, {
    allowed: true,
    tool: "file_io",
    args: { op: "write", path: "out/a.txt", content: "hi", recursive: false, max_entries: 200 },
    warnings: [],
  });
  const http = await checkToolCall("web_fetch", { link: "https://public.test/" }, {
    allowlist: ALL,
    ctx: ctxFor(dir.path),
    resolver,
  });
  assert.ok(http.allowed);
});

Deno.test("host check: each policy refuses before the guest runs anything", async () => {
  await using dir = await tempDir();
  await Deno.symlink("/etc", join(dir.path, "etc_link"));
  const options = { allowlist: ALL, ctx: ctxFor(dir.path), resolver };
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["terminal", {}, /field 'cmd' is required/],
    ["terminal", { cmd: "rm -rf /" }, /denylist/],
    ["file_io", { op: "read", path: "../../etc/passwd" }, /outside the allowed read roots/],
    ["file_io", { op: "read", path: "etc_link/passwd" }, /symbolic link/],
    ["file_io", { op: "write", path: "a.txt", content: "x" }, /outside the allowed write roots/],
    ["sql_query", { db_path: "a.db", query: "SELECT 1; DROP TABLE t" }, /only one statement/],
    ["sql_query", { db_path: "/etc/x.db", query: "SELECT 1" }, /outside the allowed read roots/],
    ["http_api", { url: "http://169.254.169.254/latest/meta-data/" }, /link-local/],
    ["http_api", { url: "http://private.test/" }, /resolves to 10\.0\.0\.1/],
    ["web_fetch", { url: "file:///etc/passwd" }, /scheme/],
  ];
  for (const [tool, args, pattern] of cases) {
    const decision = await checkToolCall(tool, args, options);
    assert.equal(decision.allowed, false, `${tool} ${JSON.stringify(args)}`);
    if (!decision.allowed) {
      assert.match(decision.reason, pattern, `${tool} ${JSON.stringify(args)}`);
    }
  }
  const skip = await checkToolCall("http_api", { url: "http://private.test/" }, {
    ...options,
    skipDns: true,
  });
  assert.ok(skip.allowed, "skipDns leaves name resolution to the guest");
  const skipLiteral = await checkToolCall("http_api", { url: "http://127.1/" }, {
    ...options,
    skipDns: true,
  });
  assert.equal(skipLiteral.allowed, false, "literals are refused even without DNS");
});
