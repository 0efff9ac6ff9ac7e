/**
 * Closed Claw as a library: a local multi-agent orchestrator. A coordinator
 * model splits a task into subtasks, routes each to a specialised agent
 * capsule (reused or created), runs every capsule as a sandboxed `deno run`
 * subprocess, and synthesizes the answer. Everything is recorded in the data
 * folder (`registry.db`, `runs/<run_id>.jsonl`, `agents/`).
 *
 * Start with {@link createClaw}; the provider and its key come from the
 * environment or `.env`, as for the CLI (`CLOSED_CLAW_LLM_PROVIDER`,
 * `OPENAI_API_KEY`, ...). The host needs `-A` (or read, write, net, env, run
 * and sys permissions) because capsules are subprocesses.
 *
 * @example Run a task and await its answer
 * ```ts
 * import { createClaw } from "./mod.ts";
 *
 * await using claw = createClaw({ home: "/tmp/claw-demo" });
 * const outcome = await claw.run("List the files in this folder").done;
 * console.log(outcome.status === "ok" ? outcome.result : outcome.error);
 * ```
 *
 * @example Stream a run's events
 * ```ts
 * import { createClaw } from "./mod.ts";
 *
 * await using claw = createClaw();
 * const run = claw.stream("Summarise README.md");
 * for await (const event of run) console.log(event.event);
 * console.log((await run.done).result);
 * ```
 *
 * @example Mount the dashboard on your own Hono app
 * ```ts
 * import { Hono } from "hono";
 * import { createClaw } from "./mod.ts";
 *
 * const claw = createClaw();
 * const dashboard = claw.webApp({ port: 8787, basePath: "/claw" });
 * const site = new Hono();
 * site.all("/claw/*", (c) => dashboard.fetch(c.req.raw)); // unchanged: no mount()
 * Deno.serve({ port: 8787 }, site.fetch);
 * console.log(`Open http://127.0.0.1:8787${dashboard.loginPath}`);
 * ```
 *
 * @module
 */
export {
  type Claw,
  type ClawOptions,
  type ClawRunOptions,
  createClaw,
  type RegisterCapsuleInput,
  type ServeWebOptions,
} from "./api/claw.ts";
export type { RunStream } from "./api/run_stream.ts";
export type { ClawWebApp, ClawWebAppOptions } from "./api/web_mount.ts";
export { VERSION } from "./api/version.ts";
export { ClosedClawError } from "./core/errors.ts";
export {
  AGENT_APPROVAL_SCOPES,
  APPROVAL_MODES,
  type ApprovalMode,
  type EnvName,
  type ProviderName,
  PROVIDERS,
  type RawSettings,
  type Settings,
  TOOL_CALLING_MODES,
  type ToolCallingMode,
} from "./core/settings.ts";
export type { CapsuleInput } from "./capsule_runtime/factory.ts";
export {
  type Limits,
  type Manifest,
  type Permissions,
  TOOL_NAMES,
  type ToolName,
} from "./capsule_runtime/manifest.ts";
export type {
  AskApproval,
  RunHandle,
  RunOptions,
  RunOutcome,
  RunUsage,
} from "./coordinator/types.ts";
export type { RunLogEvent } from "./coordinator/run_log.ts";
export type { AgentRow } from "./store/agents_repo.ts";
export type { AgentPermissions, AgentRecord } from "./store/agent_record.ts";
export { RUN_STATUSES, type RunRow, type RunStatus } from "./store/runs_repo.ts";
export type { WebServer } from "./web/server.ts";
