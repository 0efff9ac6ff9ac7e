/** `--context-json`: a run's extra context, inline JSON or a file; checked by `run` and the menu. */
import { isAbsolute, resolve } from "node:path";
import { UsageError } from "../core/errors.ts";

/** `--context-json`: inline JSON (`{...}`) or a file path; must be an object. */
export function parseContextJson(value: string | undefined, cwd: string): Record<string, unknown> {
  if (value === undefined) return {};
  let text = value.trim();
  if (!text.startsWith("{")) {
    const path = isAbsolute(text) ? text : resolve(cwd, text);
    try {
      text = Deno.readTextFileSync(path);
    } catch {
      throw new UsageError(
        `--context-json: "${value}" is neither a JSON object nor a readable file.`,
      );
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--context-json is not valid JSON: ${(error as Error).message}.`);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new UsageError("--context-json must decode to a JSON object.");
  }
  return parsed as Record<string, unknown>;
}
