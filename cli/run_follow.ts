/**
 * Following a run on the terminal: the live view or JSON, approvals asked on
 * the terminal, Ctrl-C (cancel; twice quits), SIGTERM and SIGHUP (the run is
 * left interrupted, ready to resume), then the summary and the exit code.
 */
import { changedSince, fingerprints } from "../core/trust.ts";
import { soulCandidates } from "../core/soul.ts";
import type { Settings } from "../core/settings.ts";
import type { Store } from "../store/mod.ts";
import type { AskApproval, RunHandle, RunOutcome, RunState } from "../coordinator/mod.ts";
import { runLogPath } from "../coordinator/run_log.ts";
import { whileUnowned } from "../coordinator/run_owner.ts";
import type { CommandContext } from "./command.ts";
import { LiveView } from "./live_view.ts";
import { printJson, printWarning, yellow } from "./output.ts";
import { readStdinLine } from "./prompt.ts";
import { hereCommand } from "./invocation.ts";
import { finalJson, printSummary } from "./run_summary.ts";

const encoder = new TextEncoder();
/** Writes to stdout as is (no newline added). */
export const writeOut = (text: string): number => Deno.stdout.writeSync(encoder.encode(text));
// Questions go to stderr: they reach the user even when stdout is JSON or a pipe.
const writePrompt = (text: string) => Deno.stderr.writeSync(encoder.encode(text));

/** "21:40:12" of an ISO time, on the user's clock. */
function clockTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toTimeString().slice(0, 8);
}

/**
 * Asks approvals on the terminal, one at a time, without losing a line typed
 * after a timeout. The live table stays on screen: the question (its
 * sentence, the exact grant and what each answer does) is printed below it.
 */
export function terminalAsk(view: LiveView | null): AskApproval {
  let pendingLine: Promise<string | null> | null = null;
  let queue: Promise<unknown> = Promise.resolve();
  const askOnce: AskApproval = async (question) => {
    if (question.signal.aborted) return null;
    view?.pause();
    const [sentence, ...details] = question.text.split("\n");
    const until = question.deadline ? ` (until ${clockTime(question.deadline)})` : "";
    const always = question.always ? ", 'always' to approve it from now on (a stored rule)," : "";
    writePrompt(
      `\n${yellow("Approval needed")} (${question.kind}): ${sentence}\n` +
        details.map((line) => `  ${line}\n`).join("") +
        `Type 'yes' to approve${always} within ${question.timeoutSec} s${until}. Anything else denies: `,
    );
    pendingLine ??= readStdinLine();
    const line = pendingLine;
    const aborted = new Promise<"aborted">((resolve) =>
      question.signal.addEventListener("abort", () => resolve("aborted"), { once: true })
    );
    const answer = await Promise.race([line, aborted]);
    if (answer !== "aborted") pendingLine = null;
    else writePrompt("\n(decided elsewhere or timed out)\n");
    view?.resume();
    if (answer === "aborted" || answer === null) return null;
    const word = answer.trim().toLowerCase();
    if (word === "always" && question.always) return "always";
    return word === "yes";
  };
  return (question) => {
    const next = queue.then(() => askOnce(question));
    queue = next.catch(() => {});
    return next;
  };
}

/** How a run is shown: JSON only, or a live view. */
export interface Presentation {
  json: boolean;
  view: LiveView | null;
}

/** The live view (plain lines when stdout is no terminal), or none with `--json`. */
export function present(ctx: CommandContext): Presentation {
  const json = ctx.options.json === true;
  return { json, view: json ? null : new LiveView(Deno.stdout.isTerminal(), writeOut) };
}

/** Runs a handle to its end with Ctrl-C handling; returns the exit code. */
export async function follow(
  store: Store,
  settings: Settings,
  handle: RunHandle,
  show: Presentation,
): Promise<number> {
  const runLogsDir = settings.runLogsDir;
  const configFiles = fingerprints([settings.envFile, ...soulCandidates(settings)]);
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts++;
    if (interrupts > 1) Deno.exit(130);
    if (!show.json) writeOut(`\n${yellow("Cancelling…")} (press Ctrl-C again to quit at once)\n`);
    handle.cancel("interrupted by user (Ctrl-C)");
  };
  // SIGTERM (kill, systemd, docker stop) and SIGHUP (the terminal closed) stop the run the same
  // way: capsules stopped, state saved; the run is left `interrupted`, ready for `resume`.
  let stoppedBy: StopSignal | null = null;
  const onStop = (signal: StopSignal) => () => {
    if (stoppedBy) Deno.exit(SIGNAL_EXIT[stoppedBy]);
    stoppedBy = signal;
    handle.cancel(`stopped by ${signal}`);
  };
  const listeners = STOP_SIGNALS.map((signal) => [signal, onStop(signal)] as const);
  Deno.addSignalListener("SIGINT", onInterrupt);
  for (const [signal, listener] of listeners) Deno.addSignalListener(signal, listener);
  let outcome: RunOutcome;
  try {
    outcome = await handle.done;
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
    show.view?.close();
  }
  if (stoppedBy) return stoppedBySignal(store, outcome, stoppedBy, show);
  const state = store.runs.loadState<RunState>(outcome.runId);
  const logPath = runLogPath(runLogsDir, outcome.runId);
  if (show.json) printJson(finalJson(outcome, state, store, logPath));
  else printSummary(outcome, state, store, logPath);
  for (const path of changedSince(configFiles)) {
    printWarning(
      `This run created or changed ${path}; it is ignored until you review it and run \`closed-claw trust ${path}\`.`,
    );
  }
  return outcome.status === "ok" ? 0 : outcome.status === "cancelled" ? 130 : 1;
}

const STOP_SIGNALS = ["SIGTERM", "SIGHUP"] as const;
type StopSignal = typeof STOP_SIGNALS[number];
/** 128 + the signal's number, as shells report a process ended by it. */
const SIGNAL_EXIT: Record<StopSignal, number> = { SIGTERM: 143, SIGHUP: 129 };

/**
 * Records a run stopped by SIGTERM or SIGHUP as `interrupted` (unless it ended
 * anyway, or another process already took it over), says so, and returns 143 or 129.
 */
function stoppedBySignal(
  store: Store,
  outcome: RunOutcome,
  signal: StopSignal,
  show: Presentation,
): number {
  let status: string = outcome.status;
  try {
    whileUnowned(store, outcome.runId, () => {
      if (store.runs.get(outcome.runId)?.status !== "cancelled") return;
      store.runs.update(outcome.runId, {
        status: "interrupted",
        error_message: `interrupted: stopped by ${signal}`,
      });
      status = "interrupted";
    });
    // The terminal may be gone (SIGHUP): nothing printed is worth a different exit code.
    if (show.json) printJson({ run_id: outcome.runId, status, error: `stopped by ${signal}` });
    else {
      writeOut(
        `\n${yellow(`Run stopped by ${signal}.`)} ${
          hereCommand(`Continue it with: closed-claw resume ${outcome.runId}`)
        }\n`,
      );
    }
  } catch {
    // Nothing more to do: the run's state is saved, and `runs` shows it.
  }
  return outcome.status === "ok" ? 0 : SIGNAL_EXIT[signal];
}
