/**
 * `claude`: @anthropic-ai/sdk Messages API. Structured output is a forced
 * tool call whose input schema is the requested JSON Schema. Native tools are
 * Anthropic tools (`input_schema`); an assistant turn's tool calls are
 * `tool_use` blocks and the results that answer them `tool_result` blocks of
 * one user turn. Prompt caching is explicit: with `cachePrefix`, the end of
 * the stable system prefix and the end of the conversation are marked as
 * cache breakpoints.
 */
import Anthropic from "@anthropic-ai/sdk";
import type { ProviderConfig } from "../provider_config.ts";
import type {
  ChatMessage,
  CompletionRequest,
  CompletionResponse,
  ProviderClient,
  ToolCall,
} from "../types.ts";
import { toLlmError } from "./_errors.ts";
import { wireSchema } from "./_schema.ts";

/** Anthropic requires max_tokens; this is used when the request sets none. */
const DEFAULT_MAX_TOKENS = 4096;

const EPHEMERAL = { type: "ephemeral" } as const;

type Block =
  | Anthropic.TextBlockParam
  | Anthropic.ToolUseBlockParam
  | Anthropic.ToolResultBlockParam;
type Turn = { role: "user" | "assistant"; content: string | Block[] };

/**
 * The system prompt as text blocks, one per (non-empty) system message; with
 * `cachePrefix` ≥ 1 the last block of the first `cachePrefix` messages is a
 * cache breakpoint.
 */
export function systemBlocks(
  messages: ChatMessage[],
  cachePrefix = 0,
): Anthropic.TextBlockParam[] {
  const blocks: Anthropic.TextBlockParam[] = [];
  let breakpoint = -1;
  messages.filter((m) => m.role === "system").forEach((m, i) => {
    if (m.content === "") return; // Anthropic refuses empty text blocks
    blocks.push({ type: "text", text: m.content });
    if (i < cachePrefix) breakpoint = blocks.length - 1;
  });
  if (breakpoint >= 0) blocks[breakpoint] = { ...blocks[breakpoint], cache_control: EPHEMERAL };
  return blocks;
}

/**
 * The conversation as Anthropic turns: assistant tool calls become
 * `tool_use` blocks (after a text block when the turn has text), and
 * consecutive tool results one user turn of `tool_result` blocks (Anthropic
 * wants every result of an assistant turn in the next user turn).
 */
export function conversationTurns(messages: ChatMessage[]): Turn[] {
  const turns: Turn[] = [];
  let results: Anthropic.ToolResultBlockParam[] | undefined;
  for (const m of messages) {
    if (m.role === "system") continue;
    if (m.role === "tool") {
      const block: Anthropic.ToolResultBlockParam = {
        type: "tool_result",
        tool_use_id: m.toolCallId ?? "",
        ...(m.content !== "" ? { content: m.content } : {}),
      };
      if (results) results.push(block);
      else {
        results = [block];
        turns.push({ role: "user", content: results });
      }
      continue;
    }
    results = undefined;
    if (m.role === "assistant" && m.toolCalls?.length) {
      turns.push({
        role: "assistant",
        content: [
          ...(m.content !== "" ? [{ type: "text" as const, text: m.content }] : []),
          ...m.toolCalls.map((c) => ({
            type: "tool_use" as const,
            id: c.id,
            name: c.name,
            input: c.args,
          })),
        ],
      });
    } else {
      turns.push({ role: m.role, content: m.content });
    }
  }
  return turns;
}

/** Marks the last content block of the last turn as a cache breakpoint (a copy; "" stays as is). */
function withConversationBreakpoint(turns: Turn[]): Turn[] {
  const last = turns.at(-1);
  if (!last) return turns;
  let content: string | Block[];
  if (typeof last.content === "string") {
    if (last.content === "") return turns;
    content = [{ type: "text", text: last.content, cache_control: EPHEMERAL }];
  } else {
    if (last.content.length === 0) return turns;
    content = [
      ...last.content.slice(0, -1),
      { ...last.content[last.content.length - 1], cache_control: EPHEMERAL },
    ];
  }
  return [...turns.slice(0, -1), { role: last.role, content }];
}

/** A reply's tool_use blocks as tool calls. */
function toolCallsOf(content: Anthropic.ContentBlock[]): ToolCall[] {
  const calls: ToolCall[] = [];
  for (const block of content) {
    if (block.type !== "tool_use") continue;
    const input = block.input;
    calls.push(
      input && typeof input === "object" && !Array.isArray(input)
        ? { id: block.id, name: block.name, args: input as Record<string, unknown> }
        : {
          id: block.id,
          name: block.name,
          args: {},
          argsError: `The arguments are not a JSON object: ${JSON.stringify(input)}`,
        },
    );
  }
  return calls;
}

/** A ProviderClient for Anthropic's Claude models. */
export function createAnthropicClient(config: ProviderConfig): ProviderClient {
  const client = new Anthropic({
    apiKey: config.apiKey,
    baseURL: config.baseUrl,
    maxRetries: 0, // the service retries, honouring Retry-After
    timeout: config.timeoutMs,
  });
  return {
    provider: config.provider,
    model: config.model,
    async complete(request: CompletionRequest): Promise<CompletionResponse> {
      const cachePrefix = request.cachePrefix ?? 0;
      const system = systemBlocks(request.messages, cachePrefix);
      const turns = conversationTurns(request.messages);
      const schema = request.schema;
      const tools = !schema && request.tools?.length ? request.tools : undefined;
      try {
        const message = await client.messages.create({
          model: config.model,
          max_tokens: request.maxTokens ?? DEFAULT_MAX_TOKENS,
          ...(system.length ? { system } : {}),
          messages: cachePrefix > 0 ? withConversationBreakpoint(turns) : turns,
          ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
          ...(schema
            ? {
              tools: [{
                name: schema.name,
                description: schema.description ?? `Reply with a ${schema.name} object.`,
                input_schema: wireSchema(schema) as Anthropic.Tool.InputSchema,
              }],
              tool_choice: { type: "tool" as const, name: schema.name },
            }
            : {}),
          ...(tools
            ? {
              tools: tools.map((t) => ({
                name: t.name,
                description: t.description,
                input_schema: t.parameters as Anthropic.Tool.InputSchema,
              })),
            }
            : {}),
        }, { signal: request.signal });
        const toolUse = message.content.find((b) => b.type === "tool_use");
        const text = schema && toolUse
          ? JSON.stringify(toolUse.input)
          : message.content.map((b) => (b.type === "text" ? b.text : "")).join("");
        const toolCalls = schema ? [] : toolCallsOf(message.content);
        // Anthropic's input_tokens leaves out the tokens read from or written to the cache.
        const cached = message.usage.cache_read_input_tokens ?? 0;
        const written = message.usage.cache_creation_input_tokens ?? 0;
        return {
          text,
          ...(toolCalls.length ? { toolCalls } : {}),
          usage: {
            inputTokens: message.usage.input_tokens + cached + written,
            outputTokens: message.usage.output_tokens,
            ...(cached > 0 ? { cachedInputTokens: cached } : {}),
            ...(written > 0 ? { cacheWriteTokens: written } : {}),
          },
          model: message.model,
          finishReason: message.stop_reason ?? undefined,
        };
      } catch (error) {
        throw toLlmError(error, config);
      }
    },
  };
}
