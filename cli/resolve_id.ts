/**
 * The one place the CLI turns what a user typed for a run or an agent into an
 * id: the full id, a unique prefix of it, or `last` (the newest run; the most
 * recently used or created agent). An ambiguous prefix is one line listing the
 * candidates; an unknown one says how to list them. Every command taking a run
 * or agent id (resume, cancel-run, runlog, audit --run-id, agent, delete-agent,
 * tools --agent-id, agents merge) resolves it here.
 */
import { ClosedClawError } from "../core/errors.ts";
import { assertAgentId, assertRunId } from "../core/ids.ts";
import type { Store } from "../store/mod.ts";
import { type IdCandidate, LookupRepo } from "../store/lookup_repo.ts";

type Kind = "run" | "agent";

const WORDS: Record<Kind, { list: string; last: string }> = {
  run: { list: "closed-claw runs", last: "newest run" },
  agent: { list: "closed-claw agents", last: "most recently used agent" },
};

function lookup(store: Store, kind: Kind, typed: string): IdCandidate[] {
  const repo = new LookupRepo(store.db);
  return kind === "run" ? repo.runIdsWithPrefix(typed, 6) : repo.agentIdsWithPrefix(typed, 6);
}

function resolve(store: Store, kind: Kind, typed: string): string {
  const text = typed.trim();
  const repo = new LookupRepo(store.db);
  if (text === "last") {
    const id = kind === "run" ? repo.newestRunId() : repo.lastAgentId();
    if (id) return id;
    throw new ClosedClawError(
      `${kind}_not_found`,
      `There is no ${kind} yet, so no "last" ${kind}.`,
      {
        hint: kind === "run"
          ? 'Start one with `closed-claw run "your task"`.'
          : 'Agents are created when you run a task: `closed-claw run "your task"`.',
      },
    );
  }
  if (kind === "run") assertRunId(text);
  else assertAgentId(text);
  const found = lookup(store, kind, text);
  const exact = found.find((c) => c.id === text);
  if (exact) return exact.id;
  if (found.length === 1) return found[0].id;
  if (found.length === 0) {
    throw new ClosedClawError(`${kind}_not_found`, `No ${kind} with an id starting "${text}".`, {
      hint: `List them with \`${WORDS[kind].list}\`, or use \`last\` for the ${WORDS[kind].last}.`,
    });
  }
  const shown = found.slice(0, 5).map((c) => c.id).join(", ");
  throw new ClosedClawError(
    `${kind}_id_ambiguous`,
    `"${text}" matches ${found.length > 5 ? "more than 5" : found.length} ${kind}s: ${shown}${
      found.length > 5 ? ", …" : ""
    }.`,
    { hint: "Type more of the id.", exitCode: 2 },
  );
}

/**
 * The run id `typed` stands for: itself, the one run whose id starts with it,
 * or the newest run for `last`. Throws a one-line error otherwise.
 *
 * @example
 * ```ts
 * import { openStore } from "../store/mod.ts";
 * const store = openStore("/tmp/claw/registry.db");
 * try {
 *   console.log(resolveRunId(store, "last"));
 * } catch (error) {
 *   console.log((error as Error).message);
 * }
 * store.close();
 * ```
 */
export function resolveRunId(store: Store, typed: string): string {
  return resolve(store, "run", typed);
}

/** The agent id `typed` stands for (full id, unique prefix or `last`); see {@link resolveRunId}. */
export function resolveAgentId(store: Store, typed: string): string {
  return resolve(store, "agent", typed);
}

/**
 * Like {@link resolveAgentId}, but an id that matches no agent comes back as
 * typed, for commands that report "not found" in their own shape (`--json`).
 */
export function resolveAgentIdOrTyped(store: Store, typed: string): string {
  try {
    return resolveAgentId(store, typed);
  } catch (error) {
    const unknown = error instanceof ClosedClawError && error.code === "agent_not_found";
    if (unknown && typed.trim() !== "last") return typed;
    throw error;
  }
}

/** The newest runs, for "pick from recent" lists. */
export function recentRuns(store: Store, limit = 9): IdCandidate[] {
  return new LookupRepo(store.db).recentRuns(limit);
}

/** The most recently used or created agents, for "pick from recent" lists. */
export function recentAgents(store: Store, limit = 9): IdCandidate[] {
  return new LookupRepo(store.db).recentAgents(limit);
}

export type { IdCandidate };
