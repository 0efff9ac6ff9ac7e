/**
 * Structured output: a zod schema is sent natively as JSON Schema, the reply
 * is validated against it, and one repair call shows the model its reply and
 * what was wrong with it before the call fails as `invalid_output`.
 */
import { z } from "zod";
import type { CallPath, Verdict } from "./_call_path.ts";
import { LlmError } from "./errors.ts";
import type { CallMeta, CompletionRequest, StructuredResult } from "./types.ts";
import { cloneJson } from "../core/clone.ts";

/** What `structured` takes: a request whose schema comes from the zod schema. */
export type StructuredRequest = Omit<CompletionRequest, "schema"> & {
  schemaName: string;
  schemaDescription?: string;
};

/** Parses JSON, tolerating a ```json fence around it. */
function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  const fenced = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/i.exec(text);
  try {
    return { ok: true, value: JSON.parse(fenced ? fenced[1] : text) };
  } catch (error) {
    return { ok: false, error: `the reply is not JSON (${(error as Error).message})` };
  }
}

/** Reads a reply's text as the schema's value, or says why it cannot. */
export function validate<T>(schema: z.ZodType<T>, text: string): Verdict<T> {
  const json = parseJson(text);
  if (!json.ok) return json;
  const result = schema.safeParse(json.value);
  return result.success
    ? { ok: true, value: result.data }
    : { ok: false, error: z.prettifyError(result.error) };
}

/** JSON Schemas made so far: the planner's takes longer to make than its call takes to send. */
const jsonSchemas = new WeakMap<z.ZodType, Record<string, unknown>>();

/**
 * The schema as JSON Schema, without the `$schema` declaration providers do
 * not want. Made once per schema; callers get a copy of their own.
 */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  let made = jsonSchemas.get(schema);
  if (!made) {
    const { $schema: _drop, ...rest } = z.toJSONSchema(schema) as Record<string, unknown>;
    jsonSchemas.set(schema, made = rest);
  }
  return cloneJson(made);
}

/**
 * Asks for a reply matching `schema`, with one repair call. Each reply is
 * validated once, by the call path's check, and the value comes from there.
 */
export async function callStructured<T>(
  call: CallPath,
  provider: string,
  schema: z.ZodType<T>,
  request: StructuredRequest,
  meta: CallMeta,
): Promise<StructuredResult<T>> {
  const { schemaName, schemaDescription, ...rest } = request;
  const outputSchema = {
    name: schemaName,
    description: schemaDescription,
    jsonSchema: jsonSchemaOf(schema),
  };
  const check = (r: { text: string }) => validate(schema, r.text);
  const first = await call({ ...rest, schema: outputSchema }, meta, check);
  if (first.verdict?.ok) return { value: first.verdict.value, response: first.response };
  const firstProblem = first.verdict?.error ?? "";
  const repair = await call(
    {
      ...rest,
      schema: outputSchema,
      messages: [
        ...rest.messages,
        { role: "assistant", content: first.response.text },
        {
          role: "user",
          content: `Your reply did not match the ${schemaName} JSON schema:\n${firstProblem}\n` +
            "Reply again with only the corrected JSON.",
        },
      ],
    },
    { ...meta, purpose: `${meta.purpose}_repair` },
    check,
  );
  if (repair.verdict?.ok) return { value: repair.verdict.value, response: repair.response };
  const problem = repair.verdict?.error ?? "";
  throw new LlmError(
    "invalid_output",
    provider,
    `The model's reply for ${meta.purpose} did not match the ${schemaName} schema after a repair retry: ${
      problem.split("\n").slice(0, 3).join(" ")
    }`,
    { rawText: repair.response.text, hint: "Try a stronger model (--llm-model)." },
  );
}
