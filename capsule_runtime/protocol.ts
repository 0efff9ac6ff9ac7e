/**
 * Host-side validation of every line a capsule sends. A line that does not
 * parse or validate becomes a `ProtocolError` value, never an exception that
 * could take the coordinator down.
 */
import { z } from "zod";
import {
  type GuestMessage,
  type HostMessage,
  PROTOCOL_VERSION,
  TOOL_CALL_LIMITS,
} from "../guest/protocol_types.ts";

export * from "../guest/protocol_types.ts";

const v = z.literal(PROTOCOL_VERSION);
const id = z.string().min(1).max(64);
const record = z.record(z.string(), z.unknown());
/** A stable code, e.g. `tool_failed`: short, since it names a kind of failure, not its story. */
const errorCode = z.string().min(1).max(64);

/** A native tool call the model made, as the guest replays it in the conversation. */
const callId = z.string().min(1).max(TOOL_CALL_LIMITS.idChars);
const toolCall = z.object({
  id: callId,
  name: z.string().min(1).max(TOOL_CALL_LIMITS.nameChars),
  args: record,
  args_error: z.string().max(TOOL_CALL_LIMITS.argsErrorChars).optional(),
});

const GuestMessageSchema = z.discriminatedUnion("type", [
  z.object({ v, type: z.literal("ready") }),
  z.object({
    v,
    type: z.literal("llm_request"),
    id,
    messages: z.array(z.object({
      role: z.enum(["system", "user", "assistant", "tool"]),
      content: z.string(),
      tool_calls: z.array(toolCall).max(TOOL_CALL_LIMITS.perReply).optional(),
      tool_call_id: callId.optional(),
      name: z.string().min(1).max(64).optional(),
    })).min(1),
    schema: z.object({ name: z.string().min(1).max(64), json_schema: record }).optional(),
    native_tools: z.boolean().optional(),
  }),
  z.object({
    v,
    type: z.literal("tool_request"),
    id,
    tool: z.string().min(1).max(64),
    args: record,
    reason: z.string().max(4000).default(""),
    call_id: callId.optional(),
    preapproved: z.boolean().optional(),
  }),
  z.object({
    v,
    type: z.literal("tool_done"),
    id,
    ok: z.boolean(),
    result: record,
    error: z.string().default(""),
    error_code: errorCode.optional(),
    ms: z.number().nonnegative(),
  }),
  z.object({
    v,
    type: z.literal("log"),
    level: z.enum(["debug", "info", "warn", "error"]),
    msg: z.string(),
  }),
  z.object({
    v,
    type: z.literal("final"),
    status: z.enum(["ok", "error"]),
    result: z.string(),
    artifacts: z.array(z.string()).default([]),
    memory_updates: z.array(z.object({ kind: z.string(), content: z.string() })).default([]),
    error_code: z.string().optional(),
    error_message: z.string().optional(),
    steps: z.number().int().nonnegative().optional(),
  }),
]);

export type ParsedLine =
  | { ok: true; message: GuestMessage }
  | { ok: false; error: string; preview: string };

/** Parses and validates one line from a capsule. */
export function parseGuestLine(line: string): ParsedLine {
  const preview = line.length > 200 ? `${line.slice(0, 200)}…` : line;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, error: "not JSON", preview };
  }
  // A final response may come as a bare `{status, result, ...}` with no `type`; accept it.
  if (
    value && typeof value === "object" && !("type" in value) && "status" in value &&
    "result" in value
  ) {
    value = { v: PROTOCOL_VERSION, ...value, type: "final" };
  }
  const parsed = GuestMessageSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? `${issue.path.join(".")}: ` : "";
    return { ok: false, error: `invalid message (${where}${issue.message})`, preview };
  }
  return { ok: true, message: parsed.data as GuestMessage };
}

/** Encodes a host message as one line. */
export function encodeHostMessage(message: HostMessage): string {
  return JSON.stringify(message) + "\n";
}
