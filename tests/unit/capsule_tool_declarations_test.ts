import assert from "node:assert/strict";
import { declaredSchema, declareTools } from "../../capsule_runtime/tool_declarations.ts";
import { isStrictCompatible } from "../../llm/providers/openai.ts";
import { toolRegistryForAllowlist, validateToolArgs } from "../../tools/catalog.ts";
import { FILE_IO_READ_ONLY_DESCRIPTION } from "../../tools/specs/file_io.ts";

const readOnly = { fileWrite: false, writeRoots: [] };
const writer = { fileWrite: true, writeRoots: ["/ws"] };

Deno.test("declaredSchema: bounds, defaults, $schema, string propertyNames and the closing of an object with optional fields go; types, enums and descriptions stay", () => {
  const schema = declaredSchema({
    $schema: "https://json-schema.org/draft/2020-12/schema",
    type: "object",
    properties: {
      cmd: { type: "string", minLength: 1, maxLength: 10, description: "Command." },
      n: { type: "integer", minimum: 1, maximum: 5, default: 2 },
      list: { type: "array", maxItems: 3, items: { type: "string", maxLength: 4 } },
      headers: {
        type: "object",
        propertyNames: { type: "string" },
        additionalProperties: { type: ["string", "number"] },
      },
      // A property named like a keyword is a property, not a keyword.
      maximum: { type: "number", enum: [1, 2] },
      any: { anyOf: [{ type: "string", minLength: 1 }, { type: "null" }] },
    },
    required: ["cmd"],
    additionalProperties: false,
  });
  assert.deepEqual(schema, {
    type: "object",
    properties: {
      cmd: { type: "string", description: "Command." },
      n: { type: "integer" },
      list: { type: "array", items: { type: "string" } },
      headers: { type: "object", additionalProperties: { type: ["string", "number"] } },
      maximum: { type: "number", enum: [1, 2] },
      any: { anyOf: [{ type: "string" }, { type: "null" }] },
    },
    required: ["cmd"],
  });
  // All fields required: still closed, so it can be sent strict.
  const closed = {
    type: "object",
    properties: { default: { type: "string" }, n: { type: "integer", maximum: 3 } },
    required: ["default", "n"],
    additionalProperties: false,
  };
  assert.deepEqual(declaredSchema(closed), {
    ...closed,
    properties: { default: { type: "string" }, n: { type: "integer" } },
  });
  assert.ok(isStrictCompatible(declaredSchema(closed)));
});

Deno.test("declareTools: file_io is list/read only for an agent that may not write, whole for one that may", () => {
  const [ro] = declareTools(toolRegistryForAllowlist(["file_io"]), readOnly);
  const props = (ro.args_schema as { properties: Record<string, { enum?: string[] }> }).properties;
  assert.deepEqual(props.op.enum, ["list", "read"]);
  assert.ok(!("content" in props));
  assert.deepEqual(ro.description, FILE_IO_READ_ONLY_DESCRIPTION);
  assert.deepEqual(ro.risk_level, "medium");

  const [rw] = declareTools(toolRegistryForAllowlist(["file_io"]), writer);
  const all = (rw.args_schema as { properties: Record<string, { enum?: string[] }> }).properties;
  assert.deepEqual(all.op.enum, ["list", "read", "write", "append"]);
  assert.ok("content" in all);
  // Granted write but no folder to write in: read-only.
  const [noRoots] = declareTools(toolRegistryForAllowlist(["file_io"]), {
    fileWrite: true,
    writeRoots: [],
  });
  assert.deepEqual(noRoots.description, FILE_IO_READ_ONLY_DESCRIPTION);
});

Deno.test("declareTools: every built-in tool keeps its names, required fields and descriptions, smaller", () => {
  const names = ["terminal", "http_api", "web_fetch", "file_io", "python_exec", "sql_query"];
  const full = toolRegistryForAllowlist(names);
  const declared = declareTools(full, writer);
  assert.deepEqual(declared.map((t) => t.name), names);
  for (const [i, tool] of declared.entries()) {
    const before = full[i].args_schema as { properties: object; required?: string[] };
    const after = tool.args_schema as { properties: object; required?: string[] };
    assert.deepEqual(Object.keys(after.properties), Object.keys(before.properties));
    assert.deepEqual(after.required, before.required);
    assert.deepEqual(tool.description, full[i].description);
    assert.ok(!JSON.stringify(after).includes("maxLength"), tool.name);
    assert.ok(JSON.stringify(after).length < JSON.stringify(before).length, tool.name);
  }
});

Deno.test("declareTools: what is declared does not change what the host validates", () => {
  declareTools(toolRegistryForAllowlist(["file_io", "terminal"]), readOnly);
  // Bounds still hold: the declaration dropped them, the zod schema did not.
  const long = validateToolArgs("terminal", { cmd: "x".repeat(10_001) });
  assert.ok(!long.ok);
  // A write is still a valid call shape (the host's path check refuses it without write access).
  assert.ok(validateToolArgs("file_io", { op: "write", path: "a.txt", content: "x" }).ok);
  // Defaults are not declared, yet a field the model leaves out still gets its default.
  const [declared] = declareTools(toolRegistryForAllowlist(["file_io"]), readOnly);
  assert.ok(!JSON.stringify(declared.args_schema).includes('"default"'));
  // Nor is the object closed, yet an unknown field is refused, naming the allowed ones.
  assert.ok(!("additionalProperties" in declared.args_schema));
  const unknown = validateToolArgs("file_io", { op: "list", folder: "src" });
  assert.ok(!unknown.ok && /folder/.test(unknown.error) && /max_entries/.test(unknown.error));
  const listed = validateToolArgs("file_io", { op: "list" });
  assert.ok(listed.ok);
  assert.deepEqual(
    { path: listed.args.path, recursive: listed.args.recursive, max: listed.args.max_entries },
    { path: ".", recursive: false, max: 200 },
  );
});
