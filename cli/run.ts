/**
 * `run "<task>"`, `resume <run_id>` and `cancel-run <run_id>`: start or
 * continue a run with a live view, answer interactive approvals on the
 * terminal, stop cleanly on Ctrl-C, SIGTERM and SIGHUP, and exit 0 (ok),
 * 1 (failed), 130 (cancelled), 143 (SIGTERM) or 129 (SIGHUP).
 */
import { resolve } from "node:path";
import { ClosedClawError, UsageError } from "../core/errors.ts";
import { APPROVAL_MODES, type ApprovalMode } from "../core/settings.ts";
import { resolveLlm } from "../llm/detect.ts";
import { requestCancel, resumeRun, startRun } from "../coordinator/mod.ts";
import type { StartDeps } from "../coordinator/coordinator.ts";
import type { Command, CommandContext, OptionHelp } from "./command.ts";
import { LLM_OPTIONS, llmOverrides } from "./llm_options.ts";
import { printJson, printLine, yellow } from "./output.ts";
import { resolveRunId } from "./resolve_id.ts";
import { hereCommand } from "./invocation.ts";
import { follow, present, terminalAsk, writeOut } from "./run_follow.ts";
import { refreshInterruptedRuns } from "../coordinator/cancel.ts";
import { parseContextJson } from "./context_json.ts";

export { parseContextJson };

const MODE_HELP = `(${APPROVAL_MODES.join(", ")})`;

const VIEW_OPTIONS: Record<string, OptionHelp> = {
  json: { type: "boolean", description: "Print only the final JSON object (no live view)." },
};

function stringOption(ctx: CommandContext, name: string): string | undefined {
  const value = ctx.options[name];
  return typeof value === "string" ? value : undefined;
}

function modeOption(ctx: CommandContext, name: string): ApprovalMode | undefined {
  const value = stringOption(ctx, name);
  if (value === undefined) return undefined;
  if (!(APPROVAL_MODES as readonly string[]).includes(value)) {
    throw new UsageError(`--${name} must be one of ${APPROVAL_MODES.join(", ")}, not "${value}".`);
  }
  return value as ApprovalMode;
}

function costOption(ctx: CommandContext): number | undefined {
  const value = stringOption(ctx, "max-cost-usd");
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    throw new UsageError(`--max-cost-usd must be a number ≥ 0, not "${value}".`);
  }
  return n;
}

async function llmDeps(
  ctx: CommandContext,
  provider: string | undefined,
  model: string | undefined,
  replay: string | undefined,
): Promise<StartDeps> {
  const settings = ctx.settings();
  const store = ctx.store();
  if (replay) return { settings, store };
  const { config, notice } = await resolveLlm(settings, { provider, model });
  if (notice && ctx.options.json !== true) writeOut(`${yellow("note:")} ${notice}\n`);
  return { settings, store, llmConfig: config };
}

const NATS_RUN_OPTION: Record<string, OptionHelp> = {
  nats: {
    type: "string",
    value: "url",
    description: "Run the capsules on workers through this NATS server (CLOSED_CLAW_NATS_URL).",
  },
};

/** `--nats` in place of CLOSED_CLAW_NATS_URL. */
function withNatsFlag(ctx: CommandContext, deps: StartDeps): StartDeps {
  const natsUrl = stringOption(ctx, "nats");
  return natsUrl ? { ...deps, settings: { ...deps.settings, natsUrl } } : deps;
}

export const runCommand: Command = {
  name: "run",
  summary: "Run a task: plan it, route subtasks to agent capsules, and synthesize the answer.",
  args: '"<task>"',
  positionals: { min: 1, max: 1 },
  options: {
    "session-id": { type: "string", value: "id", description: "Session id (default: random)." },
    "context-json": {
      type: "string",
      value: "json|file",
      description: "Extra context: a JSON object, inline or in a file.",
    },
    "create-approval-mode": {
      type: "string",
      value: "mode",
      description:
        `How a new or reused agent with programs, writes, network or paid APIs is approved ${MODE_HELP}.`,
    },
    "api-approval-mode": {
      type: "string",
      value: "mode",
      description:
        `How paid-API calls and private data bound for networked agents are approved ${MODE_HELP}.`,
    },
    ...LLM_OPTIONS,
    record: {
      type: "boolean",
      description: "Record the model replies to <data>/cassettes/<run_id>.json.",
    },
    replay: {
      type: "string",
      value: "cassette",
      description: "Answer model calls from a recorded cassette (no key needed).",
    },
    "max-cost-usd": {
      type: "string",
      value: "usd",
      description: "Stop the run when its model calls cost more than this.",
    },
    workspace: { type: "string", value: "dir", description: "Folder the agents work in." },
    ...NATS_RUN_OPTION,
    ...VIEW_OPTIONS,
  },
  details: [
    "Examples:",
    '  closed-claw run "Summarise README.md in three bullet points"',
    '  closed-claw run "Count TODOs in src" --workspace ./myproject --create-approval-mode approve',
    "",
    "Ctrl-C cancels the run (its capsules are stopped at once); `closed-claw resume <run_id>` continues it.",
    "SIGTERM and SIGHUP stop it the same way and leave it interrupted, ready to resume.",
    "Exit code: 0 on success, 1 on failure, 130 when cancelled, 143 on SIGTERM, 129 on SIGHUP.",
  ].join("\n"),
  async run(ctx) {
    const settings = ctx.settings();
    const { provider, model } = llmOverrides(ctx);
    const replayOption = stringOption(ctx, "replay");
    const replay = replayOption ? resolve(settings.cwd, replayOption) : undefined;
    const workspaceOption = stringOption(ctx, "workspace");
    // Bad flags are reported before the model is resolved (a missing key, an Ollama probe).
    const options = {
      task: ctx.positionals[0],
      sessionId: stringOption(ctx, "session-id"),
      context: parseContextJson(stringOption(ctx, "context-json"), settings.cwd),
      createApprovalMode: modeOption(ctx, "create-approval-mode"),
      apiApprovalMode: modeOption(ctx, "api-approval-mode"),
      llmProvider: provider,
      llmModel: model,
      record: ctx.options.record === true,
      replay,
      maxCostUsd: costOption(ctx),
      workspace: workspaceOption ? resolve(settings.cwd, workspaceOption) : undefined,
    };
    const show = present(ctx);
    const deps = withNatsFlag(ctx, await llmDeps(ctx, provider, model, replay));
    refreshInterruptedRuns(deps.store);
    const handle = startRun(deps, {
      ...options,
      onEvent: (e) => show.view?.onEvent(e),
      ask: Deno.stdin.isTerminal() ? terminalAsk(show.view) : undefined,
    });
    if (!show.json) {
      writeOut(
        hereCommand(
          `Run started: ${handle.runId}\nCancel with Ctrl-C or \`closed-claw cancel-run ${handle.runId}\`.\n`,
        ),
      );
    }
    return follow(deps.store, settings, handle, show);
  },
};

export const resumeCommand: Command = {
  name: "resume",
  summary: "Continue an interrupted, cancelled or failed run without redoing completed subtasks.",
  args: "<run_id>",
  positionals: { min: 1, max: 1 },
  options: {
    "max-cost-usd": {
      type: "string",
      value: "usd",
      description:
        "New budget for the whole run, spend before the resume included (default: the run's own).",
    },
    ...LLM_OPTIONS,
    ...NATS_RUN_OPTION,
    ...VIEW_OPTIONS,
  },
  details: [
    "<run_id> may be a unique prefix of the id, or `last` for the newest run.",
    "Example, after a run stopped with budget_exceeded:",
    "  closed-claw resume last --max-cost-usd 2",
    "Without --llm-provider/--llm-model the run continues with the model it started with.",
  ].join("\n"),
  async run(ctx) {
    const maxCostUsd = costOption(ctx);
    const flags = llmOverrides(ctx);
    const settings = ctx.settings();
    const store = ctx.store();
    const runId = resolveRunId(store, ctx.positionals[0]);
    refreshInterruptedRuns(store);
    const row = store.runs.get(runId);
    if (!row) {
      throw new ClosedClawError("run_not_found", `No run with id ${runId}.`, {
        hint: "List runs with `closed-claw runs`.",
      });
    }
    const stored = row.options as { llmProvider?: string; llmModel?: string; replay?: string };
    const show = present(ctx);
    // Another provider starts from its own default model unless one is given too.
    const provider = flags.provider ?? stored.llmProvider;
    const model = flags.model ?? (flags.provider ? undefined : stored.llmModel);
    const deps = withNatsFlag(
      ctx,
      await llmDeps(ctx, provider, model, flags.provider ? undefined : stored.replay),
    );
    const handle = resumeRun(deps, runId, {
      maxCostUsd,
      onEvent: (e) => show.view?.onEvent(e),
      ask: Deno.stdin.isTerminal() ? terminalAsk(show.view) : undefined,
    });
    if (!show.json) writeOut(`Resuming run ${runId}\n`);
    return follow(store, settings, handle, show);
  },
};

export const cancelRunCommand: Command = {
  name: "cancel-run",
  summary: "Stop a running run (from any terminal); its capsules are stopped at once.",
  args: "<run_id>",
  positionals: { min: 1, max: 1 },
  options: {
    json: { type: "boolean", description: "Print the result as JSON." },
  },
  details: "<run_id> may be a unique prefix of the id, or `last` for the newest run.",
  run(ctx) {
    const store = ctx.store();
    const runId = resolveRunId(store, ctx.positionals[0]);
    refreshInterruptedRuns(store);
    const requested = requestCancel({ store }, runId);
    const status = store.runs.get(runId)?.status;
    if (ctx.options.json) printJson({ cancel_requested: requested, run_id: runId, status });
    else printLine(cancelLine(runId, requested, status));
    return Promise.resolve(requested ? 0 : 1);
  },
};

/** What `cancel-run` did, in one line. */
export function cancelLine(runId: string, requested: boolean, status: string | undefined): string {
  if (requested && status === "cancelled") return `Cancelled run ${runId}.`;
  if (requested) return `Asked run ${runId} to stop; its capsules are being stopped.`;
  const how = status === "ok" ? "finished successfully" : `already ended (${status ?? "unknown"})`;
  return hereCommand(
    `Run ${runId} ${how}; there is nothing to cancel.${
      status === "ok" ? "" : ` Continue it with \`closed-claw resume ${runId}\`.`
    }`,
  );
}
