/**
 * The entry point of every capsule, bundled with everything it imports into
 * guest/dist/guest.js (`deno task build:guest`), which capsules run. It
 * imports nothing but relative files and `node:` built-ins, and those only
 * after `ready`, so it starts fast, needs no network or package cache, and
 * carries no copied code. It serves one subtask per `start`, each from
 * nothing but that message (see `serve`).
 */
import { HostChannel, send } from "./io.ts";
import { AheadCalls } from "./ahead_calls.ts";
import { type Final, runLoop } from "./loop.ts";
import { runTool } from "./tools/run.ts";
import { guestTool, toolsWithPermission } from "./tools/registry.ts";
import { loadNodePath } from "./policy/node_path.ts";
import { loadNodeNet } from "./tools/pinned_fetch.ts";
import {
  type LlmResultMessage,
  type PreapprovedCall,
  PROTOCOL_VERSION,
  type StartMessage,
  TOOL_FAILED,
  type ToolDecisionMessage,
} from "./protocol_types.ts";

/** The subtask being served: a cancel stops it, then the whole capsule. */
let current: AbortController | null = null;
/** Subtasks served so far. */
let served = 0;
const channel = new HostChannel((reason) => {
  current?.abort(reason);
  // The host kills the process group too; exiting here just makes it prompt.
  setTimeout(() => Deno.exit(130), 50);
}, () => {
  // After a subtask, at once. Before any (the host's cache warm-up, machine.ts),
  // a moment later, as always: Deno writes the V8 code cache of what it compiled.
  if (served > 0) Deno.exit(0);
  else setTimeout(() => Deno.exit(0), 50);
});
channel.listen();

/**
 * One subtask from its `start` to its final answer. Everything it knows
 * lives in this call (the conversation in runLoop, the tool context, the
 * abort signal), so a capsule the host keeps for the agent's next subtask
 * starts that one from nothing but the new `start`.
 */
async function serve(start: StartMessage): Promise<Final> {
  const abort = current = new AbortController();
  const ctx = {
    workspace: start.tool_context.workspace,
    readRoots: start.tool_context.read_roots,
    writeRoots: start.tool_context.write_roots,
    fileWrite: start.tool_context.file_write,
    sqlPaths: start.tool_context.sql_paths,
    networkHosts: start.tool_context.network_hosts,
    paidHosts: start.tool_context.paid_hosts ?? [],
    signal: abort.signal,
  };

  /**
   * Loads the `node:` modules the granted tools use while the model answers the
   * first request: loaded at start, they would delay every capsule's `ready`.
   * A failure shows when a tool runs.
   */
  let preloaded = false;
  function preloadForTools(): void {
    if (preloaded) return;
    preloaded = true;
    loadNodePath().catch(() => {});
    const network = new Set<string>(toolsWithPermission("network"));
    if (start.tools.some((t) => network.has(t.name))) loadNodeNet().catch(() => {});
  }

  /** The calls of the last reply the host allowed ahead: they run without asking. */
  const ahead = new AheadCalls();

  /** Tells the host a call allowed ahead runs now (it journals and records it): its decision. */
  function goAhead(
    approved: PreapprovedCall,
    args: Record<string, unknown>,
    reason: string,
  ): ToolDecisionMessage {
    const { tool, call_id } = approved;
    const id = channel.nextId("tool");
    send({ type: "tool_request", id, tool, args, reason, call_id, preapproved: true });
    return {
      v: PROTOCOL_VERSION,
      type: "tool_decision",
      id,
      allowed: true,
      args: approved.args,
      reason: "allowed",
      side_effects: false,
    };
  }

  return await runLoop(start, {
    askModel: async (messages, mode) => {
      const reply = channel.request<LlmResultMessage>({
        type: "llm_request",
        id: channel.nextId("llm"),
        messages,
        ...(mode === "native"
          ? { native_tools: true }
          : { schema: { name: "agent_step", json_schema: start.step_schema } }),
      });
      preloadForTools();
      const result = await reply;
      ahead.take(result);
      return result;
    },
    askHost: (tool, args, reason, callId) => {
      const approved = ahead.claim(tool, args, callId);
      if (approved) return Promise.resolve(goAhead(approved, args, reason));
      return channel.request<ToolDecisionMessage>({
        type: "tool_request",
        id: channel.nextId("tool"),
        tool,
        args,
        reason,
        ...(callId ? { call_id: callId } : {}),
      });
    },
    runTool: async (tool, args) => {
      const began = performance.now();
      const outcome = await runTool(tool, args, ctx);
      return { ...outcome, ms: Math.round((performance.now() - began) * 10) / 10 };
    },
    mayChange: (tool, args) => {
      const def = guestTool(tool);
      if (!def || def.sideEffects === "always") return true;
      return def.sideEffects === "depends" && (def.hasSideEffects?.(args) ?? true);
    },
    reportToolDone: (id, outcome) =>
      send({
        type: "tool_done",
        id,
        ok: outcome.ok,
        result: outcome.result,
        error: outcome.error,
        ...(outcome.ok ? {} : { error_code: TOOL_FAILED }),
        ms: outcome.ms,
      }),
  });
}

// `ready`, a subtask, its final answer; then `ready` again for the next one,
// until the host closes stdin (the capsule then exits 0) or kills it.
for (;;) {
  const start = await channel.nextStart();
  const final = await serve(start);
  served++;
  current = null;
  channel.reset();
  send({ type: "final", ...final });
}
