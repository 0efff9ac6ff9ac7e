/**
 * The one HTTP call the OpenAI provider makes: a JSON `POST` with plain
 * `fetch`, its reply read once and parsed. Failures are thrown in the shapes
 * `toLlmError` reads: an error reply as an `HttpStatusError` (status, headers,
 * the OpenAI SDK's message text), a connection failure or a cut-off body as
 * fetch's own error (with its `cause`), an abort as the signal's reason, a
 * body that is not JSON as a `SyntaxError`.
 */

/** A non-2xx reply. `message` is worded as the OpenAI SDK worded it (see `statusMessage`). */
export class HttpStatusError extends Error {
  constructor(readonly status: number, readonly headers: Headers, body: string) {
    super(statusMessage(status, body));
    this.name = "HttpStatusError";
  }
}

/**
 * The SDK's wording of an error reply, kept so error texts did not change when
 * it was replaced: `"<status> <detail>"`, or `"<status> status code (no body)"`.
 */
function statusMessage(status: number, body: string): string {
  const detail = errorDetail(body);
  return detail ? `${status} ${detail}` : `${status} status code (no body)`;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object";

/**
 * OpenAI's `error.message`; else the JSON text of `error` (Ollama sends a
 * string) or of a JSON body without one; the raw text of a body that is not JSON.
 */
function errorDetail(body: string): string | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return body;
  }
  if (!isObject(json)) return json ? undefined : body;
  const error = json.error ?? json;
  if (isObject(error) && error.message) {
    return typeof error.message === "string" ? error.message : JSON.stringify(error.message);
  }
  return error ? JSON.stringify(error) : undefined;
}

/** POSTs `body` as JSON with a bearer key; returns the reply's parsed JSON. */
export async function postJson(
  url: string,
  apiKey: string,
  body: unknown,
  signal?: AbortSignal,
): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "authorization": `Bearer ${apiKey}`,
      "accept": "application/json",
    },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) {
    // As the SDK did: a body that cannot be read becomes the message instead.
    const text = await response.text().catch((error) => String(error?.message ?? error));
    throw new HttpStatusError(response.status, response.headers, text);
  }
  // Read whole, then parsed: a cut-off body fails in `text()` (a network
  // error), a complete one that is not JSON in `JSON.parse` (a SyntaxError).
  return JSON.parse(await response.text());
}
