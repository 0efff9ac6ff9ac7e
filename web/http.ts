/** Small helpers shared by the API routes: JSON bodies, errors, query numbers. */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import { ClosedClawError } from "../core/errors.ts";
import { saveAcceptedDotenv } from "../core/dotenv.ts";

/** A JSON error `{error, code}` with `status`. */
export function apiError(c: Context, status: ContentfulStatusCode, code: string, error: string) {
  return c.json({ error, code }, status);
}

/** Thrown by route helpers; the app's error handler turns it into a JSON error. */
export class HttpError extends Error {
  /**
   * @param field The form field the error is about (its `name`), so the
   * dashboard can show the message next to it.
   */
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Parses and validates the JSON body; a bad body is a 400 with the first problem. */
export async function jsonBody<T>(c: Context, schema: z.ZodType<T>): Promise<T> {
  let raw: unknown;
  try {
    const text = await c.req.text();
    raw = text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    throw new HttpError(400, "bad_json", "The request body is not valid JSON.");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? `${issue.path.join(".")}: ` : "";
    const field = issue.path.findLast((p) => typeof p === "string");
    throw new HttpError(
      400,
      "bad_request",
      `${where}${issue.message}`,
      field as string | undefined,
    );
  }
  return parsed.data;
}

/** An integer query parameter clamped to [min, max]; a non-number is a 400. */
export function intQuery(c: Context, name: string, fallback: number, max: number): number {
  const raw = c.req.query(name);
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new HttpError(400, "bad_request", `${name} must be a positive whole number.`);
  }
  return Math.min(n, max);
}

/** Runs `check` on an id and turns its ClosedClawError into a 400. */
export function validId(check: (id: string) => string, id: string): string {
  try {
    return check(id);
  } catch (error) {
    if (error instanceof ClosedClawError) throw new HttpError(400, error.code, error.message);
    throw error;
  }
}

/** Saves `.env` changes made in the dashboard; a `.env` nobody accepted is a 409, not built on. */
export function saveEnvForWeb(
  envFile: string,
  changes: Record<string, string>,
  configDir: string,
): void {
  try {
    saveAcceptedDotenv(envFile, changes, configDir);
  } catch (error) {
    if (error instanceof ClosedClawError) {
      const hint = error.hint ? ` ${error.hint}` : "";
      throw new HttpError(409, error.code, `${error.message}${hint}`);
    }
    throw error;
  }
}
