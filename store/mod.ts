/**
 * The registry database (`registry.db`) and its typed repositories.
 *
 * @example
 * ```ts
 * import { openStore } from "./mod.ts";
 *
 * const store = openStore("/tmp/claw/registry.db");
 * console.log(store.runs.list({ limit: 5 }));
 * store.close();
 * ```
 */
import type { DatabaseSync } from "node:sqlite";
import { openDatabase } from "./db.ts";
import { migrate } from "./migrations.ts";
import { AgentsRepo } from "./agents_repo.ts";
import { RunsRepo } from "./runs_repo.ts";
import { SubtasksRepo } from "./subtasks_repo.ts";
import { AuditRepo, LlmCallsRepo, ToolEventsRepo } from "./events_repos.ts";
import { ApprovalsRepo } from "./approvals_repo.ts";
import { ApprovalRulesRepo } from "./approval_rules_repo.ts";
import { BreakersRepo } from "./breakers_repo.ts";
import { JournalRepo } from "./journal_repo.ts";

export * from "./db.ts";
export * from "./migrations.ts";
export * from "./agent_record.ts";
export * from "./agents_repo.ts";
export * from "./runs_repo.ts";
export * from "./subtasks_repo.ts";
export * from "./events_repos.ts";
export * from "./approvals_repo.ts";
export * from "./approval_rules_repo.ts";
export * from "./breakers_repo.ts";
export * from "./journal_repo.ts";
export * from "./memory.ts";
export * from "./lookup_repo.ts";
export * from "./agent_hygiene_repo.ts";

export interface Store {
  readonly path: string;
  readonly db: DatabaseSync;
  readonly agents: AgentsRepo;
  readonly runs: RunsRepo;
  readonly subtasks: SubtasksRepo;
  readonly toolEvents: ToolEventsRepo;
  readonly llmCalls: LlmCallsRepo;
  readonly audit: AuditRepo;
  readonly approvals: ApprovalsRepo;
  /** "Always" answers: approvals given once for a role or an agent. */
  readonly approvalRules: ApprovalRulesRepo;
  readonly breakers: BreakersRepo;
  /** The step journal: model replies and tool calls, replayed by resume and retries. */
  readonly journal: JournalRepo;
  close(): void;
}

/** Opens `registry.db`, migrating it to the current schema first. */
export function openStore(path: string): Store {
  const db = openDatabase(path);
  migrate(db);
  return {
    path,
    db,
    agents: new AgentsRepo(db),
    runs: new RunsRepo(db),
    subtasks: new SubtasksRepo(db),
    toolEvents: new ToolEventsRepo(db),
    llmCalls: new LlmCallsRepo(db),
    audit: new AuditRepo(db),
    approvals: new ApprovalsRepo(db),
    approvalRules: new ApprovalRulesRepo(db),
    breakers: new BreakersRepo(db),
    journal: new JournalRepo(db),
    close: () => db.close(),
  };
}
