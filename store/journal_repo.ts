/**
 * The step journal: every model reply and every tool call (request, decision,
 * result) of a subtask's agent, written as it happens. Rows are keyed by run,
 * subtask, conversation and step; a conversation is one agent session that
 * resumes and retries continue until it is closed. Each stored text is capped
 * (`JOURNAL_MAX_ENTRY_CHARS`); a row whose text had to be cut is marked
 * `truncated` and its cut field reads back as `JOURNAL_CUT`.
 *
 * @example
 * ```ts
 * import { openStore } from "./mod.ts";
 *
 * const store = openStore(":memory:");
 * const journal = store.journal.conversation("run_1", "t1");
 * journal.recordModel(1, "sha256…", { text: "{}", usage: { input_tokens: 1, output_tokens: 1 } });
 * console.log(journal.steps().length); // 1
 * ```
 */
import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import { nowIso, transaction } from "./db.ts";

/** Largest text stored in one field of a journal row. */
export const JOURNAL_MAX_ENTRY_CHARS = 64 * 1024;
/** Largest start message stored (system prompt, task, context: one per conversation). */
const JOURNAL_MAX_START_CHARS = 512 * 1024;

export type JournalKind = "start" | "llm" | "tool" | "end";

/** One stored step, its JSON fields parsed (null when absent, `JOURNAL_CUT` when cut). */
export interface JournalEntry {
  step: number;
  kind: JournalKind;
  request_hash: string;
  request: unknown;
  decision: unknown;
  result: unknown;
  side_effects: boolean;
  truncated: boolean;
}

/** Which conversation rows belong to. */
export interface JournalKey {
  runId: string;
  taskId: string;
  conversation: number;
}

/** Completed side-effecting tool call of an earlier, closed conversation. */
export interface JournaledEffect {
  conversation: number;
  step: number;
  request: unknown;
}

type Capped = { text: string | null; cut: boolean };

function cap(value: unknown, max = JOURNAL_MAX_ENTRY_CHARS): Capped {
  if (value === undefined) return { text: null, cut: false };
  const text = JSON.stringify(value);
  return text.length <= max ? { text, cut: false } : { text: text.slice(0, max), cut: true };
}

/** A stored field that had to be cut: it was there, but cannot be read back whole. */
export const JOURNAL_CUT = Object.freeze({ journal_truncated: true });

function parsed(text: unknown): unknown {
  if (typeof text !== "string") return null;
  try {
    return JSON.parse(text);
  } catch {
    return JOURNAL_CUT;
  }
}

function shape(row: Record<string, unknown>): JournalEntry {
  return {
    step: Number(row.step),
    kind: String(row.kind) as JournalKind,
    request_hash: String(row.request_hash ?? ""),
    request: parsed(row.request_json),
    decision: parsed(row.decision_json),
    result: parsed(row.result_json),
    side_effects: row.side_effects === 1,
    truncated: row.truncated === 1,
  };
}

/** A start row's `request_hash`: the agent the conversation belongs to. */
const AGENT_TAG = "agent:";

const LIVE = "run_id = ? AND task_id = ? AND conversation = ? AND superseded = 0";

export class JournalRepo {
  constructor(private readonly db: DatabaseSync) {}

  /**
   * The subtask's latest conversation while it is open (no `end` row), else a
   * new one; `fresh` when it is new (no rows yet).
   */
  private openConversation(
    runId: string,
    taskId: string,
  ): { conversation: number; fresh: boolean } {
    const row = this.db.prepare(
      `SELECT conversation, SUM(kind = 'end' AND superseded = 0) AS ended FROM step_journal
       WHERE run_id = ? AND task_id = ? GROUP BY conversation ORDER BY conversation DESC LIMIT 1`,
    ).get(runId, taskId) as { conversation: number; ended: number } | undefined;
    if (!row) return { conversation: 1, fresh: true };
    return row.ended
      ? { conversation: row.conversation + 1, fresh: true }
      : { conversation: row.conversation, fresh: false };
  }

  /**
   * A journal bound to the subtask's open conversation (`openConversation` picks it).
   * `agentId` is recorded with a new conversation's start: only that agent continues it.
   */
  conversation(runId: string, taskId: string, agentId = ""): JournalConversation {
    const { conversation, fresh } = this.openConversation(runId, taskId);
    return new JournalConversation(this, { runId, taskId, conversation }, agentId, fresh);
  }

  /** Runs `writes` in one transaction (one commit for all of them). */
  together<T>(writes: () => T): T {
    return transaction(this.db, writes);
  }

  /** The conversation's rows in step order, superseded ones left out. */
  entries(key: JournalKey): JournalEntry[] {
    return this.db.prepare(`SELECT * FROM step_journal WHERE ${LIVE} ORDER BY step, id`)
      .all(key.runId, key.taskId, key.conversation).map(shape);
  }

  /** Adds a row. `start` rows may be larger (JOURNAL_MAX_START_CHARS). */
  append(
    key: JournalKey,
    step: number,
    kind: JournalKind,
    fields: { request_hash?: string; request?: unknown; decision?: unknown; result?: unknown },
  ): void {
    const request = cap(fields.request, kind === "start" ? JOURNAL_MAX_START_CHARS : undefined);
    const decision = cap(fields.decision);
    const result = cap(fields.result);
    const now = nowIso();
    this.db.prepare(
      `INSERT INTO step_journal (run_id, task_id, conversation, step, kind, request_hash,
         request_json, decision_json, result_json, truncated, created_at, updated_at)
       VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
    ).run(
      key.runId,
      key.taskId,
      key.conversation,
      step,
      kind,
      fields.request_hash ?? "",
      request.text,
      decision.text,
      result.text,
      request.cut || decision.cut || result.cut ? 1 : 0,
      now,
      now,
    );
  }

  /** Sets the decision (and whether the allowed call has side effects) of a tool step. */
  setDecision(key: JournalKey, step: number, decision: unknown, sideEffects: boolean): void {
    this.update(key, step, "decision_json", cap(decision), { side_effects: sideEffects ? 1 : 0 });
  }

  /** Sets the result of a tool step: from now on it counts as completed. */
  setResult(key: JournalKey, step: number, result: unknown): void {
    this.update(key, step, "result_json", cap(result));
  }

  /** Sets aside the rows from `step` on: the conversation took another path there. */
  supersede(key: JournalKey, fromStep: number): void {
    this.db.prepare(`UPDATE step_journal SET superseded = 1, updated_at = ? WHERE ${LIVE}
      AND step >= ?`).run(nowIso(), key.runId, key.taskId, key.conversation, fromStep);
  }

  /** Ends the conversation: the subtask's next attempt starts a new one. */
  close(key: JournalKey, reason: string): void {
    // Counted in SQL: reading the rows back would parse every step's JSON.
    const row = this.db.prepare(
      `SELECT COALESCE(MAX(step), 0) AS last, COALESCE(SUM(kind = 'end'), 0) AS ended
       FROM step_journal WHERE ${LIVE}`,
    ).get(key.runId, key.taskId, key.conversation) as { last: number; ended: number };
    if (Number(row.ended) > 0) return;
    const step = Math.max(0, Number(row.last)) + 1;
    this.append(key, step, "end", { request: { reason: reason.slice(0, 2000) } });
  }

  /** Completed side-effecting tool calls of the subtask's closed conversations. */
  completedEffects(runId: string, taskId: string, before: number): JournaledEffect[] {
    return this.db.prepare(
      `SELECT conversation, step, request_json FROM step_journal WHERE run_id = ? AND task_id = ?
       AND conversation < ? AND kind = 'tool' AND side_effects = 1 AND result_json IS NOT NULL
       AND superseded = 0 ORDER BY conversation, step`,
    ).all(runId, taskId, before).map((r) => ({
      conversation: Number(r.conversation),
      step: Number(r.step),
      request: parsed(r.request_json),
    }));
  }

  /** Every row of a run, superseded ones too (for inspection and tests). */
  listForRun(runId: string): (JournalEntry & JournalKey & { superseded: boolean })[] {
    return this.db.prepare(
      "SELECT * FROM step_journal WHERE run_id = ? ORDER BY task_id, conversation, step, id",
    ).all(runId).map((r) => ({
      ...shape(r),
      runId: String(r.run_id),
      taskId: String(r.task_id),
      conversation: Number(r.conversation),
      superseded: r.superseded === 1,
    }));
  }

  private update(
    key: JournalKey,
    step: number,
    column: "decision_json" | "result_json",
    value: Capped,
    extra: Record<string, SQLInputValue> = {},
  ): void {
    const sets = [`${column} = ?`, "truncated = MAX(truncated, ?)", "updated_at = ?"];
    const params: SQLInputValue[] = [value.text, value.cut ? 1 : 0, nowIso()];
    for (const [name, v] of Object.entries(extra)) (sets.push(`${name} = ?`), params.push(v));
    this.db.prepare(
      `UPDATE step_journal SET ${sets.join(", ")} WHERE ${LIVE} AND step = ? AND kind = 'tool'`,
    ).run(...params, key.runId, key.taskId, key.conversation, step);
  }
}

/**
 * One conversation's journal, in the shape the capsule host records and
 * replays through (`StepJournal` in capsule_runtime/step_journal.ts).
 */
export class JournalConversation {
  /**
   * What is known without reading the table: a new conversation has no rows,
   * and, while at most its start was written, no steps. Any other write (even
   * one that failed halfway) makes reads go to the table.
   */
  private known: "empty" | "started" | null;

  constructor(
    private readonly repo: JournalRepo,
    readonly key: JournalKey,
    readonly agentId = "",
    fresh = false,
  ) {
    this.known = fresh ? "empty" : null;
  }

  private entries(): JournalEntry[] {
    return this.known === "empty" ? [] : this.repo.entries(this.key);
  }

  /** The start message the conversation began with, or null for a new conversation. */
  start(): unknown {
    const row = this.entries().find((r) => r.kind === "start");
    return row && !row.truncated ? row.request : null;
  }

  /** The agent the conversation was started for ("" when new, or not recorded). */
  startedBy(): string {
    const row = this.entries().find((r) => r.kind === "start");
    return row?.request_hash.startsWith(AGENT_TAG) ? row.request_hash.slice(AGENT_TAG.length) : "";
  }

  /** Its model and tool steps in order. */
  steps(): JournalEntry[] {
    if (this.known !== null) return [];
    return this.entries().filter((r) => r.kind === "llm" || r.kind === "tool");
  }

  recordStart(start: unknown): void {
    const request_hash = this.agentId ? `${AGENT_TAG}${this.agentId}` : "";
    const known = this.known;
    this.known = null;
    this.repo.append(this.key, 0, "start", { request: start, request_hash });
    // Written whole: a new conversation now holds its start and no steps.
    if (known === "empty") this.known = "started";
  }

  recordModel(step: number, requestHash: string, reply: unknown): void {
    this.written(() =>
      this.repo.append(this.key, step, "llm", { request_hash: requestHash, result: reply })
    );
  }

  recordToolRequest(step: number, requestHash: string, request: unknown): void {
    this.written(() =>
      this.repo.append(this.key, step, "tool", { request_hash: requestHash, request })
    );
  }

  recordToolDecision(step: number, decision: unknown, sideEffects: boolean): void {
    this.written(() => this.repo.setDecision(this.key, step, decision, sideEffects));
  }

  recordToolResult(step: number, outcome: unknown): void {
    this.written(() => this.repo.setResult(this.key, step, outcome));
  }

  diverge(step: number): void {
    this.written(() => this.repo.supersede(this.key, step));
  }

  close(reason: string): void {
    this.written(() => this.repo.close(this.key, reason));
  }

  together<T>(writes: () => T): T {
    return this.repo.together(writes);
  }

  /** Runs a write; from then on (even if it failed halfway) reads go to the table. */
  private written(write: () => void): void {
    this.known = null;
    write();
  }
}
