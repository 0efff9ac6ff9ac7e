/**
 * What both of OpenAI's APIs (Chat Completions, openai.ts; Responses,
 * openai_responses.ts) share: strict-schema and reasoning-model tests, tool
 * argument parsing, and how an unreadable reply is reported.
 */
import type { ProviderConfig } from "../provider_config.ts";
import { LlmError } from "../errors.ts";
import type { CompletionRequest, CompletionResponse } from "../types.ts";

/**
 * OpenAI's strict mode needs every object closed and every property required;
 * schemas with optional fields are sent non-strict instead of being refused.
 */
export function isStrictCompatible(schema: unknown): boolean {
  if (Array.isArray(schema)) return schema.every(isStrictCompatible);
  if (!schema || typeof schema !== "object") return true;
  const node = schema as Record<string, unknown>;
  if (node.type === "object" && node.properties && typeof node.properties === "object") {
    const keys = Object.keys(node.properties);
    const required = Array.isArray(node.required) ? node.required : [];
    if (node.additionalProperties !== false) return false;
    if (!keys.every((k) => required.includes(k))) return false;
  }
  return Object.values(node).every(isStrictCompatible);
}

/**
 * OpenAI's reasoning models (o1, o3, o4-mini, gpt-5 but not gpt-5-chat …):
 * they take `max_completion_tokens` instead of `max_tokens` and a `developer`
 * message in place of `system`. The same test as @langchain/openai 1.6, so
 * the requests did not change when it was replaced.
 */
export function isReasoningModel(model: string): boolean {
  return /^o\d/.test(model) || /^gpt-[56](?!-chat)/.test(model);
}

/**
 * Reads a call's JSON arguments into an object. Arguments that are not a
 * JSON object come back as `{}` with `argsError` quoting the raw text; empty
 * arguments (some servers send "" for a tool without parameters) are `{}`.
 */
export function parseToolArgs(
  raw: unknown,
): { args: Record<string, unknown>; argsError?: string } {
  if (raw && typeof raw === "object" && !Array.isArray(raw)) {
    return { args: raw as Record<string, unknown> }; // a server that sent an object
  }
  const text = typeof raw === "string" ? raw : raw === undefined || raw === null ? "" : String(raw);
  if (text.trim() === "") return { args: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return {
      args: {},
      argsError: `The arguments are not valid JSON (${(error as Error).message}): ${text}`,
    };
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    return { args: {}, argsError: `The arguments are not a JSON object: ${text}` };
  }
  return { args: value as Record<string, unknown> };
}

/**
 * Finish reasons that make a structured reply unusable, worded as the SDK's
 * `parse` worded them: it threw on them, so such a reply was `malformed`.
 */
const UNPARSABLE_FINISH = new Map([
  ["length", "Could not parse response content as the length limit was reached"],
  [
    "content_filter",
    "Could not parse response content as the request was rejected by the content filter",
  ],
]);

/**
 * A reply that could not be read: `malformed`, retried by the service like a
 * network error unless `options` say otherwise; `options.usage` is what it
 * still cost.
 */
export function malformedReply(
  config: ProviderConfig,
  problem: string,
  options: { usage?: LlmError["usage"]; retryable?: boolean } = {},
): LlmError {
  const provider = config.provider;
  return new LlmError(
    "malformed",
    provider,
    `${provider} sent a reply that could not be read: ${problem}`,
    options,
  );
}

/**
 * Throws when a structured reply was cut short (at its token limit, or by
 * the content filter): it cannot be parsed, and the same request would be cut
 * again, so it is not retried. What it used goes with the error: the provider
 * bills it, and the budget must see it.
 */
export function refuseCutReply(
  config: ProviderConfig,
  request: CompletionRequest,
  finish: string | undefined,
  usage: CompletionResponse["usage"],
): void {
  const cut = request.schema && finish ? UNPARSABLE_FINISH.get(finish) : undefined;
  if (cut) throw malformedReply(config, cut, { usage, retryable: false });
}

/** A reply's token counts; the cached ones only when there are any. */
export function readUsage(input: unknown, output: unknown, cached: unknown) {
  const cachedTokens = tokenCount(cached);
  return {
    inputTokens: tokenCount(input),
    outputTokens: tokenCount(output),
    ...(cachedTokens > 0 ? { cachedInputTokens: cachedTokens } : {}),
  };
}

/** A tool call's id as the reply gives it, or a new one when it gives none. */
export function callId(raw: unknown): string {
  return typeof raw === "string" && raw ? raw : `call_${crypto.randomUUID().slice(0, 12)}`;
}

/** A token count from a reply: a positive number, else 0. */
const tokenCount = (value: unknown): number => typeof value === "number" && value > 0 ? value : 0;
