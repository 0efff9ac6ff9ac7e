/**
 * What the MCP server drives: the settings, the registry store, and the
 * coordinator's `startRun`/`resumeRun` (the same calls `claw.run()` and the
 * dashboard make). The CLI and the dashboard each build one with their hooks.
 */
import { ClosedClawError } from "../core/errors.ts";
import type { Settings } from "../core/settings.ts";
import { resumeRun, type StartDeps, startRun } from "../coordinator/coordinator.ts";
import type { ProviderConfig } from "../llm/provider_config.ts";
import type { ResumeOptions, RunHandle, RunOptions } from "../coordinator/types.ts";
import type { Store } from "../store/mod.ts";
import type { CapsuleShelf } from "../capsule_runtime/capsule_shelf.ts";

/** The operations the MCP tools call. */
export interface McpBackend {
  /** The settings in use now (the dashboard replaces them when its editor saves). */
  settings(): Settings;
  /** The registry. */
  store(): Store;
  /** Starts a run in the background. */
  startRun(options: RunOptions): Promise<RunHandle>;
  /** Continues a stopped run in the background. */
  resumeRun(runId: string, options: ResumeOptions): Promise<RunHandle>;
  /** Called after an approval is decided or a cancel requested (the dashboard wakes its feed). */
  changed?(runId?: string): void;
}

/** Options of {@link coordinatorBackend}. */
export interface CoordinatorBackendOptions {
  /**
   * The provider configuration of a run (the CLI's Ollama fallback); default:
   * the coordinator's own from the settings.
   */
  llmConfig?(overrides: { provider?: string; model?: string }): Promise<ProviderConfig | undefined>;
  /** Sees every run this backend starts or resumes (to track it, or to stop it at shutdown). */
  onRun?(handle: RunHandle): void;
  /** Sees every run-log event of those runs. */
  onEvent?(runId: string): void;
  /** Refuses to start runs (a dashboard built without a coordinator). */
  readOnly?: boolean;
  changed?(runId?: string): void;
}

/**
 * A backend over a settings/store pair and the coordinator.
 *
 * @example
 * ```ts
 * const backend = coordinatorBackend(() => ({ settings, store }));
 * const handle = await backend.startRun({ task: "List the files" });
 * console.log((await handle.done).status);
 * ```
 */
export function coordinatorBackend(
  /** With a shelf, an agent's next run may start on the capsule its last one left. */
  core: () => { settings: Settings; store: Store; capsuleShelf?: CapsuleShelf },
  options: CoordinatorBackendOptions = {},
): McpBackend {
  const refuse = () => {
    if (options.readOnly) {
      throw new ClosedClawError(
        "coordinator_unavailable",
        "This server cannot start or resume runs (it has no coordinator).",
      );
    }
  };
  const deps = async (overrides: { provider?: string; model?: string }): Promise<StartDeps> => ({
    ...core(),
    llmConfig: await options.llmConfig?.(overrides),
  });
  const tracked = (handle: RunHandle) => {
    options.onRun?.(handle);
    return handle;
  };
  const watch = <T extends { onEvent?: RunOptions["onEvent"] }>(value: T, runId: () => string) => ({
    ...value,
    onEvent: (event: Parameters<NonNullable<RunOptions["onEvent"]>>[0]) => {
      value.onEvent?.(event);
      const id = runId();
      if (id) options.onEvent?.(id);
    },
  });
  return {
    settings: () => core().settings,
    store: () => core().store,
    async startRun(runOptions) {
      refuse();
      const started = { runId: "" };
      const start = await deps({ provider: runOptions.llmProvider, model: runOptions.llmModel });
      const handle = startRun(start, watch(runOptions, () => started.runId));
      started.runId = handle.runId;
      return tracked(handle);
    },
    async resumeRun(runId, resumeOptions) {
      refuse();
      const stored = (core().store.runs.get(runId)?.options ?? {}) as {
        llmProvider?: string;
        llmModel?: string;
        replay?: string;
      };
      // A replayed run needs no key; any other continues with the model it started with.
      const start = stored.replay
        ? core()
        : await deps({ provider: stored.llmProvider, model: stored.llmModel });
      return tracked(resumeRun(start, runId, watch(resumeOptions, () => runId)));
    },
    changed: options.changed,
  };
}
