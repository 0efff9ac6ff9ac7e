/**
 * Record and replay. A recorder appends every answered request of a run to a
 * JSON cassette; the `replay` provider answers from one, in order, checking a
 * hash of each request (messages with their tool calls and results, schema
 * and declared tools; not the model, so a cassette replays under any
 * provider) and naming the first call that differs.
 *
 * Version 2 added native tool calling (tool messages, assistant tool calls,
 * declared tools, reply tool calls) and cached usage; version 1 cassettes,
 * which have none of these, still load and replay (their hashes are unchanged).
 */
import { createHash } from "node:crypto";
import { dirname } from "node:path";
import { z } from "zod";
import { ClosedClawError } from "../core/errors.ts";
import { LlmError } from "./errors.ts";
import type {
  ChatMessage,
  CompletionRequest,
  CompletionResponse,
  OutputSchema,
  ProviderClient,
  ToolCall,
  ToolDeclaration,
} from "./types.ts";

/** The version written; every version in {@link READABLE_VERSIONS} is read. */
const CASSETTE_VERSION = 2;
const READABLE_VERSIONS = [1, 2] as const;

const toolCallSchema = z.object({
  id: z.string(),
  name: z.string(),
  args: z.record(z.string(), z.unknown()),
  argsError: z.string().optional(),
});

const messageSchema = z.object({
  role: z.enum(["system", "user", "assistant", "tool"]),
  content: z.string(),
  toolCalls: z.array(toolCallSchema).optional(),
  toolCallId: z.string().optional(),
  name: z.string().optional(),
});

const entrySchema = z.object({
  hash: z.string(),
  purpose: z.string(),
  provider: z.string(),
  model: z.string(),
  request: z.object({
    messages: z.array(messageSchema),
    schema: z.object({ name: z.string(), jsonSchema: z.record(z.string(), z.unknown()) })
      .optional(),
    tools: z.array(z.object({
      name: z.string(),
      description: z.string(),
      parameters: z.record(z.string(), z.unknown()),
    })).optional(),
  }),
  response: z.object({
    text: z.string(),
    toolCalls: z.array(toolCallSchema).optional(),
    usage: z.object({
      inputTokens: z.number(),
      outputTokens: z.number(),
      cachedInputTokens: z.number().optional(),
      cacheWriteTokens: z.number().optional(),
    }),
    model: z.string(),
    finishReason: z.string().optional(),
  }),
});

const cassetteSchema = z.object({
  version: z.union(READABLE_VERSIONS.map((v) => z.literal(v))),
  entries: z.array(entrySchema),
});

/** One recorded request and its answer. */
export type CassetteEntry = z.infer<typeof entrySchema>;

/** JSON with object keys sorted, so equal values always serialise the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function schemaPart(schema: OutputSchema | undefined) {
  return schema ? { name: schema.name, jsonSchema: schema.jsonSchema } : undefined;
}

function toolCallPart(call: ToolCall): ToolCall {
  return {
    id: call.id,
    name: call.name,
    args: call.args,
    ...(call.argsError !== undefined ? { argsError: call.argsError } : {}),
  };
}

/** The recorded fields of a message (tool fields only when set). */
function messagePart(m: ChatMessage): ChatMessage {
  return {
    role: m.role,
    content: m.content,
    ...(m.toolCalls?.length ? { toolCalls: m.toolCalls.map(toolCallPart) } : {}),
    ...(m.toolCallId !== undefined ? { toolCallId: m.toolCallId } : {}),
    ...(m.name !== undefined ? { name: m.name } : {}),
  };
}

function toolsPart(tools: ToolDeclaration[] | undefined): ToolDeclaration[] | undefined {
  return tools?.length
    ? tools.map((t) => ({ name: t.name, description: t.description, parameters: t.parameters }))
    : undefined;
}

/**
 * The hash a cassette matches requests by: messages (with their tool calls
 * and results), output schema and declared tools. A request without tools
 * hashes as it did in version 1.
 */
export function requestHash(
  request: Pick<CompletionRequest, "messages" | "schema" | "tools">,
): string {
  return createHash("sha256")
    .update(canonical({
      messages: request.messages.map(messagePart),
      schema: schemaPart(request.schema) ?? null,
      tools: toolsPart(request.tools),
    }))
    .digest("hex");
}

/** Appends every answered call to a cassette file, rewritten whole (atomically) each time. */
export class CassetteRecorder {
  private readonly entries: CassetteEntry[] = [];

  /** Starts a new cassette at `path` (an existing file is replaced on the first call). */
  constructor(readonly path: string) {
    Deno.mkdirSync(dirname(path), { recursive: true });
  }

  /** Records one request and its answer. */
  append(
    purpose: string,
    source: { provider: string; model: string },
    request: CompletionRequest,
    response: CompletionResponse,
  ): void {
    this.entries.push({
      hash: requestHash(request),
      purpose,
      provider: source.provider,
      model: source.model,
      request: {
        messages: request.messages.map(messagePart),
        ...(request.schema ? { schema: schemaPart(request.schema) } : {}),
        ...(request.tools?.length ? { tools: toolsPart(request.tools) } : {}),
      },
      response: {
        text: response.text,
        ...(response.toolCalls?.length ? { toolCalls: response.toolCalls.map(toolCallPart) } : {}),
        usage: { ...response.usage },
        model: response.model,
        ...(response.finishReason ? { finishReason: response.finishReason } : {}),
      },
    });
    const tmp = `${this.path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
    const body = { version: CASSETTE_VERSION, entries: this.entries };
    Deno.writeTextFileSync(tmp, JSON.stringify(body, null, 2) + "\n");
    Deno.renameSync(tmp, this.path);
  }
}

/** Reads and validates a cassette file. */
export function readCassette(path: string): CassetteEntry[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new ClosedClawError("cassette_missing", `No cassette at ${path}.`, {
        hint: "Record one with a run's record option, or fix CLOSED_CLAW_REPLAY_CASSETTE.",
      });
    }
    throw error;
  }
  let parsed;
  try {
    parsed = cassetteSchema.safeParse(JSON.parse(text));
  } catch {
    parsed = undefined;
  }
  if (!parsed?.success) {
    throw new ClosedClawError("cassette_invalid", `${path} is not a Closed Claw cassette.`, {
      hint: "Record it again.",
    });
  }
  return parsed.data.entries;
}

function preview(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return JSON.stringify(line.length > 80 ? `${line.slice(0, 80)}…` : line);
}

/** Says how the asked request differs from the recorded one. */
function describeDifference(expected: CassetteEntry, asked: CompletionRequest): string {
  const want = expected.request.messages;
  const got: ChatMessage[] = asked.messages;
  for (let i = 0; i < Math.max(want.length, got.length); i++) {
    const w = want[i];
    const g = got[i];
    if (!w) return `this run sent an extra message ${i + 1} (${g.role}) ${preview(g.content)}`;
    if (!g) return `this run did not send message ${i + 1} (${w.role}) ${preview(w.content)}`;
    if (w.role !== g.role || w.content !== g.content) {
      return `message ${i + 1} was expected as (${w.role}) ${preview(w.content)} ` +
        `but this run asked (${g.role}) ${preview(g.content)}`;
    }
    if (canonical(messagePart(w)) !== canonical(messagePart(g))) {
      return `message ${i + 1} (${w.role}) has other tool calls or tool result ids ` +
        `than the recorded one`;
    }
  }
  const wantTools = (expected.request.tools ?? []).map((t) => t.name).join(", ") || "none";
  const gotTools = (asked.tools ?? []).map((t) => t.name).join(", ") || "none";
  if (canonical(toolsPart(expected.request.tools)) !== canonical(toolsPart(asked.tools))) {
    return wantTools !== gotTools
      ? `the declared tools were expected as ${wantTools} but this run declared ${gotTools}`
      : "a declared tool's description or parameters changed";
  }
  const wantSchema = expected.request.schema?.name ?? "none";
  const gotSchema = asked.schema?.name ?? "none";
  return wantSchema !== gotSchema
    ? `the output schema was expected as ${wantSchema} but this run asked ${gotSchema}`
    : "the output schema's JSON Schema changed";
}

/**
 * The `replay` provider: answers each request with the next recorded answer
 * whose hash matches (in order; a call that ran in parallel may take a later
 * matching entry), and fails with `replay_mismatch` on anything else.
 */
export function createReplayClient(path: string): ProviderClient {
  const entries = readCassette(path);
  const used = new Array<boolean>(entries.length).fill(false);
  let asked = 0;
  return {
    provider: "replay",
    model: entries[0]?.model ?? "cassette",
    complete(request: CompletionRequest): Promise<CompletionResponse> {
      const call = ++asked;
      const hash = requestHash(request);
      const next = used.indexOf(false);
      const match = next >= 0 && entries[next].hash === hash
        ? next
        : entries.findIndex((e, i) => !used[i] && e.hash === hash);
      if (match < 0) {
        const message = next < 0
          ? `Replay mismatch at call ${call}: the cassette ${path} holds only ${entries.length} calls.`
          : `Replay mismatch at call ${call} (cassette call ${next + 1}, purpose ${
            entries[next].purpose
          }): ${describeDifference(entries[next], request)}.`;
        return Promise.reject(
          new LlmError("replay_mismatch", "replay", message, {
            hint: "The run asked something the cassette does not hold: record it again.",
          }),
        );
      }
      used[match] = true;
      const { response } = entries[match];
      return Promise.resolve({
        ...response,
        ...(response.toolCalls
          ? { toolCalls: response.toolCalls.map((c) => ({ ...c, args: structuredClone(c.args) })) }
          : {}),
        usage: { ...response.usage },
      });
    },
  };
}
