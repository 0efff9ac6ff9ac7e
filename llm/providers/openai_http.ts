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

/** How much of an error reply is read: its text ends up in messages, never whole pages of it. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** An error reply's text, at most MAX_ERROR_BODY_BYTES of it, with the key blanked out. */
async function errorBody(response: Response, apiKey: string): Promise<string> {
  let text = "";
  try {
    const reader = response.body?.getReader();
    const decoder = new TextDecoder();
    let read = 0;
    while (reader && read < MAX_ERROR_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      read += value.length;
      text += decoder.decode(value, { stream: true });
    }
    await reader?.cancel().catch(() => {});
  } catch (error) {
    // As the SDK did: a body that cannot be read becomes the message instead.
    text = String((error as Error)?.message ?? error);
  }
  // A proxy that echoes the request would put the key in the text, which reaches the capsule.
  return apiKey.length >= 8 ? text.split(apiKey).join("[REDACTED]") : text;
}

/** The error an aborted call throws: the signal's own reason when it is one, else an AbortError. */
function abortError(signal: AbortSignal): Error {
  const reason = signal.reason;
  return reason instanceof Error
    ? reason
    : new DOMException(String(reason ?? "aborted"), "AbortError");
}

/** POSTs `body` as JSON with a bearer key; returns the reply's parsed JSON. */
export async function postJson(
  url: string,
  apiKey: string,
  body: unknown,
  signal?: AbortSignal,
): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "authorization": `Bearer ${apiKey}`,
        "accept": "application/json",
      },
      body: JSON.stringify(body),
      signal,
    });
  } catch (error) {
    // Aborted with a plain string as its reason, fetch rejects with that string.
    throw signal?.aborted ? abortError(signal) : error;
  }
  if (!response.ok) {
    throw new HttpStatusError(response.status, response.headers, await errorBody(response, apiKey));
  }
  // Read whole, then parsed: a cut-off body fails in `text()` (a network
  // error), a complete one that is not JSON in `JSON.parse` (a SyntaxError).
  try {
    return JSON.parse(await response.text());
  } catch (error) {
    throw signal?.aborted ? abortError(signal) : error;
  }
}
