/**
 * The JSON Schema as providers accept it. Schemas made with `z.toJSONSchema`
 * (e.g. the capsule step schema) carry a top-level `$schema` URI, which
 * Gemini's endpoint refuses as an unknown field; no provider needs it.
 */
import type { OutputSchema } from "../types.ts";

/** `schema.jsonSchema` without its `$schema` declaration. */
export function wireSchema(schema: OutputSchema): Record<string, unknown> {
  const { $schema: _declaration, ...rest } = schema.jsonSchema;
  return rest;
}
