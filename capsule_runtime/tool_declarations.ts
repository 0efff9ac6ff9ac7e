/**
 * The built-in tools as one agent's model sees them (native declarations and
 * the JSON-step prompt alike). Every model step re-sends them, so they say
 * what the model needs to call the tool and no more:
 * - keywords that only bound values (string lengths, number ranges, item
 *   counts) are left out: the host validates every call against the full zod
 *   schema before anything runs, and a call out of bounds comes back as an
 *   error naming the field;
 * - so are `default` values: a field the model leaves out gets its default
 *   in that validation, and a description names the default where the model
 *   needs it (a timeout, an entry limit);
 * - and `additionalProperties: false` on an object with optional fields: such
 *   a schema cannot be strict (OpenAI's strict mode needs every field
 *   required), and the validation refuses an unknown field, naming the
 *   allowed ones. An object whose fields are all required keeps it, so it can
 *   still be sent strict;
 * - `file_io` is declared read-only (`list` and `read`, no `content`) to an
 *   agent without write access: a write would be refused anyway, so it is not
 *   offered.
 * Validation, checks and permissions do not depend on what is declared.
 */
import type { ToolRegistryEntry } from "../tools/catalog.ts";
import { FILE_IO_READ_ONLY_DESCRIPTION } from "../tools/specs/file_io.ts";
import type { ResolvedPermissions } from "./launcher.ts";

/** Keywords that bound a value; the host's validation enforces them, the model need not read them. */
const BOUNDS = new Set([
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "minItems",
  "maxItems",
]);

type Json = Record<string, unknown>;

/**
 * A JSON Schema without its `$schema` URI, bound keywords, defaults, the
 * closing of objects with optional fields, and `propertyNames: {type:
 * "string"}` (every JSON object key is a string).
 */
export function declaredSchema(schema: Json): Json {
  const out: Json = {};
  const open = hasOptionalFields(schema);
  for (const [key, value] of Object.entries(schema)) {
    if (key === "$schema" || key === "default" || BOUNDS.has(key)) continue;
    if (key === "additionalProperties" && value === false && open) continue;
    if (key === "propertyNames" && isStringType(value)) continue;
    out[key] = compactValue(key, value);
  }
  return out;
}

/** An object schema with a property its `required` list leaves out. */
function hasOptionalFields(schema: Json): boolean {
  if (!isObject(schema.properties)) return false;
  const required = Array.isArray(schema.required) ? schema.required : [];
  return Object.keys(schema.properties).some((name) => !required.includes(name));
}

function isStringType(value: unknown): boolean {
  return typeof value === "object" && value !== null &&
    JSON.stringify(value) === '{"type":"string"}';
}

/** Sub-schemas are compacted; `properties` maps names to sub-schemas; other values stay. */
function compactValue(key: string, value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map((v) => isObject(v) && key !== "enum" ? declaredSchema(v) : v);
  }
  if (!isObject(value) || key === "const") return value;
  if (key === "properties") {
    return Object.fromEntries(
      Object.entries(value).map(([name, v]) => [name, isObject(v) ? declaredSchema(v) : v]),
    );
  }
  return declaredSchema(value);
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `file_io` for an agent that may not write: list and read only. */
function readOnlyFileIo(entry: ToolRegistryEntry): ToolRegistryEntry {
  const schema = entry.args_schema as { properties?: Json };
  const { content: _content, op, ...rest } = schema.properties ?? {};
  const ops = isObject(op) && Array.isArray(op.enum)
    ? { ...op, enum: op.enum.filter((o) => o === "list" || o === "read") }
    : op;
  return {
    ...entry,
    description: FILE_IO_READ_ONLY_DESCRIPTION,
    args_schema: { ...schema, properties: { op: ops, ...rest } },
  };
}

/** The registry entries as declared to an agent with these permissions. */
export function declareTools(
  entries: readonly ToolRegistryEntry[],
  permissions: Pick<ResolvedPermissions, "fileWrite" | "writeRoots">,
): ToolRegistryEntry[] {
  const mayWrite = permissions.fileWrite && permissions.writeRoots.length > 0;
  return entries.map((entry) => {
    const narrowed = entry.name === "file_io" && !mayWrite ? readOnlyFileIo(entry) : entry;
    return { ...narrowed, args_schema: declaredSchema(narrowed.args_schema) };
  });
}
