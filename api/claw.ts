/**
 * `createClaw`: one object that owns the settings, the registry store and
 * everything a library user starts from it (runs, dashboards), and closes
 * them together.
 */
import { z } from "zod";
import { ClosedClawError } from "../core/errors.ts";
import { ensureDataDirs, type EnvName, loadSettings, type Settings } from "../core/settings.ts";
import type { CapsuleInput } from "../capsule_runtime/factory.ts";
import { registerCapsule } from "../capsule_runtime/register.ts";
import { CapsuleShelf } from "../capsule_runtime/capsule_shelf.ts";
import { unknownServers } from "../capsule_runtime/mcp_catalogue.ts";
import type { Manifest } from "../capsule_runtime/manifest.ts";
import { startRun } from "../coordinator/coordinator.ts";
import type { RunHandle, RunOptions } from "../coordinator/types.ts";
import { type AgentRow, openStore, type RunRow } from "../store/mod.ts";
import { releaseSearch, sharedSearch } from "../store/search_cache.ts";
import { coordinatorForWeb } from "../web/coordinator_adapter.ts";
import type { WebDeps } from "../web/deps.ts";
import { startWebServer, type WebServer } from "../web/server.ts";
import { type RunStream, streamRun } from "./run_stream.ts";
import { type ClawWebApp, type ClawWebAppOptions, mountableWebApp } from "./web_mount.ts";

/** Options of {@link createClaw}. */
export interface ClawOptions {
  /** Folder that `.env` and relative paths are resolved against; default: the current folder. */
  cwd?: string;
  /** The data folder (`CLOSED_CLAW_HOME`); default `<cwd>/.closed_claw`. */
  home?: string;
  /** Variables to read instead of the process environment. */
  env?: Record<string, string | undefined>;
  /** The `.env` file to read; `false` reads none; default `<cwd>/.env`. */
  envFile?: string | false;
  /** Settings by variable name that win over the environment and `.env`. */
  settings?: Partial<Record<EnvName, string>>;
}

/** Options of `claw.run()` and `claw.stream()`: every run option but the task. */
export type ClawRunOptions = Omit<RunOptions, "task">;

/** A capsule to register; its embedding is computed from the description. */
export type RegisterCapsuleInput = Omit<CapsuleInput, "embedding_model" | "embedding_vector">;

/** Options of `claw.serveWeb()`. */
export interface ServeWebOptions {
  /** Address to bind; default `127.0.0.1`. */
  hostname?: string;
  /** Port; default 7860, 0 picks a free one (read it from the result). */
  port?: number;
  /** Access token; default: a fresh random one. */
  token?: string;
  /** Stops the server when aborted. */
  signal?: AbortSignal;
}

/** A Closed Claw instance: see {@link createClaw}. */
export interface Claw extends AsyncDisposable {
  /** The settings in use (replaced when the dashboard's settings editor saves). */
  readonly settings: Settings;
  /** Starts a task in the background; `await handle.done` for its outcome. */
  run(task: string, options?: ClawRunOptions): RunHandle;
  /** Starts a task and streams its run-log events (`for await`). */
  stream(task: string, options?: ClawRunOptions): RunStream;
  /** Creates a capsule and registers it so routing can reuse it; returns its manifest. */
  registerCapsule(input: RegisterCapsuleInput): Promise<Manifest>;
  /** Registered agents, most used first (default at most 200). */
  agents(limit?: number): AgentRow[];
  /** Runs, newest first (default at most 50). */
  runs(limit?: number): RunRow[];
  /**
   * The dashboard as a fetch handler for your own server, optionally under a
   * prefix (`basePath`); see {@link ClawWebApp} for the one way to mount it.
   */
  webApp(options: ClawWebAppOptions): ClawWebApp;
  /** Serves the dashboard on its own port. */
  serveWeb(options?: ServeWebOptions): WebServer;
  /** Cancels its running tasks, stops its dashboards and closes the store. */
  close(): Promise<void>;
}

/**
 * Opens Closed Claw: loads the settings (environment, `.env`, then
 * `options.settings`), creates the data folder and opens its registry.
 * Release it with `await claw.close()` or `await using`.
 *
 * @example
 * ```ts
 * import { createClaw } from "../mod.ts";
 *
 * await using claw = createClaw({ home: "/tmp/claw-demo" });
 * const outcome = await claw.run("How many .ts files are in this folder?").done;
 * console.log(outcome.status, outcome.result);
 * ```
 */
export function createClaw(options: ClawOptions = {}): Claw {
  const load = () =>
    loadSettings({
      cwd: options.cwd,
      env: options.env,
      envFile: options.envFile,
      overrides: options.home === undefined
        ? options.settings
        : { ...options.settings, CLOSED_CLAW_HOME: options.home },
    });
  const settings = load();
  ensureDataDirs(settings);
  const deps: WebDeps = {
    settings,
    store: openStore(settings.dbPath),
    coordinator: null,
    reloadSettings: () => {
      deps.settings = load();
    },
    // A claw lives across runs: an agent's next run may start on the capsule its last one left.
    capsuleShelf: new CapsuleShelf({ max: settings.maxParallelAgents }),
  };
  deps.coordinator = coordinatorForWeb(deps);
  const active = new Set<RunHandle>();
  const webApps = new Set<ClawWebApp>();
  const servers = new Set<WebServer>();
  let closed = false;

  const assertOpen = () => {
    if (closed) {
      throw new ClosedClawError("claw_closed", "This claw is closed.", {
        hint: "Create a new one with createClaw().",
      });
    }
  };
  const track = (handle: RunHandle): RunHandle => {
    active.add(handle);
    handle.done.finally(() => active.delete(handle)).catch(() => {});
    return handle;
  };
  const run = (task: string, runOptions: ClawRunOptions = {}): RunHandle => {
    assertOpen();
    const start = { settings: deps.settings, store: deps.store, capsuleShelf: deps.capsuleShelf };
    return track(startRun(start, { ...runOptions, task }));
  };

  const claw: Claw = {
    get settings() {
      return deps.settings;
    },
    run,
    stream: (task, runOptions = {}) =>
      streamRun((onEvent) =>
        run(task, {
          ...runOptions,
          onEvent: (event) => {
            onEvent(event);
            runOptions.onEvent?.(event);
          },
        })
      ),
    async registerCapsule(input) {
      assertOpen();
      // Only servers the user put in the MCP catalogue can be granted.
      const unknown = unknownServers(deps.settings.homeDir, input.permissions?.mcp_servers ?? []);
      if (unknown.length) {
        throw new ClosedClawError(
          "capsule_invalid",
          `The capsule names MCP servers that are not in the catalogue: ${unknown.join(", ")}.`,
          { hint: "Add them with `closed-claw mcp add` first, or drop them from mcp_servers." },
        );
      }
      // Shared with the runs: the model loads once; its fallback warning is theirs to log.
      const { embedder, index } = await sharedSearch(deps.settings, deps.store.db);
      const registry = { agentsDir: deps.settings.agentsDir, store: deps.store, embedder, index };
      const manifest = await validCapsule(() => registerCapsule(registry, input));
      return manifest;
    },
    agents(limit = 200) {
      assertOpen();
      return deps.store.agents.list(limit);
    },
    runs(limit = 50) {
      assertOpen();
      return deps.store.runs.list({ limit });
    },
    webApp(webOptions) {
      assertOpen();
      const web = mountableWebApp(deps, webOptions);
      webApps.add(web);
      return web;
    },
    serveWeb(serveOptions = {}) {
      assertOpen();
      const server = startWebServer(deps, serveOptions);
      servers.add(server);
      server.finished.finally(() => servers.delete(server)).catch(() => {});
      return server;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const handle of active) handle.cancel("the claw is closing");
      await Promise.allSettled([...active].map((handle) => handle.done));
      for (const web of webApps) web.close();
      await Promise.allSettled([...servers].map((server) => server.shutdown()));
      deps.capsuleShelf?.close("the claw closed");
      await releaseSearch(deps.store.db);
      deps.store.close();
    },
    [Symbol.asyncDispose]: () => claw.close(),
  };
  return claw;
}

/** `createCapsule` with a bad input reported as one readable line, not a zod dump. */
/** Runs `create`, turning a manifest validation failure into one clear error. */
async function validCapsule(create: () => Promise<Manifest>): Promise<Manifest> {
  try {
    return await create();
  } catch (error) {
    if (error instanceof z.ZodError) {
      throw new ClosedClawError(
        "capsule_invalid",
        `The capsule is not valid: ${z.prettifyError(error).replace(/\s*\n\s*/g, " ")}`,
        { hint: "Fix the fields named above and register it again." },
      );
    }
    throw error;
  }
}
