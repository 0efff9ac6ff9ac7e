/**
 * Closed Claw as an MCP server: tools to run tasks, look at runs and agents,
 * decide approvals, cancel and resume runs, and each run's log as a resource
 * (`closed-claw://runs/<id>/log`, JSON lines). Transports are the caller's
 * (stdio in `closed-claw mcp serve`, Streamable HTTP on the dashboard's `/mcp`).
 *
 * Every tool answers; none throws: a bad id, a finished run or a refused
 * workspace is a result with `isError` and one line saying what to do.
 */
// The SDK's "./*" export maps `x.js` to types at `x.js.d.ts`, which do not exist, so Deno would
// type its modules as `any`; @ts-types points at the real declarations.
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
// @ts-types="@modelcontextprotocol/sdk/shared/protocol"
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import {
  type CallToolResult,
  ErrorCode,
  McpError,
  type ServerNotification,
  type ServerRequest,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import denoConfig from "../deno.json" with { type: "json" };
import { ClosedClawError } from "../core/errors.ts";
import { assertApprovalId } from "../core/ids.ts";
import type { ApprovalMode } from "../core/settings.ts";
import { decideApproval } from "../coordinator/approvals.ts";
import { refreshInterruptedRuns, requestCancel } from "../coordinator/cancel.ts";
import { type RunLogEvent, runLogPath, tailLines } from "../coordinator/run_log.ts";
import type { RunHandle } from "../coordinator/types.ts";
import type { McpBackend } from "./backend.ts";
import {
  agentItem,
  findRun,
  outcomeOf,
  runDetail,
  runListItem,
  runLogUri,
  scopedWorkspace,
} from "./runs.ts";

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** The most lines a run-log resource returns (its newest ones). */
const LOG_LINES = 20_000;

const RUN_REF = z.string().min(1).max(100).describe(
  "A run id, a unique prefix of one, or `last` for the newest run.",
);
const NOTE = z.string().max(2000).optional().describe("Why; recorded with the decision.");
const COST = z.number().positive().max(1000);

/** A tool's answer: the value as JSON text, and as structured content. */
function json(value: Record<string, unknown>): CallToolResult {
  return {
    content: [{ type: "text", text: JSON.stringify(value, null, 2) }],
    structuredContent: value,
  };
}

/** A failed call as one line (never a stack trace); unexpected errors are logged on stderr. */
function failure(error: unknown): CallToolResult {
  let line: string;
  if (error instanceof ClosedClawError) line = error.toLine();
  else {
    console.error("closed-claw mcp: tool failed:", error);
    line = `${(error instanceof Error ? error.message : String(error)).split("\n")[0]}`;
  }
  return { isError: true, content: [{ type: "text", text: line }] };
}

/** Runs a tool's body, turning anything it throws into an error result. */
async function guarded(body: () => CallToolResult | Promise<CallToolResult>) {
  try {
    return await body();
  } catch (error) {
    return failure(error);
  }
}

/** Nobody can answer a terminal prompt here: such approvals wait in the store instead. */
function headless(mode: ApprovalMode): ApprovalMode {
  return mode === "interactive" ? "web" : mode;
}

/** One line about a run-log event, for a progress notification. */
export function progressMessage(event: RunLogEvent): string {
  const p = event.payload;
  if (event.event === "approval_request") {
    const request = (p.request ?? {}) as Record<string, unknown>;
    return `approval_request ${p.approval_id}: ${
      String(request.summary ?? p.kind)
    } (decide with the approve or deny tool)`;
  }
  const detail = ["title", "task_id", "tool", "agent_id", "status", "stage", "error"]
    .filter((k) => typeof p[k] === "string" && p[k] !== "")
    .map((k) => `${k}=${String(p[k]).slice(0, 120)}`)
    .join(" ");
  return detail ? `${event.event} ${detail}` : event.event;
}

/** Run-log events as progress notifications, and a way to wait until they are all sent. */
interface ProgressSink {
  onEvent?: (event: RunLogEvent) => void;
  /** Settles once every notification so far is handed to the transport (in order). */
  flush(): Promise<void>;
}

/**
 * Turns run-log events into `notifications/progress` when the client asked
 * for progress (`_meta.progressToken`); otherwise sends nothing. Sends go one
 * after another, so they arrive in order and before the result.
 */
function progressOf(extra: Extra): ProgressSink {
  const token = extra._meta?.progressToken;
  if (token === undefined) return { flush: () => Promise.resolve() };
  let progress = 0;
  let sent = Promise.resolve();
  return {
    onEvent: (event) => {
      progress += 1;
      const params = { progressToken: token, progress, message: progressMessage(event) };
      sent = sent
        .then(() => extra.sendNotification({ method: "notifications/progress", params }))
        .catch(() => {}); // a client that left must not fail the run
    },
    flush: () => sent,
  };
}

/** Waits for a run and answers with its outcome; a run that did not end ok is an error result. */
async function finished(handle: RunHandle, progress: ProgressSink): Promise<CallToolResult> {
  const outcome = outcomeOf(await handle.done);
  await progress.flush();
  const summary = JSON.stringify(outcome, null, 2);
  if (outcome.status === "ok") {
    return {
      content: [{ type: "text", text: outcome.result }, { type: "text", text: summary }],
      structuredContent: outcome,
    };
  }
  const why = outcome.error || outcome.result || outcome.status;
  return {
    isError: true,
    content: [
      {
        type: "text",
        text: `Run ${outcome.run_id} ${
          outcome.status === "cancelled" ? "was cancelled" : "failed"
        }: ${why.split("\n")[0]} (resume it with resume_run).`,
      },
      { type: "text", text: summary },
    ],
    structuredContent: outcome,
  };
}

/**
 * Builds the MCP server over `backend`; connect it to a transport.
 *
 * @example
 * ```ts
 * import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
 * const server = createMcpServer(coordinatorBackend(() => ({ settings, store })));
 * await server.connect(new StdioServerTransport());
 * ```
 */
export function createMcpServer(backend: McpBackend): McpServer {
  const server = new McpServer(
    { name: "closed-claw", version: denoConfig.version },
    {
      instructions:
        "Closed Claw runs tasks with sandboxed agents. Call run_task and wait for its " +
        "answer (it sends progress when you pass a progressToken; a run may take minutes). " +
        "A run waiting for approval shows it in get_run's pending_approvals: decide with " +
        "approve or deny. Each run's event log is the resource closed-claw://runs/<id>/log.",
    },
  );
  registerRunTools(server, backend);
  registerRecordTools(server, backend);
  registerRunLog(server, backend);
  return server;
}

/** run_task, resume_run and cancel_run. */
function registerRunTools(server: McpServer, backend: McpBackend): void {
  server.registerTool("run_task", {
    title: "Run a task",
    description: "Runs a task with Closed Claw's agents and returns the answer, status, run id " +
      "and usage when the run ends. Sends a progress notification per run event when the " +
      "request has a progressToken. Cancelling the request cancels the run.",
    inputSchema: {
      task: z.string().trim().min(1).max(20_000).describe("What to do, in plain words."),
      workspace: z.string().max(4096).optional().describe(
        "Folder the agents work in, inside the configured workspace (default: the workspace).",
      ),
      max_cost_usd: COST.optional().describe("Stop the run when its model calls cost more."),
    },
    annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  }, (args, extra) =>
    guarded(async () => {
      const settings = backend.settings();
      const progress = progressOf(extra);
      const handle = await backend.startRun({
        task: args.task,
        workspace: scopedWorkspace(settings, args.workspace),
        maxCostUsd: args.max_cost_usd,
        createApprovalMode: headless(settings.createApprovalMode),
        apiApprovalMode: headless(settings.apiApprovalMode),
        signal: extra.signal,
        onEvent: progress.onEvent,
      });
      return finished(handle, progress);
    }));

  server.registerTool("resume_run", {
    title: "Resume a run",
    description: "Continues an interrupted, cancelled or failed run without redoing completed " +
      "subtasks, and returns its outcome like run_task (with progress).",
    inputSchema: {
      run_id: RUN_REF,
      max_cost_usd: COST.optional().describe("New budget for the whole run."),
    },
    annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  }, (args, extra) =>
    guarded(async () => {
      const store = backend.store();
      refreshInterruptedRuns(store);
      const run = findRun(store, args.run_id);
      if (run.status === "running") {
        throw new ClosedClawError("run_running", `Run ${run.run_id} is still running.`, {
          hint: "Wait for it with get_run, or stop it with cancel_run first.",
        });
      }
      const progress = progressOf(extra);
      const handle = await backend.resumeRun(run.run_id, {
        maxCostUsd: args.max_cost_usd,
        signal: extra.signal,
        onEvent: progress.onEvent,
      });
      return finished(handle, progress);
    }));

  server.registerTool("cancel_run", {
    title: "Cancel a run",
    description: "Stops a running run (started here or anywhere else); its capsules stop at once.",
    inputSchema: { run_id: RUN_REF },
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
  }, (args) =>
    guarded(() => {
      const store = backend.store();
      refreshInterruptedRuns(store);
      const run = findRun(store, args.run_id);
      if (!requestCancel({ store }, run.run_id, "cancelled by an MCP client")) {
        throw new ClosedClawError("run_not_running", `Run ${run.run_id} is ${run.status}.`, {
          hint: "Only running runs can be cancelled.",
        });
      }
      backend.changed?.(run.run_id);
      return json({ cancel_requested: true, run_id: run.run_id });
    }));
}

/** get_run, list_runs, list_agents, approve and deny. */
function registerRecordTools(server: McpServer, backend: McpBackend): void {
  server.registerTool("get_run", {
    title: "Get a run",
    description: "One run: status, stage, answer, error, usage and its pending approvals.",
    inputSchema: { run_id: RUN_REF },
    annotations: { readOnlyHint: true },
  }, (args) =>
    guarded(() => {
      const store = backend.store();
      refreshInterruptedRuns(store);
      return json(runDetail(store, findRun(store, args.run_id)));
    }));

  server.registerTool("list_runs", {
    title: "List runs",
    description: "Recent runs, newest first.",
    inputSchema: {
      limit: z.number().int().min(1).max(200).optional().describe("How many (default 20)."),
      status: z.enum(["running", "ok", "error", "cancelled", "interrupted"]).optional(),
    },
    annotations: { readOnlyHint: true },
  }, (args) =>
    guarded(() => {
      const store = backend.store();
      refreshInterruptedRuns(store);
      const runs = store.runs.list({ limit: args.limit ?? 20, status: args.status });
      return json({ runs: runs.map(runListItem) });
    }));

  server.registerTool(
    "list_agents",
    {
      title: "List agents",
      description: "Registered agents, most used first, with their tools.",
      inputSchema: {
        limit: z.number().int().min(1).max(500).optional().describe("How many (default 50)."),
      },
      annotations: { readOnlyHint: true },
    },
    (args) =>
      guarded(() => json({ agents: backend.store().agents.list(args.limit ?? 50).map(agentItem) })),
  );

  for (const approved of [true, false]) {
    server.registerTool(approved ? "approve" : "deny", {
      title: approved ? "Approve a request" : "Deny a request",
      description: `${approved ? "Approves" : "Denies"} a pending approval ` +
        "(get_run lists a run's pending approvals; run_task's progress names them).",
      inputSchema: { approval_id: z.string().min(1).max(100), note: NOTE },
      annotations: { readOnlyHint: false, idempotentHint: false },
    }, (args) =>
      guarded(() => {
        const id = assertApprovalId(args.approval_id.trim());
        const store = backend.store();
        if (!decideApproval({ store }, id, approved, args.note, "mcp")) {
          throw new ClosedClawError(
            "already_decided",
            `Approval ${id} was already decided or timed out.`,
          );
        }
        backend.changed?.(store.approvals.get(id)?.run_id ?? undefined);
        return json({ approval_id: id, approved, resolved: true });
      }));
  }
}

/** Each run's log as a resource, listed for recent runs. */
function registerRunLog(server: McpServer, backend: McpBackend): void {
  const template = new ResourceTemplate("closed-claw://runs/{run_id}/log", {
    list: () => ({
      resources: backend.store().runs.list({ limit: 100 }).map((run) => ({
        uri: runLogUri(run.run_id),
        name: `run ${run.run_id}`,
        description: run.task.slice(0, 200),
        mimeType: "application/x-ndjson",
      })),
    }),
  });
  server.registerResource("run-log", template, {
    title: "Run log",
    description: "A run's events as JSON lines ({ts, event, payload}), oldest first.",
    mimeType: "application/x-ndjson",
  }, async (uri, variables) => {
    const ref = Array.isArray(variables.run_id) ? variables.run_id[0] : variables.run_id;
    let runId: string;
    try {
      runId = findRun(backend.store(), decodeURIComponent(ref ?? "")).run_id;
    } catch (error) {
      throw new McpError(ErrorCode.InvalidParams, (error as ClosedClawError).message);
    }
    const lines = await tailLines(runLogPath(backend.settings().runLogsDir, runId), LOG_LINES);
    if (lines === null) throw new McpError(ErrorCode.InvalidParams, `No run log for ${runId}.`);
    return {
      contents: [{
        uri: uri.href,
        mimeType: "application/x-ndjson",
        text: lines.length ? `${lines.join("\n")}\n` : "",
      }],
    };
  });
}
