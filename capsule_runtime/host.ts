/**
 * `runCapsule`: starts a capsule, answers its model calls and tool requests
 * through the caller's hooks, and turns everything it does into typed events.
 * The capsule never holds a key; every crash, hang, flood or malformed line
 * ends as a typed result, never as an exception in the host.
 */
import { join } from "node:path";
import type { Settings } from "../core/settings.ts";
import { HashEmbedder } from "../store/hash_embedder.ts";
import { type MemoryEntry, MemoryStore } from "../store/memory.ts";
import { hasSideEffects, toolRegistryForAllowlist } from "../tools/catalog.ts";
import { checkToolCall, type PaidApiApproval } from "../tools/host_check.ts";
import { checkUrl, type Resolver } from "../guest/policy/ssrf.ts";
import type { ToolName } from "./manifest.ts";
import type { Manifest } from "./manifest.ts";
import { capsuleDir, readSkill } from "./factory.ts";
import {
  buildLaunchPlan,
  EXEC_TOOLS,
  type LaunchPlan,
  NETWORK_TOOLS,
  resolvePermissions,
} from "./launcher.ts";
import { confineRoots, findEscapingSymlinks, SYMLINK_SCAN_LIMIT } from "./symlink_scan.ts";
import { machineFacts, warmGuestCache } from "./machine.ts";
import { composeSystemPrompt, STEP_JSON_SCHEMA } from "./prompt.ts";
import { loadSkillsForPrompt } from "./skills.ts";
import { PROTOCOL_VERSION } from "./protocol.ts";
import type { ChatMessageWire, FinalMessage, StartMessage } from "../guest/protocol_types.ts";
import { CapsuleProcess } from "./supervisor.ts";

export interface ModelReply {
  text: string;
  usage: { input_tokens: number; output_tokens: number };
}

export interface ToolDecision {
  allowed: boolean;
  args: Record<string, unknown>;
  reason: string;
}

/** A paid-API call waiting for approval (see `CapsuleHooks.approve`). */
export interface ApprovalRequest extends PaidApiApproval {
  agent_id: string;
  tool: string;
  /** The validated args the capsule will run with if approved. */
  args: Record<string, unknown>;
  /** Aborted when the run is cancelled or times out: stop waiting and deny. */
  signal: AbortSignal;
}

/** The answer to an `ApprovalRequest`. */
export interface ApprovalAnswer {
  approved: boolean;
  /** Why, in one line (e.g. "approved_via_web", "timed_out_default_deny"). */
  note: string;
}

/**
 * What the caller (the coordinator) provides. Every tool call first passes the
 * host policy (`checkToolCall`: allowlist, schema, path/SSRF/SQL policy); a
 * call to a host in CLOSED_CLAW_PAID_API_PROVIDERS then goes to `approve`;
 * then `decideTool`, when given, has the last word. Only after all three does
 * the host answer the capsule's `tool_decision`.
 */
export interface CapsuleHooks {
  /** Answers one model call for the capsule; the host holds the keys. */
  complete(request: {
    messages: ChatMessageWire[];
    schema?: { name: string; json_schema: Record<string, unknown> };
    signal: AbortSignal;
  }): Promise<ModelReply>;
  /**
   * Optional extra decision on a call the host policy (and approval) already
   * allowed; `args` are the validated, alias-normalised args. Returning
   * `allowed: false` refuses the call with `reason`; the returned `args` are
   * what the capsule runs with. A throw refuses the call.
   */
  decideTool?(call: {
    tool: string;
    args: Record<string, unknown>;
    reason: string;
    signal: AbortSignal;
    /**
     * Set for a paid-API call when there is no `approve` hook: decideTool
     * must then get it approved itself (prefer giving `approve`).
     */
    paidApi?: PaidApiApproval;
  }): Promise<ToolDecision>;
  /**
   * Approves or denies a call to a paid API host (http_api or web_fetch to a
   * host in CLOSED_CLAW_PAID_API_PROVIDERS) before the capsule may make it.
   * Without this hook such calls go to `decideTool` with `paidApi` set, or
   * are denied when there is no decideTool either. A throw counts as a denial.
   *
   * @example
   * ```ts
   * approve: async (req) => ({ approved: await askUser(`${req.endpoint}?`), note: "asked" })
   * ```
   */
  approve?(request: ApprovalRequest): Promise<ApprovalAnswer>;
}

export type CapsuleEvent =
  | {
    type: "started";
    pid: number;
    sandbox: LaunchPlan["sandbox"];
    spawn_ms: number;
    deno_flags: string[];
    refused_tools: LaunchPlan["refusedTools"];
    attempt: number;
  }
  | {
    type: "model_call";
    id: string;
    ok: boolean;
    ms: number;
    error?: string;
    usage?: ModelReply["usage"];
  }
  | {
    type: "tool_requested";
    id: string;
    tool: string;
    args: Record<string, unknown>;
    reason: string;
  }
  | {
    type: "tool_decided";
    id: string;
    tool: string;
    allowed: boolean;
    reason: string;
    args: Record<string, unknown>;
    ms: number;
  }
  | {
    type: "tool_done";
    id: string;
    tool: string;
    ok: boolean;
    error: string;
    ms: number;
    result: Record<string, unknown>;
  }
  | {
    type: "approval";
    id: string;
    tool: string;
    provider: string;
    endpoint: string;
    approved: boolean;
    note: string;
    ms: number;
  }
  | { type: "log"; level: string; msg: string }
  | { type: "protocol_error"; error: string; preview: string }
  | { type: "final"; status: string; result: string }
  | { type: "error"; code: string; message: string };

export interface RunCapsuleOptions {
  settings: Settings;
  manifest: Manifest;
  task: string;
  hooks: CapsuleHooks;
  context?: Record<string, unknown>;
  /** Default: settings.workspace. */
  workspace?: string;
  /** Roots the run may touch; default: the workspace plus CLOSED_CLAW_EXTRA_ALLOWED_PATHS. */
  allowedRoots?: string[];
  /** Default: composed from soul.md, skills, skill.md and memories. */
  systemPrompt?: string;
  sessionId?: string;
  runId?: string;
  signal?: AbortSignal;
  onEvent?: (event: CapsuleEvent) => void;
  /** Default: CLOSED_CLAW_AGENT_TIMEOUT_SEC. */
  timeoutMs?: number;
  /** Default: CLOSED_CLAW_AGENT_MAX_STEPS. */
  maxSteps?: number;
  /**
   * DNS resolver for the host's SSRF check and the launch-time resolution of
   * network_hosts for Deno's --allow-net (tests; the guest always resolves itself).
   */
  resolver?: Resolver;
  /**
   * Tests only: run this guest script instead of guest/main.ts,
   * with exactly the same flags, sandbox and environment (hostile-capsule tests).
   */
  guestEntry?: string;
  /** false: run with Deno permissions only, even where bubblewrap works. Default true. */
  osSandbox?: boolean;
}

export interface CapsuleResult {
  status: "ok" | "error" | "cancelled";
  result: string;
  error_code?: string;
  error_message?: string;
  artifacts: string[];
  memory_updates: FinalMessage["memory_updates"];
  latency_ms: number;
  spawn_ms: number;
  tool_calls: number;
  /** A tool with side effects was allowed to run, so the attempt must not be silently repeated. */
  side_effects: boolean;
  attempts: number;
  sandbox: LaunchPlan["sandbox"];
  stderr_tail: string;
  /** Protection weaker than the manifest asked for (LaunchPlan.warnings), also sent as `log` events. */
  warnings: string[];
}

/** Malformed lines tolerated before a capsule is stopped as broken. */
const MAX_PROTOCOL_ERRORS = 20;
const READY_TIMEOUT_MS = 15_000;
const embedder = new HashEmbedder();

/** Where and how a capsule is launched; every field has a default from the settings. */
export interface PlanOptions {
  workspace?: string;
  allowedRoots?: string[];
  /** Replaces the guest script (hostile-capsule tests); flags and sandbox stay the same. */
  guestEntry?: string;
  /** false: Deno permissions only, even where bubblewrap works (tests, comparisons). */
  osSandbox?: boolean;
  /** Resolves the manifest's network_hosts for Deno's --allow-net (tests inject one). */
  resolver?: Resolver;
  /** Entries the symlink scan walks before it stops (tests use a small one). */
  symlinkScanLimit?: number;
}

/** How long launch-time resolution of one network host may take. */
const HOST_RESOLVE_TIMEOUT_MS = 5_000;

/**
 * Resolves each exact network host once, at launch, through the same SSRF
 * check the tools use (so only public addresses come back). A host that does
 * not resolve stays unreachable for this capsule; that is a warning, not an error.
 */
async function resolveNetworkHosts(
  hosts: readonly string[],
  resolver: Resolver | undefined,
): Promise<{ addresses: string[]; warnings: string[] }> {
  // With a `*.` pattern Deno cannot be limited to addresses (launcher.ts), so nothing to resolve.
  const names = hosts.map((h) => h.trim());
  if (names.some((h) => h.startsWith("*."))) return { addresses: [], warnings: [] };
  const checks = await Promise.all(
    names.map((host) =>
      checkUrl(`http://${host}/`, resolver, { dnsTimeoutMs: HOST_RESOLVE_TIMEOUT_MS })
    ),
  );
  const addresses: string[] = [];
  const warnings: string[] = [];
  checks.forEach((check, i) => {
    if (check.ok) addresses.push(...check.addresses.map((a) => a.address));
    else {
      const why = `${check.error}; this capsule cannot reach it`;
      warnings.push(`network host '${names[i]}' could not be resolved at launch (${why})`);
    }
  });
  return { addresses, warnings };
}

/** Builds the launch plan for a capsule on this machine. */
export async function planLaunch(
  settings: Settings,
  manifest: Manifest,
  options: PlanOptions = {},
): Promise<LaunchPlan> {
  const facts = await machineFacts();
  const workspace = options.workspace ?? settings.workspace;
  const allowedRoots = options.allowedRoots ?? [workspace, ...settings.extraAllowedPaths];
  const guestEntry = options.guestEntry;
  const logical = resolvePermissions(manifest, workspace, allowedRoots);
  const permissions = {
    ...logical,
    readRoots: confineRoots(logical.readRoots, allowedRoots),
    writeRoots: confineRoots(logical.writeRoots, allowedRoots),
    sqlPaths: confineRoots(logical.sqlPaths, allowedRoots),
  };
  const dir = capsuleDir(settings.agentsDir, manifest.agent_id);
  const denoDir = join(settings.homeDir, "deno_cache");
  const listNames = (path: string) => {
    try {
      return [...Deno.readDirSync(path)].map((e) => join(path, e.name));
    } catch {
      return [];
    }
  };
  const home = Deno.env.get("HOME") ?? "";
  const secretPaths = [
    ...(settings.envFile ? [settings.envFile] : []),
    join(workspace, ".env"),
    settings.dbPath,
    `${settings.dbPath}-wal`,
    `${settings.dbPath}-shm`,
    ...(home ? [join(home, ".ssh"), join(home, ".aws"), join(home, ".config")] : []),
  ];
  const execTool = manifest.tools_allowlist.some((t) => EXEC_TOOLS.includes(t));
  const scannedRoots = [
    ...permissions.readRoots,
    ...permissions.writeRoots,
    ...permissions.sqlPaths,
    ...(execTool ? [workspace] : []),
  ];
  const scanLimit = options.symlinkScanLimit ?? SYMLINK_SCAN_LIMIT;
  const symlinks = findEscapingSymlinks(
    scannedRoots,
    [settings.homeDir, ...secretPaths],
    scanLimit,
  );
  const networkGranted = manifest.tools_allowlist.some((t) => NETWORK_TOOLS.includes(t));
  const resolved = networkGranted && permissions.networkHosts.length
    ? await resolveNetworkHosts(permissions.networkHosts, options.resolver)
    : { addresses: [], warnings: [] };
  const plan = buildLaunchPlan({
    manifest,
    permissions,
    escapingSymlinks: symlinks.escaping,
    incompleteSymlinkScan: symlinks.truncated ? { limit: scanLimit } : undefined,
    networkAddresses: resolved.addresses,
    capsuleDir: dir,
    otherCapsuleDirs: listNames(settings.agentsDir).filter((p) => p !== dir),
    dataDirEntries: listNames(settings.homeDir).filter((p) =>
      p !== settings.agentsDir && p !== denoDir
    ),
    homeDir: settings.homeDir,
    agentsDir: settings.agentsDir,
    secretPaths,
    existingSecrets: secretPaths.flatMap((path) => {
      try {
        return [{ path, isDir: Deno.statSync(path).isDirectory }];
      } catch {
        return [];
      }
    }),
    workspace,
    denoPath: facts.denoPath,
    guestEntry: guestEntry ?? facts.guestEntry,
    guestSources: guestEntry ? [...facts.guestSources, guestEntry] : facts.guestSources,
    denoDir,
    bwrapPath: options.osSandbox === false ? "" : facts.bwrapPath,
    systemPaths: facts.systemPaths,
    etcPaths: facts.etcPaths,
    allowUnsandboxedExec: settings.allowUnsandboxedExec,
  });
  plan.warnings.push(...resolved.warnings);
  return plan;
}

function readSoul(settings: Settings): string {
  try {
    return Deno.readTextFileSync(settings.soulMdPath);
  } catch {
    return "";
  }
}

/** Recent and relevant memories, without duplicates. */
function recall(memory: MemoryStore, task: string): MemoryEntry[] {
  const relevant = memory.relevant(embedder.embedSync(task), 3);
  const seen = new Set(relevant.map((m) => m.id));
  return [...relevant, ...memory.recent(3).filter((m) => !seen.has(m.id))];
}

/** Runs a capsule to its final answer (with retries that never repeat side effects). */
export async function runCapsule(options: RunCapsuleOptions): Promise<CapsuleResult> {
  const { settings, manifest } = options;
  const workspace = options.workspace ?? settings.workspace;
  const plan = await planLaunch(settings, manifest, {
    workspace,
    allowedRoots: options.allowedRoots,
    guestEntry: options.guestEntry,
    osSandbox: options.osSandbox,
    resolver: options.resolver,
  });
  try {
    await warmGuestCache(join(settings.homeDir, "deno_cache"), options.guestEntry);
  } catch (error) {
    return {
      latency_ms: 0,
      spawn_ms: 0,
      tool_calls: 0,
      side_effects: false,
      attempts: 0,
      sandbox: plan.sandbox,
      stderr_tail: "",
      warnings: plan.warnings,
      ...emptyOutcome("error", { code: "capsule_spawn_failed", message: errorText(error) }),
    };
  }
  const dir = capsuleDir(settings.agentsDir, manifest.agent_id);
  const memory = MemoryStore.open(join(dir, "memory.db"));
  try {
    const tools = toolRegistryForAllowlist(plan.tools);
    const systemPrompt = options.systemPrompt ?? composeSystemPrompt({
      soul: readSoul(settings),
      skills: loadSkillsForPrompt(manifest.skill_ids),
      skillMd: readSkill(settings.agentsDir, manifest.agent_id),
      memories: recall(memory, options.task),
      tools,
      workspace,
    });
    const { permissions } = plan;
    const start: StartMessage = {
      v: PROTOCOL_VERSION,
      type: "start",
      task: options.task,
      context: options.context ?? {},
      system_prompt: systemPrompt,
      tools,
      tool_context: {
        workspace,
        read_roots: permissions.readRoots,
        write_roots: permissions.writeRoots,
        file_write: permissions.fileWrite,
        sql_paths: permissions.sqlPaths,
        network_hosts: permissions.networkHosts,
        paid_hosts: settings.paidApiProviders,
      },
      limits: {
        max_steps: options.maxSteps ?? settings.agentMaxSteps,
        max_tool_calls: settings.maxToolCallsPerAgent,
        max_consecutive_errors: 4,
        max_observation_chars: 6000,
      },
      step_schema: STEP_JSON_SCHEMA,
    };
    let result: CapsuleResult | null = null;
    const maxAttempts = settings.agentRetries + 1;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      result = await runOnce(options, plan, start, attempt);
      const retryable = result.status === "error" &&
        ["capsule_crashed", "capsule_protocol_error", "capsule_not_ready"].includes(
          result.error_code ?? "",
        );
      if (!retryable || attempt === maxAttempts) break;
      if (result.side_effects) {
        result.error_message += " (not retried: a tool with side effects had already run)";
        break;
      }
    }
    if (result!.status !== "cancelled") {
      for (const update of result!.memory_updates.slice(0, 5)) {
        memory.add({
          content: update.content.slice(0, 4000),
          kind: update.kind || "episodic",
          sessionId: options.sessionId ?? null,
          runId: options.runId ?? null,
          embedding: embedder.embedSync(update.content),
        });
      }
    }
    return result!;
  } finally {
    memory.close();
  }
}

async function runOnce(
  options: RunCapsuleOptions,
  plan: LaunchPlan,
  start: StartMessage,
  attempt: number,
): Promise<CapsuleResult> {
  const { settings, hooks } = options;
  const emit = (event: CapsuleEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // A broken listener must not break the capsule.
    }
  };
  const began = performance.now();
  const abort = new AbortController();
  const toolNames = new Map<string, string>();
  let toolCalls = 0;
  let sideEffects = false;
  let protocolErrors = 0;
  let final: FinalMessage | null = null;
  let failure: { code: string; message: string } | null = null;
  const fail = (code: string, message: string) => {
    failure ??= { code, message };
    emit({ type: "error", code, message });
  };

  let proc: CapsuleProcess;
  try {
    proc = CapsuleProcess.spawn(plan, (line) => emit({ type: "log", level: "stderr", msg: line }));
  } catch (error) {
    return resultOf("error", {
      code: "capsule_spawn_failed",
      message: `Could not start the capsule: ${(error as Error).message}`,
    });
  }
  const stop = (code: string, message: string) => {
    fail(code, message);
    abort.abort(message);
    proc.kill(message);
  };
  const timeoutMs = options.timeoutMs ?? settings.agentTimeoutSec * 1000;
  const timer = setTimeout(
    () =>
      stop(
        "capsule_timeout",
        `The capsule did not finish within ${Math.round(timeoutMs / 1000)} s and was stopped.`,
      ),
    timeoutMs,
  );
  const readyTimer = setTimeout(
    () => stop("capsule_not_ready", "The capsule did not start within 15 s."),
    READY_TIMEOUT_MS,
  );
  const onCancel = () => {
    proc.send({ v: PROTOCOL_VERSION, type: "cancel", reason: "cancelled by user" });
    stop("cancelled", "Cancelled by user.");
  };
  if (options.signal?.aborted) onCancel();
  options.signal?.addEventListener("abort", onCancel, { once: true });
  let spawnMs = 0;
  const { permissions } = plan;
  const toolContext = {
    workspace: start.tool_context.workspace,
    readRoots: permissions.readRoots,
    writeRoots: permissions.writeRoots,
    fileWrite: permissions.fileWrite,
    sqlPaths: permissions.sqlPaths,
    networkHosts: permissions.networkHosts,
    denyPaths: plan.deniedPaths,
  };
  const refuse = (reason: string): ToolDecision => ({ allowed: false, args: {}, reason });

  /** Host policy, then paid-API approval, then the caller's own decision. */
  async function decideToolCall(
    msg: { id: string; tool: string; args: Record<string, unknown>; reason: string },
  ): Promise<ToolDecision> {
    const checked = await checkToolCall(msg.tool, msg.args, {
      allowlist: plan.tools,
      ctx: toolContext,
      resolver: options.resolver,
      paidApiProviders: settings.paidApiProviders,
    });
    if (!checked.allowed) return refuse(checked.reason);
    // Without an `approve` hook, a caller's own decideTool is trusted to approve paid calls.
    const delegated = checked.needsApproval && !hooks.approve && hooks.decideTool;
    if (checked.needsApproval && !delegated) {
      const t0 = performance.now();
      let answer: ApprovalAnswer;
      try {
        answer = hooks.approve
          ? await hooks.approve({
            ...checked.needsApproval,
            agent_id: options.manifest.agent_id,
            tool: msg.tool,
            args: checked.args,
            signal: abort.signal,
          })
          : { approved: false, note: "no approver is configured for paid API calls" };
      } catch (error) {
        answer = { approved: false, note: `approval failed: ${errorText(error)}` };
      }
      emit({
        type: "approval",
        id: msg.id,
        tool: msg.tool,
        provider: checked.needsApproval.provider,
        endpoint: checked.needsApproval.endpoint,
        approved: answer.approved,
        note: answer.note,
        ms: round(performance.now() - t0),
      });
      if (!answer.approved) {
        return refuse(
          `paid API call to ${checked.needsApproval.endpoint} was not approved (${answer.note})`,
        );
      }
    }
    if (!hooks.decideTool) return { allowed: true, args: checked.args, reason: "allowed" };
    try {
      return await hooks.decideTool({
        tool: msg.tool,
        args: checked.args,
        reason: msg.reason,
        signal: abort.signal,
        paidApi: delegated ? checked.needsApproval : undefined,
      });
    } catch (error) {
      return refuse(`the host could not decide: ${errorText(error)}`);
    }
  }

  try {
    for await (const item of proc.lines(settings.maxLineBytes)) {
      if (!item.ok) {
        emit({ type: "protocol_error", error: item.error, preview: item.preview });
        if (++protocolErrors > MAX_PROTOCOL_ERRORS || "tooLong" in item) {
          stop("capsule_protocol_error", `The capsule broke the protocol: ${item.error}.`);
        }
        continue;
      }
      const msg = item.message;
      switch (msg.type) {
        case "ready": {
          clearTimeout(readyTimer);
          spawnMs = performance.now() - began;
          emit({
            type: "started",
            pid: proc.pid,
            sandbox: plan.sandbox,
            spawn_ms: round(spawnMs),
            deno_flags: plan.denoFlags,
            refused_tools: plan.refusedTools,
            attempt,
          });
          for (const warning of plan.warnings) emit({ type: "log", level: "warn", msg: warning });
          await proc.send(start);
          break;
        }
        case "llm_request": {
          const t0 = performance.now();
          try {
            const reply = await hooks.complete({
              messages: msg.messages,
              schema: msg.schema,
              signal: abort.signal,
            });
            emit({
              type: "model_call",
              id: msg.id,
              ok: true,
              ms: round(performance.now() - t0),
              usage: reply.usage,
            });
            await proc.send({
              v: PROTOCOL_VERSION,
              type: "llm_result",
              id: msg.id,
              ok: true,
              message: reply.text,
              usage: reply.usage,
            });
          } catch (error) {
            const text = errorText(error);
            emit({
              type: "model_call",
              id: msg.id,
              ok: false,
              ms: round(performance.now() - t0),
              error: text,
            });
            await proc.send({
              v: PROTOCOL_VERSION,
              type: "llm_result",
              id: msg.id,
              ok: false,
              error: text,
            });
          }
          break;
        }
        case "tool_request": {
          toolCalls++;
          toolNames.set(msg.id, msg.tool);
          emit({
            type: "tool_requested",
            id: msg.id,
            tool: msg.tool,
            args: msg.args,
            reason: msg.reason,
          });
          const t0 = performance.now();
          const decision: ToolDecision = toolCalls > settings.maxToolCallsPerAgent
            ? {
              allowed: false,
              args: {},
              reason: `tool call limit of ${settings.maxToolCallsPerAgent} reached`,
            }
            : await decideToolCall(msg);
          if (decision.allowed && hasSideEffects(msg.tool as ToolName, decision.args)) {
            sideEffects = true;
          }
          emit({
            type: "tool_decided",
            id: msg.id,
            tool: msg.tool,
            allowed: decision.allowed,
            reason: decision.reason,
            args: decision.args,
            ms: round(performance.now() - t0),
          });
          await proc.send({ v: PROTOCOL_VERSION, type: "tool_decision", id: msg.id, ...decision });
          if (toolCalls > settings.maxToolCallsPerAgent + 2) {
            stop(
              "capsule_tool_limit",
              `The capsule kept calling tools past its limit of ${settings.maxToolCallsPerAgent}.`,
            );
          }
          break;
        }
        case "tool_done":
          emit({
            type: "tool_done",
            id: msg.id,
            tool: toolNames.get(msg.id) ?? "?",
            ok: msg.ok,
            error: msg.error,
            ms: msg.ms,
            result: msg.result,
          });
          break;
        case "log":
          emit({ type: "log", level: msg.level, msg: msg.msg.slice(0, 2000) });
          break;
        case "final":
          final = msg;
          emit({ type: "final", status: msg.status, result: msg.result.slice(0, 2000) });
          break;
      }
      if (final) break;
    }
    if (final) await proc.finish();
    else {
      const status = await proc.status;
      if (!failure) {
        fail(
          "capsule_crashed",
          `The capsule exited (code ${status.code}${
            status.signal ? `, ${status.signal}` : ""
          }) without a final answer.${lastLine(proc.stderrTail())}`,
        );
      }
    }
  } catch (error) {
    proc.kill("host error");
    fail("capsule_host_error", errorText(error));
  } finally {
    clearTimeout(timer);
    clearTimeout(readyTimer);
    options.signal?.removeEventListener("abort", onCancel);
  }
  await proc.status.catch(() => {});

  if (final && !failure) {
    const f = final as FinalMessage;
    return {
      ...base(),
      status: f.status,
      result: f.result,
      error_code: f.error_code,
      error_message: f.error_message,
      artifacts: f.artifacts,
      memory_updates: f.memory_updates,
    };
  }
  const failed = failure as { code: string; message: string } | null;
  return resultOf(failed?.code === "cancelled" ? "cancelled" : "error", failed!);

  function base() {
    return {
      latency_ms: round(performance.now() - began),
      spawn_ms: round(spawnMs),
      tool_calls: toolCalls,
      side_effects: sideEffects,
      attempts: attempt,
      sandbox: plan.sandbox,
      stderr_tail: proc?.stderrTail() ?? "",
      warnings: plan.warnings,
    };
  }
  function resultOf(
    status: CapsuleResult["status"],
    f: { code: string; message: string },
  ): CapsuleResult {
    return { ...base(), ...emptyOutcome(status, f) };
  }
}

/** The answer fields of a run that produced no answer. */
function emptyOutcome(status: CapsuleResult["status"], f: { code: string; message: string }) {
  return {
    status,
    result: "",
    error_code: f.code,
    error_message: f.message,
    artifacts: [],
    memory_updates: [],
  };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function errorText(error: unknown): string {
  if (
    error && typeof error === "object" && "toLine" in error && typeof error.toLine === "function"
  ) {
    const code = "code" in error ? `${String(error.code)}: ` : "";
    return code + String(error.toLine());
  }
  return error instanceof Error ? error.message : String(error);
}

function lastLine(stderr: string): string {
  const line = stderr.trim().split("\n").pop()?.trim();
  return line ? ` Last stderr line: ${line.slice(0, 300)}` : "";
}
