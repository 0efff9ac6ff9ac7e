/** A dashboard on a free port over a temporary data dir, and a client that speaks to it. */
import { join } from "node:path";
import type { Settings } from "../../core/settings.ts";
import { openStore, type Store } from "../../store/mod.ts";
import { startWebServer, type WebServer } from "../../web/server.ts";
import type { CoordinatorPort, WebDeps } from "../../web/deps.ts";
import { tempDir, testSettings } from "./temp.ts";
import { claimRun, type RunOwnership } from "../../coordinator/run_owner.ts";

export interface WebFixture extends AsyncDisposable {
  dir: string;
  settings: Settings;
  store: Store;
  deps: WebDeps;
  server: WebServer;
  /** Runs seeded as `running`: this process owns them (holds their locks) until disposal. */
  owners: RunOwnership[];
  /** Authenticated request (Bearer token, JSON, right Host). */
  api(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Response>;
  /** A raw request with exactly these headers (no token added). */
  raw(
    method: string,
    path: string,
    init?: { headers?: Record<string, string>; body?: string },
  ): Promise<Response>;
}

export async function startWebFixture(
  options: {
    coordinator?: CoordinatorPort | null;
    keepAliveMs?: number;
    env?: Record<string, string>;
  } = {},
): Promise<WebFixture> {
  const temp = await tempDir("claw-web-");
  const settings = testSettings(temp.path, options.env);
  Deno.mkdirSync(settings.homeDir, { recursive: true });
  const store = openStore(settings.dbPath);
  const deps: WebDeps = { settings, store, coordinator: options.coordinator ?? null };
  const server = startWebServer(deps, { port: 0, keepAliveMs: options.keepAliveMs ?? 15_000 });
  const raw = (
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: string } = {},
  ) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: init.headers,
      body: init.body,
      redirect: "manual",
    });
  const owners: RunOwnership[] = [];
  return {
    dir: temp.path,
    settings,
    store,
    deps,
    server,
    owners,
    raw,
    api: (method, path, body, headers = {}) =>
      raw(method, path, {
        headers: {
          authorization: `Bearer ${server.token}`,
          ...(method === "GET" ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        body: method === "GET" ? undefined : JSON.stringify(body ?? {}),
      }),
    async [Symbol.asyncDispose]() {
      for (const owner of owners) owner.release();
      await server.shutdown();
      store.close();
      await temp[Symbol.asyncDispose]();
    },
  };
}

/** Writes a run row and its run-log lines, as a CLI process would. */
export function seedRun(
  fx: WebFixture,
  runId: string,
  task: string,
  events: { event: string; payload?: Record<string, unknown> }[] = [],
  status: "running" | "ok" | "error" = "ok",
): void {
  fx.store.runs.create({ run_id: runId, task, owner_pid: Deno.pid });
  // A running run has a live owner, as a CLI process would be: this one.
  if (status === "running") fx.owners.push(claimRun(fx.store, runId));
  if (status !== "running") {
    fx.store.runs.update(runId, { status, finished_at: new Date().toISOString() });
  }
  Deno.mkdirSync(fx.settings.runLogsDir, { recursive: true });
  const text = events.map((e) =>
    JSON.stringify({ ts: new Date().toISOString(), event: e.event, payload: e.payload ?? {} }) +
    "\n"
  ).join("");
  Deno.writeTextFileSync(join(fx.settings.runLogsDir, `${runId}.jsonl`), text, { append: true });
}

export interface SseMessage {
  id?: string;
  event: string;
  data: string;
  /** Set for a `: comment` line (keep-alive). */
  comment?: string;
}

/** Opens an SSE stream and reads its messages one at a time. */
export async function openSse(
  url: string,
  token: string,
  headers: Record<string, string> = {},
): Promise<{ next(): Promise<SseMessage | null>; close(): Promise<void> }> {
  const abort = new AbortController();
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, accept: "text/event-stream", ...headers },
    signal: abort.signal,
  });
  if (response.status !== 200) throw new Error(`SSE ${url}: HTTP ${response.status}`);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const queue: SseMessage[] = [];
  const parse = (block: string) => {
    const message: SseMessage = { event: "message", data: "" };
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) message.comment = line.slice(1).trim();
      else if (line.startsWith("id:")) message.id = line.slice(3).trim();
      else if (line.startsWith("event:")) message.event = line.slice(6).trim();
      else if (line.startsWith("data:")) message.data += line.slice(5).trim();
    }
    queue.push(message);
  };
  return {
    async next() {
      while (queue.length === 0) {
        const { value, done } = await reader.read();
        if (done) return null;
        buffer += value;
        let at;
        while ((at = buffer.indexOf("\n\n")) >= 0) {
          parse(buffer.slice(0, at));
          buffer = buffer.slice(at + 2);
        }
      }
      return queue.shift()!;
    },
    async close() {
      abort.abort();
      await reader.cancel().catch(() => {});
    },
  };
}
