/**
 * The host as an MCP client: starts one catalogue server (stdio) inside a
 * bubblewrap sandbox built like a program's (program_sandbox.ts: the roots
 * given, secrets masked, the data and config folders hidden, no network of
 * its own, a fixed environment plus the entry's allowlisted variables, never
 * the host's), connects the SDK's Client to it, lists its tools and calls them.
 * Without bubblewrap, a `deno run` server runs under Deno's permissions
 * instead (mcp_deno.ts).
 */
// The SDK's "./*" export maps `x.js` to types at `x.js.d.ts`; see mcp_server/server.ts.
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
// @ts-types="@modelcontextprotocol/sdk/shared/transport"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { HostToolOutcome } from "../guest/protocol_types.ts";
import type { McpServerEntry, McpToolDeclaration } from "./mcp_catalogue.ts";
import { programEnv, programSandboxArgs, type ProgramSandboxInput } from "./program_sandbox.ts";
import { roundMs } from "./_format.ts";
import { type Limits, prlimitOptions } from "./limits.ts";
import { createPidsGroup, inPidsGroup } from "./pids_cgroup.ts";

/** How long a server may take to start and list its tools. */
const START_TIMEOUT_MS = 30_000;
/** How long one tool call may take. */
const CALL_TIMEOUT_MS = 120_000;
/** Characters of a result's text kept. */
const MAX_RESULT_CHARS = 60_000;
const STDERR_KEEP = 4000;

/** A running, connected server. */
export interface McpConnection {
  readonly tools: McpToolDeclaration[];
  call(tool: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<HostToolOutcome>;
  close(): Promise<void>;
}

/**
 * `prlimit` options that hold a server to `limits` inside its sandbox
 * (processes, CPU seconds, file size, open files as for programs); none when
 * `prlimitPath` is empty. Memory is bounded as data (RLIMIT_DATA), as for the
 * guest: an address-space bound stops Node's V8, which reserves far more
 * address space than it uses, from starting at all. `nproc` false outside a
 * fresh user namespace, where RLIMIT_NPROC counts every process of the user.
 */
export function mcpLimitPrefix(limits: Limits, prlimitPath: string, nproc = true): string[] {
  if (!prlimitPath) return [];
  const options = prlimitOptions(limits, "program", nproc).map((option) =>
    option.startsWith("--as=") ? `--data=${limits.memory_mb * 1024 * 1024}` : option
  );
  return [prlimitPath, ...options, "--"];
}

/**
 * The bubblewrap command line that runs `entry` in `sandbox` (plus its own
 * read paths), under `limitPrefix` (mcpLimitPrefix) inside the sandbox.
 */
export function mcpServerCommand(
  entry: McpServerEntry,
  sandbox: ProgramSandboxInput,
  limitPrefix: readonly string[] = [],
): { command: string; args: string[] } {
  const input: ProgramSandboxInput = {
    ...sandbox,
    readRoots: [...sandbox.readRoots, ...entry.read_paths],
    env: programEnv(entry.env),
  };
  return {
    command: sandbox.bwrapPath,
    args: programSandboxArgs(input, [...limitPrefix, entry.command, ...entry.args]),
  };
}

/** A pids cgroup (and memory cgroup where there is one) around a server, as around a program. */
export interface McpPidsLimit {
  /** pidsCgroupBase(): where the group is made. */
  base: string;
  /** Most tasks (processes and threads) at once. */
  processes: number;
  memoryBytes: number;
}

/**
 * Starts the server in its sandbox, connects and lists its tools (throws with
 * its stderr). With `pids`, the whole sandbox runs inside a cgroup of its own
 * (RLIMIT_NPROC does not bind root), removed with everything left in it when
 * the connection closes.
 */
export async function connectMcpServer(
  entry: McpServerEntry,
  sandbox: ProgramSandboxInput,
  limitPrefix: readonly string[] = [],
  pids?: McpPidsLimit,
): Promise<McpConnection> {
  const built = mcpServerCommand(entry, sandbox, limitPrefix);
  return await connectStdioServer(entry.name, [built.command, ...built.args], {
    // bubblewrap itself needs nothing; the server's environment is set inside (--clearenv).
    cwd: "/",
    pids,
    explain: (stderr) => {
      const tail = stderr.trim().split("\n").slice(-3).join(" | ");
      return `${tail ? ` (${tail})` : ""}${missingFileHint(stderr)}`;
    },
  });
}

/**
 * Starts `argv` (in a pids cgroup of its own with `pids`, removed when the
 * connection closes) with only a fixed PATH of the host's environment, keeps
 * the tail of its stderr and connects to it over stdio (connectClient);
 * `explain` turns that tail into what a failed start adds to its error.
 */
export async function connectStdioServer(
  name: string,
  argv: readonly string[],
  options: { cwd: string; pids?: McpPidsLimit; explain: (stderr: string) => string },
): Promise<McpConnection> {
  const { pids } = options;
  const group = pids ? createPidsGroup(pids.base) : null;
  const [command, ...args] = group && pids
    ? inPidsGroup(group, [...argv], pids.processes, pids.memoryBytes)
    : argv;
  let stderr = "";
  const transport = new StdioClientTransport({
    command,
    args,
    env: { PATH: "/usr/local/bin:/usr/bin:/bin" },
    cwd: options.cwd,
    stderr: "pipe",
  });
  transport.stderr?.on("data", (chunk: Uint8Array | string) => {
    stderr = (stderr + chunk.toString()).slice(-STDERR_KEEP);
  });
  return await connectClient(name, transport, {
    onClose: () => group?.remove(),
    explain: () => options.explain(stderr),
  });
}

/**
 * Connects the SDK's client over `transport`, lists the server's tools (every
 * page) and returns the connection; throws one line naming the server, with
 * `explain()` appended, when it cannot.
 */
export async function connectClient(
  name: string,
  transport: Transport,
  more: {
    explain?: () => string;
    onClose?: () => void | Promise<void>;
  } = {},
): Promise<McpConnection> {
  // The client's own name for servers' logs (capsule_runtime does not read deno.json).
  const client = new Client({ name: "closed-claw-host", version: "1.0.0" });
  const close = async () => {
    await client.close().catch(() => {});
    await more.onClose?.();
  };
  try {
    await client.connect(transport, { timeout: START_TIMEOUT_MS });
    const tools: McpToolDeclaration[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : {}, {
        timeout: START_TIMEOUT_MS,
      });
      for (const tool of page.tools) {
        tools.push({
          name: tool.name,
          description: tool.description ?? "",
          input_schema: tool.inputSchema as Record<string, unknown>,
          ...(tool.annotations ? { annotations: tool.annotations as Record<string, unknown> } : {}),
        });
      }
      cursor = page.nextCursor;
    } while (cursor);
    return {
      tools,
      close,
      call: (tool, toolArgs, signal) => callTool(client, tool, toolArgs, signal),
    };
  } catch (error) {
    await close();
    let why = error instanceof Error ? error.message : String(error);
    // fetch says only "fetch failed"; its cause says why (e.g. "Connection refused").
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : "";
    if (cause) why += ` (${cause.split("): ").pop()?.trim().slice(0, 200)})`;
    throw new Error(`MCP server '${name}' did not start: ${why}${more.explain?.() ?? ""}`);
  }
}

/** One call; a failure (thrown or `isError`) is a failed outcome, never a throw. */
async function callTool(
  client: Client,
  tool: string,
  args: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<HostToolOutcome> {
  const t0 = performance.now();
  const ms = () => roundMs(performance.now() - t0);
  try {
    const result = await client.callTool({ name: tool, arguments: args }, undefined, {
      timeout: CALL_TIMEOUT_MS,
      signal,
    }) as CallToolResult;
    const text = (result.content ?? [])
      .map((c) => (c.type === "text" ? c.text : `[${c.type} content]`))
      .join("\n");
    const bounded = text.length > MAX_RESULT_CHARS
      ? `${text.slice(0, MAX_RESULT_CHARS)}… [${text.length - MAX_RESULT_CHARS} more characters]`
      : text;
    const structured = result.structuredContent
      ? { structured: result.structuredContent as Record<string, unknown> }
      : {};
    if (result.isError) {
      return { ok: false, result: { text: bounded }, error: bounded.slice(0, 2000), ms: ms() };
    }
    return { ok: true, result: { text: bounded, ...structured }, error: "", ms: ms() };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { ok: false, result: {}, error: `MCP call failed: ${why}`, ms: ms() };
  }
}

/**
 * The likely fix when a server could not find its own files: its sandbox
 * shows only the agent's folders and those named with `--read`.
 */
export function missingFileHint(stderr: string): string {
  const missing =
    /Cannot find module|MODULE_NOT_FOUND|Module not found|ENOENT|No such file or directory/
      .test(
        stderr,
      );
  return missing
    ? ". The server's own files may not be visible in its sandbox: add `--read <folder with its code>` to `mcp add`."
    : "";
}
