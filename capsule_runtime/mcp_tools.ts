/**
 * The MCP tools of one capsule attempt. The manifest's `mcp_servers` names
 * catalogue entries (mcp_catalogue.ts); each stdio server is started by the
 * host in a bubblewrap sandbox built from the capsule's own (its roots, its
 * masked secrets, its egress proxy when it has one) or, where bubblewrap does
 * not work, as a separate `deno run` process under Deno permissions from the
 * same manifest (mcp_deno.ts; any other server is then withheld), each HTTP server is
 * reached only when its host is on the manifest's `network_hosts` and passes
 * the SSRF guard (mcp_http.ts), and its tools are declared to
 * the agent as `mcp__<server>__<tool>`. A name not in the catalogue is
 * dropped, and a server whose declarations differ from the approved pin is
 * withheld, each with a warning in the run log. Calls are decided by the
 * host like any tool (a tool not annotated readOnlyHint asks for approval)
 * and run here; the guest gets the result in `tool_decision.outcome`.
 */
import type { StartMessage, ToolSpecWire } from "../guest/protocol_types.ts";
import type { HostToolOutcome } from "../guest/protocol_types.ts";
import type { CapsuleEvent, RunCapsuleOptions } from "./capsule_types.ts";
import type { LaunchPlan } from "./launcher.ts";
import { planLaunch } from "./launch_plan.ts";
import type { ProgramSandboxInput } from "./program_sandbox.ts";
import type { PolicyVerdict } from "./tool_decision.ts";
import {
  declarationsHash,
  isReadOnly,
  type McpServerEntry,
  type McpToolDeclaration,
  mcpToolName,
  parseMcpToolName,
  readCatalogue,
  recordSeen,
} from "./mcp_catalogue.ts";
import { connectMcpServer, type McpConnection, mcpLimitPrefix } from "./mcp_client.ts";
import { connectMcpHttpServer } from "./mcp_http.ts";
import {
  connectDenoMcpServer,
  type DenoServerInput,
  hostDenoDir,
  isDenoServer,
  withDenoCache,
} from "./mcp_deno.ts";
import { machineFacts } from "./machine.ts";
import { errorText } from "./_format.ts";
import { breachMessage, DEFAULT_LIMITS, effectiveLimits } from "./limits.ts";
import { meterFor } from "./program_guard.ts";
import { watchWrites, type WriteMeter } from "./write_meter.ts";

const MIB = 1024 * 1024;

/** Tool names providers accept (OpenAI: letters, digits, _ and -, at most 64). */
const PROVIDER_TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

interface ServedTool {
  server: string;
  /** A stdio server, started here (its writes count against the run's write budget). */
  local: boolean;
  declaration: McpToolDeclaration;
  connection: McpConnection;
}

/** The catalogue's entries of the granted servers; the others are withheld with a reason. */
function grantedEntries(
  home: string,
  granted: string[],
  warn: (server: string, reason: string) => void,
): McpServerEntry[] {
  let catalogue: McpServerEntry[];
  try {
    catalogue = readCatalogue(home);
  } catch (error) {
    for (const name of granted) warn(name, `the catalogue could not be read (${errorText(error)})`);
    return [];
  }
  const entries: McpServerEntry[] = [];
  for (const name of granted) {
    const entry = catalogue.find((s) => s.name === name);
    if (entry) entries.push(entry);
    else warn(name, "not in the MCP server catalogue (closed-claw mcp list)");
  }
  return entries;
}

/** Without bubblewrap: says why each stdio server that cannot start is withheld. */
function withholdUnsandboxed(
  entries: McpServerEntry[],
  unscanned: boolean,
  warn: (server: string, reason: string) => void,
): void {
  for (const entry of entries.filter((e) => !e.url)) {
    if (!isDenoServer(entry)) {
      warn(
        entry.name,
        "bubblewrap does not work here, and a server not run by Deno runs only in its " +
          "sandbox: install bubblewrap, or run the server with Deno " +
          `(closed-claw mcp add ${entry.name} -- deno run …)`,
      );
    } else if (unscanned) {
      warn(
        entry.name,
        "its roots hold too many entries to check every symlink, and without bubblewrap " +
          "Deno would follow a link out of them; narrow the manifest's read_roots or " +
          "install bubblewrap",
      );
    }
  }
}

/**
 * Starts each server and keeps those whose declarations still match their
 * pin; a changed one is recorded as seen, closed and withheld until approved.
 */
async function connectPinned(
  entries: McpServerEntry[],
  start: (entry: McpServerEntry) => Promise<McpConnection>,
  home: string,
  warn: (server: string, reason: string) => void,
  emit: (event: CapsuleEvent) => void,
): Promise<{ served: Map<string, ServedTool>; connections: McpConnection[] }> {
  const served = new Map<string, ServedTool>();
  const connections: McpConnection[] = [];
  await Promise.all(entries.map(async (entry) => {
    let connection: McpConnection;
    try {
      connection = await start(entry);
    } catch (error) {
      warn(entry.name, errorText(error));
      return;
    }
    const hash = declarationsHash(connection.tools);
    if (hash !== entry.hash) {
      recordSeen(home, entry.name, connection.tools, hash);
      warn(
        entry.name,
        `its tool declarations changed since they were approved (pinned ` +
          `${entry.hash.slice(0, 19)}…, now ${hash.slice(0, 19)}…); review them with ` +
          `\`closed-claw mcp approve ${entry.name}\``,
      );
      await connection.close();
      return;
    }
    connections.push(connection);
    for (const declaration of connection.tools) {
      const name = mcpToolName(entry.name, declaration.name);
      if (!PROVIDER_TOOL_NAME.test(name)) {
        emit({
          type: "log",
          level: "warn",
          msg: `MCP tool '${name}' left out: models accept only [A-Za-z0-9_-], 64 at most`,
        });
        continue;
      }
      served.set(name, { server: entry.name, local: !entry.url, declaration, connection });
    }
  }));
  return { served, connections };
}

/** The MCP servers granted to one capsule attempt, started and checked. */
export class McpToolset {
  /** Why calls fail from now on (the run's write budget is spent), or "". */
  private breach = "";

  /** Stops metering the servers' writes (when they can write at all). */
  private readonly stopWatch: () => void = () => {};

  private constructor(
    private readonly served: Map<string, ServedTool>,
    private readonly connections: McpConnection[],
    private readonly agentId: string,
    /** The run's write meter and its limit message, when stdio servers can write. */
    private readonly writes: { meter: WriteMeter; message: string } | null = null,
  ) {
    // A server may write on after it answered: its writes are metered while it runs, not
    // only after each call, and the servers stop once the budget is spent.
    if (writes) this.stopWatch = watchWrites(writes.meter, () => void this.overBudget());
  }

  /** The run's write budget is spent: calls fail from now on, and the servers stop. */
  private async overBudget(): Promise<void> {
    this.breach ||= `${this.writes!.message} (the MCP servers were stopped)`;
    await this.close();
  }

  /**
   * Starts the granted servers that are in the catalogue and still match
   * their pin; null when the manifest grants none. Never throws: a server
   * that cannot start is left out with a warning.
   */
  static async open(
    options: RunCapsuleOptions,
    plan: LaunchPlan,
    emit: (event: CapsuleEvent) => void,
  ): Promise<McpToolset | null> {
    const granted = [...new Set(options.manifest.permissions.mcp_servers ?? [])];
    if (!granted.length) return null;
    const withheld: { server: string; reason: string }[] = [];
    const warn = (server: string, reason: string) => {
      withheld.push({ server, reason });
      emit({ type: "log", level: "warn", msg: `MCP server '${server}' withheld: ${reason}` });
    };
    const report = (served: Map<string, ServedTool>) => {
      const byServer = new Map<string, string[]>();
      for (const [name, tool] of served) {
        byServer.set(tool.server, [...(byServer.get(tool.server) ?? []), name]);
      }
      emit({
        type: "mcp_servers",
        served: [...byServer].map(([server, tools]) => ({ server, tools })),
        withheld,
      });
    };
    const home = options.settings.homeDir;
    const entries = grantedEntries(home, granted, warn);
    if (!entries.length) {
      report(new Map());
      return null;
    }
    // stdio servers need the sandbox (or, without it, Deno's permissions); HTTP servers are
    // reached under the agent's network_hosts.
    const needsSandbox = entries.some((entry) => !entry.url);
    const found = needsSandbox ? await mcpSandbox(options, plan) : {};
    const sandbox = found.sandbox;
    // Without bubblewrap, Deno servers get permissions from a plan made here, on the host that
    // starts them (the capsule may run on a worker); a scan that stopped early in either counts.
    const hostPlan = found.hostPlan;
    const deno = hostPlan && !sandbox ? await denoServerInput(options, hostPlan) : undefined;
    const unscanned = !!(plan.incompleteSymlinkScan || hostPlan?.incompleteSymlinkScan);
    if (needsSandbox && !sandbox) withholdUnsandboxed(entries, unscanned, warn);
    const startable = entries.filter((entry) =>
      entry.url || sandbox || (deno && isDenoServer(entry) && !unscanned)
    );
    if (!startable.length) {
      report(new Map());
      return null;
    }
    const dropped = (server: string) => (flags: string[]) =>
      emit({
        type: "log",
        level: "warn",
        msg: `MCP server '${server}': ${flags.join(" ")} dropped from its stored arguments ` +
          `(its Deno permissions come from the agent's manifest)`,
      });
    const start = serverStarter(options, plan, sandbox, deno, dropped);
    // Servers writing in the write roots spend the run's write budget, as programs do.
    const limitsNow = plan.limits?.limits ?? DEFAULT_LIMITS;
    const meter = plan.limits?.enforce && startable.some((e) => !e.url)
      ? meterFor(plan, limitsNow)
      : null;
    await meter?.start();
    const { served, connections } = await connectPinned(startable, start, home, warn, emit);
    report(served);
    const writes = meter
      ? { meter, message: breachMessage("limit_bytes_written", limitsNow) }
      : null;
    return new McpToolset(served, connections, options.manifest.agent_id, writes);
  }

  /** The tools to declare to the agent. */
  specs(): ToolSpecWire[] {
    return [...this.served].map(([name, { server, declaration }]) => ({
      name,
      description: `[MCP server ${server}] ${declaration.description}`.slice(0, 4000),
      args_schema: declaration.input_schema,
      risk_level: isReadOnly(declaration) ? "low" : "medium",
      side_effects: !isReadOnly(declaration),
    }));
  }

  /** The start message with these tools added (the host's own tools first). */
  extend(start: StartMessage): StartMessage {
    const known = new Set(start.tools.map((t) => t.name));
    const added = this.specs().filter((t) => !known.has(t.name));
    return added.length ? { ...start, tools: [...start.tools, ...added] } : start;
  }

  /** The host policy for an MCP tool: granted and served, object args, approval unless read-only. */
  check(tool: string, args: Record<string, unknown>): PolicyVerdict {
    const served = this.served.get(tool);
    if (!served) return { allowed: false, reason: `${tool} is not an MCP tool of this agent` };
    if (!args || typeof args !== "object" || Array.isArray(args)) {
      return { allowed: false, reason: "the arguments must be a JSON object" };
    }
    if (isReadOnly(served.declaration)) return { allowed: true, args };
    return {
      allowed: true,
      args,
      needsApproval: {
        provider: `mcp:${served.server}`,
        endpoint: tool,
        reason: `agent ${this.agentId} calls ${served.declaration.name} of MCP server ` +
          `${served.server}, which is not declared read-only`,
      },
    };
  }

  /** Whether a call may change something (anything not annotated read-only may). */
  sideEffects(tool: string): boolean {
    const served = this.served.get(tool);
    return !served || !isReadOnly(served.declaration);
  }

  /** Runs an allowed call on its server. */
  async call(
    tool: string,
    args: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<HostToolOutcome> {
    const served = this.served.get(tool);
    if (!served) return { ok: false, result: {}, error: `${tool} is not served`, ms: 0 };
    if (this.breach) return { ok: false, result: {}, error: this.breach, ms: 0 };
    const outcome = await served.connection.call(served.declaration.name, args, signal);
    if (served.local && this.writes && await this.writes.meter.over()) {
      // Past the budget: this call fails and the servers stop, so nothing writes on.
      await this.overBudget();
      return { ...outcome, ok: false, error: this.breach };
    }
    return outcome;
  }

  /** Stops every server. */
  async close(): Promise<void> {
    this.stopWatch();
    await Promise.all(this.connections.map((c) => c.close()));
  }
}

/** Whether a tool name is an MCP tool's (decided by the toolset, whatever the server). */
export function isMcpTool(tool: string): boolean {
  return parseMcpToolName(tool) !== null;
}

/**
 * How this attempt starts a server: a stdio one in `sandbox` under the
 * manifest's program limits (prlimit, and a pids cgroup where this machine
 * has one), an HTTP one under the manifest's network_hosts and egress budget.
 */
function serverStarter(
  options: RunCapsuleOptions,
  plan: LaunchPlan,
  sandbox: ProgramSandboxInput | undefined,
  deno: DenoServerInput | undefined,
  dropped: (server: string) => (flags: string[]) => void,
): (entry: McpServerEntry) => Promise<McpConnection> {
  const lp = plan.limits;
  const limits = lp?.enforce ? mcpLimitPrefix(lp.limits, lp.prlimitPath) : [];
  // Outside a fresh user namespace RLIMIT_NPROC would count every process of the user.
  const denoLimits = lp?.enforce ? mcpLimitPrefix(lp.limits, lp.prlimitPath, false) : [];
  const pids = lp?.enforce && lp.pidsCgroupBase
    ? {
      base: lp.pidsCgroupBase,
      processes: lp.limits.processes,
      memoryBytes: lp.limits.memory_mb * MIB,
    }
    : undefined;
  const reach = {
    networkHosts: options.manifest.permissions.network_hosts,
    resolver: options.resolver,
    byteLimit: effectiveLimits(options.manifest).egress_mb * MIB,
  };
  return async (entry) => {
    if (entry.url) return await connectMcpHttpServer(entry, reach);
    if (sandbox) {
      // A Deno server sees the host's Deno cache, read-only (mcp_deno.ts).
      const run = isDenoServer(entry)
        ? withDenoCache(entry, sandbox, await hostDenoDir())
        : { entry, sandbox };
      return await connectMcpServer(run.entry, run.sandbox, limits, pids);
    }
    if (deno && isDenoServer(entry)) {
      return await connectDenoMcpServer(entry, deno, denoLimits, pids, dropped(entry.name));
    }
    throw new Error("no sandbox for a stdio server");
  };
}

/**
 * The sandbox MCP servers run in: the capsule's program sandbox when it has
 * one (with its egress proxy), otherwise one planned the same way for this
 * manifest here (its roots and secrets; no network), with that plan
 * (`hostPlan`). No sandbox without bubblewrap.
 */
async function mcpSandbox(
  options: RunCapsuleOptions,
  plan: LaunchPlan,
): Promise<{ sandbox?: ProgramSandboxInput; hostPlan?: LaunchPlan }> {
  if (plan.programSandbox) return { sandbox: plan.programSandbox };
  const { manifest, settings } = options;
  const withPrograms = { ...manifest, tools_allowlist: [...manifest.tools_allowlist, "terminal"] };
  const planned = await planLaunch(settings, withPrograms as typeof manifest, {
    workspace: options.workspace ?? settings.workspace,
    allowedRoots: options.allowedRoots,
    osSandbox: options.osSandbox,
    resolver: options.resolver,
  });
  return { sandbox: planned.programSandbox, hostPlan: planned };
}

/**
 * What a Deno-run server's permissions are made of, where bubblewrap does not
 * work: the roots and denied paths of the manifest's launch plan on this
 * host (deno-only, so its cwd is the real workspace), the manifest's
 * network_hosts, the product's code read-only.
 */
async function denoServerInput(
  options: RunCapsuleOptions,
  plan: LaunchPlan,
): Promise<DenoServerInput> {
  const p = plan.permissions;
  return {
    workspace: plan.cwd,
    readRoots: [...p.readRoots, ...p.sqlPaths],
    writeRoots: p.fileWrite ? p.writeRoots : [],
    deniedPaths: plan.deniedPaths,
    readOnlyDirs: [(await machineFacts()).productRoot],
    networkHosts: options.manifest.permissions.network_hosts,
    denoDir: await hostDenoDir(),
  };
}
