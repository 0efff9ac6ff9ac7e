/**
 * Shared plumbing for the fake LLM servers: the public types, the HTTP server,
 * the reply queue, delays that `close()` can cut short, and the SSE helper.
 * Each wire format (openai.ts, anthropic.ts, gemini.ts) only supplies a
 * {@link WireFormat}: how to route, authenticate, and shape bodies.
 */

/** Which provider's wire format a fake server speaks. */
export type FakeKind = "openai" | "anthropic" | "gemini";

/** One scripted answer, provider-neutral; each wire format renders it its own way. */
export interface FakeReply {
  /** Plain assistant text. */
  text?: string;
  /**
   * Structured output. Serialised as the text (openai, gemini, and anthropic
   * without a forced tool), or as the forced tool call's `input` (anthropic,
   * when the request forces a tool). Wins over `text` when both are set.
   */
  json?: unknown;
  /**
   * Native tool / function calls. `id` defaults to a generated one (openai, anthropic).
   * `rawArguments` (openai) is sent verbatim as `function.arguments` instead of
   * the JSON of `args`, e.g. to send arguments that are not valid JSON.
   */
  toolCalls?: { name: string; args: unknown; id?: string; rawArguments?: string }[];
  /**
   * Token usage to report. Default: rough counts (≈ 4 chars a token) from the text lengths.
   * `input` counts every input token; `cached` and `cacheWrite` (default 0) say how
   * many of them were read from / written to the prompt cache, reported the
   * provider's way (OpenAI `prompt_tokens_details.cached_tokens`; Anthropic
   * `cache_read_input_tokens` / `cache_creation_input_tokens`, its
   * `input_tokens` then leaving both out; Gemini `cachedContentTokenCount`).
   */
  usage?: FakeUsage;
  /** HTTP status of an error reply, in the provider's error JSON shape (e.g. 429, 500, 401). */
  status?: number;
  /** The error reply's message (with `status`), instead of a generic one for the status. */
  errorMessage?: string;
  /** Sets the `Retry-After` header (seconds), e.g. with 429 or 503. */
  retryAfterSec?: number;
  /** Wait this long before answering (for client timeouts). `close()` cuts the wait short. */
  delayMs?: number;
  /** Answer 200 with a body that is not valid JSON (for streams: an SSE event whose data is not JSON). */
  malformed?: boolean;
  /** Overrides the finish / stop reason the wire format would pick. */
  finishReason?: string;
}

/** Token usage a fake reports (see {@link FakeReply.usage}). */
export interface FakeUsage {
  input: number;
  output: number;
  cached?: number;
  cacheWrite?: number;
}

/** A request the fake received, as recorded in {@link FakeServer.requests}. */
export interface RecordedRequest {
  kind: FakeKind;
  method: string;
  /** URL path without the query string, e.g. `/v1/chat/completions`. */
  path: string;
  /** Request headers, names lower-cased. */
  headers: Record<string, string>;
  /**
   * The parsed JSON body, in the provider's own request shape.
   */
  // deno-lint-ignore no-explicit-any -- provider request JSON; tests index into it freely.
  body: any;
  /** `Date.now()` when the request arrived. */
  receivedAt: number;
  /** Whether the request asked for a streamed (SSE) answer. */
  stream: boolean;
  /** The model named by the request (body `model`, or the gemini URL path). */
  model: string;
}

/** Decides the reply for a request when the queue is empty. `index` is its position in `requests`. */
export type FakeHandler = (req: RecordedRequest, index: number) => FakeReply | Promise<FakeReply>;

/** A running fake server. Always close it: `await using`, or `await close()` in `finally`. */
export interface FakeServer extends AsyncDisposable {
  kind: FakeKind;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** What to give the SDK: openai → `${url}/v1`; anthropic and gemini → `url`. */
  baseURL: string;
  /** Every model request received, including ones refused for a wrong key; not list-models calls. */
  requests: RecordedRequest[];
  /** Queue replies, used first-in first-out before the handler. */
  enqueue(...replies: FakeReply[]): void;
  /** Set the handler used when the queue is empty (e.g. to answer by prompt content). */
  handle(handler: FakeHandler): void;
  /** Stop listening, cut pending delays short, and wait for in-flight requests to end. */
  close(): Promise<void>;
}

/** Options of {@link startFakeServer}. */
export interface FakeServerOptions {
  /** When set, requests carrying any other key get 401 in the provider's format. */
  apiKey?: string;
  /** Initial handler, as if passed to {@link FakeServer.handle}. */
  handler?: FakeHandler;
  /**
   * Keep to the request's output limit (OpenAI `max_tokens`,
   * `max_completion_tokens` or `max_output_tokens`, Anthropic `max_tokens`, Gemini
   * `generationConfig.maxOutputTokens`) as real providers do: a reply longer
   * than the limit is cut (plain text to ≈ 4 characters a token), its reported
   * output tokens never exceed it (even a scripted `usage`), and its finish
   * reason says it was cut. Off by default: replies are sent as scripted.
   */
  honourMaxTokens?: boolean;
}

/** What a route is: a model call (recorded, scripted) or a canned list/get of models. */
export type Route =
  | { type: "generate"; stream: boolean; model?: string }
  | { type: "models" }
  | { type: "model"; name: string };

/** Everything that differs between providers. */
export interface WireFormat {
  kind: FakeKind;
  /** The base URL an SDK needs, given the server's origin. */
  baseURL(origin: string): string;
  /** Maps a request onto a route, or null for 404. */
  route(method: string, url: URL): Route | null;
  /** The API key the request carries, or null. */
  apiKey(req: Request, url: URL): string | null;
  /** Whether a request body asks for streaming (openai/anthropic `stream: true`). */
  bodyStreams(body: Record<string, unknown>): boolean;
  /** An error reply in the provider's error JSON shape (`retryAfterSec` for formats that echo it in the body). */
  error(status: number, message: string, retryAfterSec?: number): Response;
  /** Why the provider would refuse a recorded request (answered 400 with this text), if it would. */
  validate?(req: RecordedRequest): string | undefined;
  /** A success reply, plain JSON or SSE. */
  success(reply: FakeReply, req: RecordedRequest, usage: FakeUsage): Response;
  /** A 200 reply whose body does not parse. */
  malformed(req: RecordedRequest): Response;
  /** The models list body. */
  listModels(): unknown;
  /** One entry of the models list, or null when unknown. */
  getModel(name: string): unknown | null;
  /** All prompt texts of a request body, system first. */
  texts(body: unknown): { system: string[]; messages: { role: string; text: string }[] };
  /** The output-token limit a request body sets, if any. */
  maxTokens?(body: Record<string, unknown>): number | undefined;
  /** The finish reason of a reply cut at the output limit (`length`, `max_tokens`, `MAX_TOKENS`). */
  cutFinishReason?: string;
}

/** Models every fake lists (the project's defaults among them). */
export const DEFAULT_MODELS = {
  openai: ["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini"],
  anthropic: ["claude-3-5-haiku-latest", "claude-sonnet-4-5", "claude-opus-4-1"],
  gemini: ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-lite"],
} as const satisfies Record<FakeKind, readonly string[]>;

/** A JSON response with extra headers. */
export function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** One server-sent event: `event:` line only when named, then `data:`. */
export interface SseEvent {
  event?: string;
  data: unknown;
}

/**
 * An SSE response. Each event goes out as its own body chunk so clients see a
 * real stream; a string `data` is sent verbatim (for `[DONE]` and malformed
 * payloads), anything else as JSON.
 */
export function sseResponse(events: SseEvent[], lineEnd = "\n"): Response {
  const encoder = new TextEncoder();
  const chunks = events.map(({ event, data }) => {
    const payload = typeof data === "string" ? data : JSON.stringify(data);
    const head = event ? `event: ${event}${lineEnd}` : "";
    return encoder.encode(`${head}data: ${payload}${lineEnd}${lineEnd}`);
  });
  return new Response(ReadableStream.from(chunks), {
    status: 200,
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
}

/** Splits text into up to `parts` pieces of similar length (never empty pieces). */
export function splitText(text: string, parts = 3): string[] {
  if (text.length === 0) return [];
  const size = Math.max(1, Math.ceil(text.length / parts));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/** Rough token count (≈ 4 characters a token, at least 1). */
export function roughTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/** The text a reply produces: its JSON if any, else its text, plus tool call args. */
export function replyOutputText(reply: FakeReply): string {
  const main = reply.json !== undefined ? JSON.stringify(reply.json) : reply.text ?? "";
  const calls = (reply.toolCalls ?? []).map((c) => c.name + JSON.stringify(c.args ?? {}));
  return [main, ...calls].join("");
}

/** Plain-object check for parsed JSON. */
/**
 * The routes of an API under `/v1`: `POST generatePath` is the model call,
 * `GET /v1/models` the list and `GET /v1/models/{id}` one model (OpenAI and Anthropic).
 */
export function v1Routes(generatePath: string): WireFormat["route"] {
  return (method, url) => {
    if (method === "POST" && url.pathname === generatePath) {
      return { type: "generate", stream: false };
    }
    if (method === "GET" && url.pathname === "/v1/models") return { type: "models" };
    const one = /^\/v1\/models\/([^/]+)$/.exec(url.pathname);
    if (method === "GET" && one) return { type: "model", name: decodeURIComponent(one[1]) };
    return null;
  };
}

/** The non-empty texts of `items` (each read by `textOf`), joined by newlines. */
export function joinTexts<T>(items: T[], textOf: (item: T) => string): string {
  return items.map(textOf).filter((t) => t !== "").join("\n");
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Starts a fake server for one wire format. */
export function serveFake(
  format: WireFormat,
  options: FakeServerOptions = {},
): Promise<FakeServer> {
  const queue: FakeReply[] = [];
  let handler: FakeHandler | undefined = options.handler;
  const requests: RecordedRequest[] = [];
  // Aborted by close() so a pending `delayMs` never outlives the server (the
  // Deno test sanitizers would report its timer as a leak).
  const closing = new AbortController();

  const answer = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const route = format.route(req.method, url);
    if (!route) {
      return format.error(404, `fake ${format.kind}: no route ${req.method} ${url.pathname}`);
    }

    const key = format.apiKey(req, url);
    const keyOk = options.apiKey === undefined || key === options.apiKey;

    if (route.type !== "generate") {
      if (!keyOk) return format.error(401, "Invalid API key (fake server).");
      if (route.type === "models") return jsonResponse(200, format.listModels());
      const model = format.getModel(route.name);
      return model ? jsonResponse(200, model) : format.error(404, `Model ${route.name} not found.`);
    }

    let body: unknown;
    try {
      body = await req.json();
    } catch {
      return format.error(400, "Request body is not valid JSON.");
    }
    if (!isRecord(body)) return format.error(400, "Request body must be a JSON object.");
    const recorded: RecordedRequest = {
      kind: format.kind,
      method: req.method,
      path: url.pathname,
      headers: Object.fromEntries(req.headers),
      body,
      receivedAt: Date.now(),
      stream: route.stream || format.bodyStreams(body),
      model: route.model ?? (typeof body.model === "string" ? body.model : ""),
    };
    const index = requests.push(recorded) - 1;
    if (!keyOk) return format.error(401, "Invalid API key (fake server).");
    const refusal = format.validate?.(recorded);
    if (refusal) return format.error(400, refusal);

    let reply = queue.shift();
    if (!reply && handler) {
      try {
        reply = await handler(recorded, index);
      } catch (e) {
        return format.error(500, `fake ${format.kind}: handler threw: ${String(e)}`);
      }
    }
    if (!reply) {
      return format.error(
        500,
        `fake ${format.kind} server has no scripted reply for request #${index} ` +
          `(enqueue() one or set handle())`,
      );
    }

    if (reply.delayMs && reply.delayMs > 0) {
      // Only close() cuts the wait short: reading req.signal would make Deno
      // print a legacy-abort warning, and a client that gave up does not care.
      await sleep(reply.delayMs, closing.signal);
      if (closing.signal.aborted) return format.error(503, "Fake server is shutting down.");
    }
    if (reply.status !== undefined && reply.status >= 400) {
      const res = format.error(
        reply.status,
        reply.errorMessage ?? fakeErrorMessage(reply.status),
        reply.retryAfterSec,
      );
      if (reply.retryAfterSec !== undefined) {
        res.headers.set("retry-after", String(reply.retryAfterSec));
      }
      return res;
    }
    if (reply.malformed) return format.malformed(recorded);

    const promptChars = promptTextOf(format, body).length;
    let usage: FakeUsage = reply.usage ?? {
      input: roughTokens("x".repeat(promptChars)),
      output: roughTokens(replyOutputText(reply)),
    };
    const limit = options.honourMaxTokens ? format.maxTokens?.(body) : undefined;
    if (limit !== undefined && usage.output > limit) {
      const plain = reply.json === undefined && !reply.toolCalls?.length;
      reply = {
        ...reply,
        ...(plain && reply.text !== undefined ? { text: reply.text.slice(0, limit * 4) } : {}),
        finishReason: format.cutFinishReason ?? "length",
      };
      usage = { ...usage, output: limit };
    }
    return format.success(reply, recorded, usage);
  };

  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
      // A handler bug should show up as a clear 500, not as a dropped connection.
      onError: (e) => format.error(500, `fake ${format.kind}: ${String(e)}`),
    }, answer);
    const url = `http://127.0.0.1:${server.addr.port}`;
    let closed: Promise<void> | undefined;
    const close = () => {
      closed ??= (async () => {
        closing.abort();
        await server.shutdown();
      })();
      return closed;
    };
    resolve({
      kind: format.kind,
      url,
      baseURL: format.baseURL(url),
      requests,
      enqueue: (...replies) => void queue.push(...replies),
      handle: (h) => void (handler = h),
      close,
      [Symbol.asyncDispose]: close,
    });
  });
}

/** System and message texts joined by newlines. */
export function promptTextOf(format: WireFormat, body: unknown): string {
  const { system, messages } = format.texts(body);
  return [...system, ...messages.map((m) => m.text)].filter((t) => t !== "").join("\n");
}

function fakeErrorMessage(status: number): string {
  if (status === 401) return "Invalid API key (fake server).";
  if (status === 429) return "Rate limit reached for this fake model; please retry later.";
  if (status >= 500) return `The fake server had an error (scripted status ${status}).`;
  return `Scripted error status ${status}.`;
}

/** Resolves after `ms`, or as soon as `signal` aborts (never rejects), clearing its timer. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
