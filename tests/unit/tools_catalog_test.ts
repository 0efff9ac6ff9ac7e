import assert from "node:assert/strict";
import { TOOL_NAMES } from "../../capsule_runtime/manifest.ts";
import {
  hasSideEffects,
  normalizeAliases,
  TOOL_CATALOG,
  toolRegistryForAllowlist,
  toolSpec,
  toolSummaries,
  validateToolArgs,
} from "../../tools/catalog.ts";

Deno.test("catalog: the six tools, in the manifest's order", () => {
  assert.deepEqual(TOOL_CATALOG.map((t) => t.name), [...TOOL_NAMES]);
  assert.equal(toolSpec("nope"), undefined);
  assert.equal(toolSpec("file_io")?.riskLevel, "medium");
});

Deno.test("catalog: risk levels and side effects follow the seed", () => {
  const table = Object.fromEntries(TOOL_CATALOG.map((t) => [t.name, [t.riskLevel, t.sideEffects]]));
  assert.deepEqual(table, {
    terminal: ["high", true],
    http_api: ["medium", true],
    web_fetch: ["low", false],
    file_io: ["medium", true],
    python_exec: ["high", true],
    sql_query: ["low", false],
  });
});

Deno.test("catalog: JSON Schemas list the seed's args, required fields and no extras", () => {
  const expected: Record<string, { props: string[]; required: string[] }> = {
    terminal: { props: ["cmd", "timeout_s"], required: ["cmd"] },
    http_api: {
      props: ["method", "url", "headers", "json", "params", "timeout_s"],
      required: ["url"],
    },
    web_fetch: { props: ["url", "timeout_s"], required: ["url"] },
    file_io: { props: ["op", "path", "content", "recursive", "max_entries"], required: ["op"] },
    python_exec: { props: ["code", "timeout_s"], required: ["code"] },
    sql_query: { props: ["db_path", "query", "params"], required: ["db_path", "query"] },
  };
  for (const tool of TOOL_CATALOG) {
    const schema = tool.jsonSchema as {
      type: string;
      properties: Record<string, { default?: unknown }>;
      required?: string[];
      additionalProperties: boolean;
    };
    assert.equal(schema.type, "object", tool.name);
    assert.deepEqual(Object.keys(schema.properties), expected[tool.name].props, tool.name);
    assert.deepEqual(schema.required ?? [], expected[tool.name].required, tool.name);
    assert.equal(schema.additionalProperties, false, tool.name);
  }
  const terminal = toolSpec("terminal")!.jsonSchema as {
    properties: Record<string, { default?: unknown }>;
  };
  assert.equal(terminal.properties.timeout_s.default, 15);
});

Deno.test("catalog: descriptions warn the LLM about the traps", () => {
  assert.match(toolSpec("terminal")!.description, /fresh shell/);
  assert.match(toolSpec("terminal")!.description, /Standard input is closed/);
  assert.match(toolSpec("terminal")!.description, /\$VAR/);
  // The tool runs `bash -c`: the cmd field must not tell the model otherwise.
  const cmd = (toolSpec("terminal")!.jsonSchema as {
    properties: { cmd: { description: string } };
  }).properties.cmd.description;
  assert.match(cmd, /bash/);
  assert.doesNotMatch(cmd, /no shell/i);
  assert.match(toolSpec("python_exec")!.description, /input\(\) gets EOF/);
  assert.match(toolSpec("sql_query")!.description, /read-only/);
});

Deno.test("registry: allowlist order, known names only, each once, seed shape", () => {
  const registry = toolRegistryForAllowlist(["sql_query", "bogus", "terminal", "sql_query"]);
  assert.deepEqual(registry.map((r) => r.name), ["sql_query", "terminal"]);
  assert.deepEqual(Object.keys(registry[0]).sort(), [
    "args_schema",
    "description",
    "name",
    "risk_level",
    "side_effects",
  ]);
  assert.equal(registry[1].risk_level, "high");
  assert.deepEqual(toolRegistryForAllowlist([]), []);
});

Deno.test("aliases: every seed alias maps to its canonical name", () => {
  const table: [Parameters<typeof normalizeAliases>[0], string, string][] = [
    ["terminal", "command", "cmd"],
    ["terminal", "shell", "cmd"],
    ["terminal", "run", "cmd"],
    ["terminal", "exec", "cmd"],
    ["terminal", "timeout", "timeout_s"],
    ["http_api", "body", "json"],
    ["http_api", "data", "json"],
    ["http_api", "timeout", "timeout_s"],
    ["web_fetch", "timeout", "timeout_s"],
    ["web_fetch", "link", "url"],
    ["file_io", "operation", "op"],
    ["file_io", "action", "op"],
    ["file_io", "file", "path"],
    ["file_io", "file_path", "path"],
    ["file_io", "filepath", "path"],
    ["file_io", "data", "content"],
    ["file_io", "text", "content"],
    ["python_exec", "script", "code"],
    ["python_exec", "python", "code"],
    ["python_exec", "snippet", "code"],
    ["python_exec", "timeout", "timeout_s"],
    ["sql_query", "sql", "query"],
    ["sql_query", "database", "db_path"],
    ["sql_query", "db", "db_path"],
  ];
  for (const [tool, alias, canonical] of table) {
    const out = normalizeAliases(tool, { [alias]: "v" });
    assert.deepEqual(out.args, { [canonical]: "v" }, `${tool}.${alias}`);
    assert.deepEqual(out.warnings, []);
  }
  // An alias of another tool is not renamed.
  assert.deepEqual(normalizeAliases("web_fetch", { command: "x" }).args, { command: "x" });
});

Deno.test("aliases: a key mapping to an already-set name is dropped with a warning", () => {
  const explicit = normalizeAliases("terminal", { command: "rm x", cmd: "ls" });
  assert.deepEqual(explicit.args, { cmd: "ls" });
  assert.equal(explicit.warnings.length, 1);
  assert.match(explicit.warnings[0], /command/);
  const twoAliases = normalizeAliases("terminal", { command: "ls", shell: "pwd" });
  assert.deepEqual(twoAliases.args, { cmd: "ls" });
  assert.match(twoAliases.warnings[0], /'shell'/);
});

Deno.test("validate: defaults are filled and aliases applied", () => {
  assert.deepEqual(validateToolArgs("terminal", { command: "ls" }), {
    ok: true,
    args: { cmd: "ls", timeout_s: 15 },
    warnings: [],
  });
  const http = validateToolArgs("http_api", { url: "https://example.com", body: { a: 1 } });
  assert.ok(http.ok);
  assert.deepEqual(http.args, {
    method: "GET",
    url: "https://example.com",
    headers: {},
    params: {},
    json: { a: 1 },
    timeout_s: 20,
  });
  const list = validateToolArgs("file_io", { action: "list" });
  assert.ok(list.ok);
  assert.deepEqual(list.args, { op: "list", path: ".", recursive: false, max_entries: 200 });
  const sql = validateToolArgs("sql_query", { db: "a.db", sql: "SELECT 1" });
  assert.ok(sql.ok);
  assert.deepEqual(sql.args, { db_path: "a.db", query: "SELECT 1", params: [] });
});

Deno.test("validate: lenient coercions and clamps, each clamp with a warning", () => {
  const t = validateToolArgs("terminal", { cmd: "ls", timeout_s: "30" });
  assert.ok(t.ok);
  assert.equal(t.args.timeout_s, 30);
  const big = validateToolArgs("terminal", { cmd: "ls", timeout: 999 });
  assert.ok(big.ok);
  assert.equal(big.args.timeout_s, 300);
  assert.match(big.warnings[0], /clamped to 300/);
  const list = validateToolArgs("file_io", { op: "LIST", max_entries: 5000, recursive: "true" });
  assert.ok(list.ok);
  assert.equal(list.args.op, "list");
  assert.equal(list.args.max_entries, 2000);
  assert.equal(list.args.recursive, true);
  assert.match(list.warnings[0], /max_entries 5000 clamped to 2000/);
  const zero = validateToolArgs("file_io", { op: "list", max_entries: 0 });
  assert.ok(zero.ok);
  assert.equal(zero.args.max_entries, 1);
  const method = validateToolArgs("http_api", { url: "https://x.org", method: "post" });
  assert.ok(method.ok);
  assert.equal(method.args.method, "POST");
});

Deno.test("validate: errors are one line naming the bad field", () => {
  const cases: [Parameters<typeof validateToolArgs>[0], unknown, RegExp][] = [
    ["terminal", {}, /^terminal: field 'cmd' is required$/],
    ["terminal", { cmd: "ls", foo: 1 }, /unknown field 'foo' \(allowed: cmd, timeout_s\)/],
    ["terminal", { cmd: "" }, /field 'cmd'/],
    ["terminal", { cmd: "ls", timeout_s: "soon" }, /field 'timeout_s': .*expected number/],
    ["terminal", { cmd: "ls", timeout_s: 0 }, /field 'timeout_s'/],
    ["file_io", { op: "delete", path: "a" }, /field 'op'/],
    ["file_io", { op: "write", path: "a" }, /field 'content': required for op=write/],
    ["file_io", { op: "append", path: "a" }, /field 'content': required for op=append/],
    ["http_api", { url: "https://x.org", method: "TRACE" }, /field 'method'/],
    ["http_api", { url: "https://x.org", headers: { a: { b: 1 } } }, /field 'headers\.a'/],
    [
      "sql_query",
      { db_path: "a.db", query: "SELECT 1", params: { a: 1 } },
      /field 'params': .*expected array/,
    ],
    ["python_exec", { code: "x".repeat(30_001) }, /field 'code'/],
    ["web_fetch", "https://x.org", /^web_fetch: args must be a JSON object$/],
    ["web_fetch", null, /args must be a JSON object/],
    ["web_fetch", [], /args must be a JSON object/],
  ];
  for (const [tool, args, pattern] of cases) {
    const out = validateToolArgs(tool, args);
    assert.equal(out.ok, false, `${tool} ${JSON.stringify(args)?.slice(0, 80)}`);
    if (!out.ok) {
      assert.match(out.error, pattern);
      assert.ok(!out.error.includes("\n"), "one line");
    }
  }
  const many = validateToolArgs("file_io", { op: "x", max_entries: "lots" });
  assert.ok(!many.ok && /and 1 more problem/.test(many.error));
});

Deno.test("hasSideEffects: processes, writes and non-GET requests", () => {
  const table: [Parameters<typeof hasSideEffects>[0], Record<string, unknown>, boolean][] = [
    ["terminal", { cmd: "ls" }, true],
    ["python_exec", { code: "print(1)" }, true],
    ["file_io", { op: "read", path: "a" }, false],
    ["file_io", { op: "list" }, false],
    ["file_io", { op: "write", path: "a", content: "" }, true],
    ["file_io", { op: "append", path: "a", content: "" }, true],
    ["file_io", { action: "write", file: "a" }, true], // aliases count
    ["file_io", {}, true], // unknown op: assume the worst
    ["http_api", { url: "u" }, false],
    ["http_api", { url: "u", method: "get" }, false],
    ["http_api", { url: "u", method: "HEAD" }, false],
    ["http_api", { url: "u", method: "POST" }, true],
    ["http_api", { url: "u", method: "delete" }, true],
    ["http_api", { url: "u", method: "OPTIONS" }, true],
    ["web_fetch", { url: "u" }, false],
    ["sql_query", { db_path: "a", query: "SELECT 1" }, false],
  ];
  for (const [tool, args, expected] of table) {
    assert.equal(hasSideEffects(tool, args), expected, `${tool} ${JSON.stringify(args)}`);
  }
});

Deno.test("toolSummaries: one line per tool with its first sentence and whether it changes things", () => {
  const lines = toolSummaries(["sql_query", "file_io", "nope"]).split("\n");
  assert.equal(lines.length, 2);
  assert.match(lines[0], /^- sql_query \(read-only\): Run ONE read-only SELECT[^.]*\.$/);
  // What a tool returns is the agent's business, not the planner's.
  assert.doesNotMatch(lines[0], /return|row_count/);
  assert.match(lines[1], /^- file_io \(may change things\): List, read, write or append[^.]*\.$/);
});
