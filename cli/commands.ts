/**
 * The table of commands, light on purpose: `--help`, `--version` and a
 * mistyped name need only names and summaries, so each command's module (and
 * what it imports: the coordinator, provider SDKs, the web stack) is loaded
 * only when that command runs or shows its own help.
 * tests/unit/cli_commands_test.ts proves each summary matches its module's.
 */
import type { Command } from "./command.ts";
import { importLazily } from "./_lazy.ts";

type Setup = typeof import("./setup.ts");
type Init = typeof import("./init.ts");
type Doctor = typeof import("./doctor.ts");
type Trust = typeof import("./trust.ts");
type Run = typeof import("./run.ts");
type Agents = typeof import("./agents.ts");
type Runs = typeof import("./runs.ts");
type Backup = typeof import("./backup.ts");
type Tools = typeof import("./tools.ts");
type Web = typeof import("./web.ts");
type Approvals = typeof import("./approvals.ts");
type Mcp = typeof import("./mcp.ts");
type Worker = typeof import("./worker.ts");

/** The module `./<file>`, imported when first used (see _lazy.ts). */
function loadModule<T>(file: string): Promise<T> {
  return importLazily<T>(new URL(`./${file}`, import.meta.url));
}

/** A command as `--help` lists it; `load` imports its module. */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

/** Every command, in the order `--help` lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "setup",
    summary:
      "Choose the model provider, base URL, key and model; verify them live and save them to your user config.",
    load: async () => (await loadModule<Setup>("setup.ts")).setupCommand,
  },
  {
    name: "init",
    summary: "Create the data directory and registry database; register capsules found on disk.",
    load: async () => (await loadModule<Init>("init.ts")).initCommand,
  },
  {
    name: "doctor",
    summary: "Check Deno, the data dir, SQLite, embeddings, the sandbox and provider keys.",
    load: async () => (await loadModule<Doctor>("doctor.ts")).doctorCommand,
  },
  {
    name: "trust",
    summary:
      "Accept ./.env, ./soul.md or a data folder after reviewing them (until then they are not used).",
    load: async () => (await loadModule<Trust>("trust.ts")).trustCommand,
  },
  {
    name: "run",
    summary: "Run a task: plan it, route subtasks to agent capsules, and synthesize the answer.",
    load: async () => (await loadModule<Run>("run.ts")).runCommand,
  },
  {
    name: "resume",
    summary: "Continue an interrupted, cancelled or failed run without redoing completed subtasks.",
    load: async () => (await loadModule<Run>("run.ts")).resumeCommand,
  },
  {
    name: "cancel-run",
    summary: "Stop a running run (from any terminal); its capsules are stopped at once.",
    load: async () => (await loadModule<Run>("run.ts")).cancelRunCommand,
  },
  {
    name: "agents",
    summary: "List registered agents with their tools and success rates.",
    load: async () => (await loadModule<Agents>("agents.ts")).agentsCommand,
  },
  {
    name: "agent",
    summary: "Show one agent: manifest, tools, permissions, skill.md and memory.",
    load: async () => (await loadModule<Agents>("agents.ts")).agentCommand,
  },
  {
    name: "runs",
    summary: "List recent runs, newest first (interrupted runs are marked as such).",
    load: async () => (await loadModule<Runs>("runs.ts")).runsCommand,
  },
  {
    name: "audit",
    summary: "List audit events (tool calls, approvals, run summaries), newest first.",
    load: async () => (await loadModule<Runs>("runs.ts")).auditCommand,
  },
  {
    name: "runlog",
    summary: "Show the event log of a run.",
    load: async () => (await loadModule<Runs>("runs.ts")).runlogCommand,
  },
  {
    name: "approvals",
    summary:
      "List approval requests; `approvals rules` and `approvals revoke <rule_id>` manage 'always' rules.",
    load: async () => (await loadModule<Approvals>("approvals.ts")).approvalsCommand,
  },
  {
    name: "backup",
    summary: "Copy registry.db while it is in use (runs, agents, approvals, audit).",
    load: async () => (await loadModule<Backup>("backup.ts")).backupCommand,
  },
  {
    name: "tools",
    summary: "List the supported tools, or the tools one agent may use.",
    load: async () => (await loadModule<Tools>("tools.ts")).toolsCommand,
  },
  {
    name: "delete-agent",
    summary: "Delete one agent: its registry rows and its capsule folder.",
    load: async () => (await loadModule<Agents>("agents.ts")).deleteAgentCommand,
  },
  {
    name: "delete-all-agents",
    summary: "Delete every agent and capsule folder.",
    load: async () => (await loadModule<Agents>("agents.ts")).deleteAllAgentsCommand,
  },
  {
    name: "web",
    summary: "Serve the web dashboard (default http://127.0.0.1:7860).",
    load: async () => (await loadModule<Web>("web.ts")).webCommand,
  },
  {
    name: "mcp",
    summary:
      "Serve Closed Claw to MCP clients (`mcp serve`); `mcp add|list|remove|approve` manage MCP servers agents may use.",
    load: async () => (await loadModule<Mcp>("mcp.ts")).mcpCommand,
  },
  {
    name: "worker",
    summary: "Run capsules for coordinators on other machines, taking jobs from NATS JetStream.",
    load: async () => (await loadModule<Worker>("worker.ts")).workerCommand,
  },
  {
    name: "workers",
    summary: "List the live workers on NATS with their sandbox, load and roots.",
    load: async () => (await loadModule<Worker>("worker.ts")).workersCommand,
  },
];
