/**
 * Scriptable fake LLM servers on 127.0.0.1 that speak the OpenAI Chat
 * Completions, Anthropic Messages and Gemini generateContent wire formats, so
 * the real SDKs run in tests with no network and no real key.
 *
 * ```ts
 * const fake = await startFakeServer("openai", { apiKey: "test-key" });
 * try {
 *   fake.enqueue({ text: "hello" }, { status: 429, retryAfterSec: 1 });
 *   fake.handle((req) => ({ text: `echo: ${lastUserText(req)}` }));
 *   // new ChatOpenAI({ configuration: { baseURL: fake.baseURL }, apiKey: "test-key" })
 * } finally {
 *   await fake.close();
 * }
 * ```
 * @module
 */
import { anthropicFormat } from "./anthropic.ts";
import { geminiFormat } from "./gemini.ts";
import { openaiFormat } from "./openai.ts";
import {
  type FakeKind,
  type FakeServer,
  type FakeServerOptions,
  promptTextOf,
  type RecordedRequest,
  serveFake,
  type WireFormat,
} from "./_server.ts";

export type {
  FakeHandler,
  FakeKind,
  FakeReply,
  FakeServer,
  FakeServerOptions,
  FakeUsage,
  RecordedRequest,
} from "./_server.ts";
export { DEFAULT_MODELS } from "./_server.ts";

const FORMATS: Record<FakeKind, WireFormat> = {
  openai: openaiFormat,
  anthropic: anthropicFormat,
  gemini: geminiFormat,
};

/**
 * Starts a fake server for `kind` on 127.0.0.1 (a free port).
 * Replies come from the {@link FakeServer.enqueue} queue first, then from the
 * handler; with neither, the fake answers 500 saying it has no scripted reply.
 */
export function startFakeServer(
  kind: FakeKind,
  options?: FakeServerOptions,
): Promise<FakeServer> {
  return serveFake(FORMATS[kind], options);
}

/** System prompt and every message text of a recorded request, joined by newlines. */
export function promptText(req: RecordedRequest): string {
  return promptTextOf(FORMATS[req.kind], req.body);
}

/** Text of the last user message of a recorded request ("" when there is none). */
export function lastUserText(req: RecordedRequest): string {
  const { messages } = FORMATS[req.kind].texts(req.body);
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i].role === "user") return messages[i].text;
  }
  return "";
}

/** The system texts and the role and text of each message of a recorded request. */
export function requestTexts(
  req: RecordedRequest,
): { system: string[]; messages: { role: string; text: string }[] } {
  return FORMATS[req.kind].texts(req.body);
}
