/**
 * The Runtime rows of the settings table (limits, timeouts, retries,
 * parallelism, capsules, workers), in the order docs/configuration.md and the
 * dashboard show them; setting_defs.ts puts them after the other groups.
 */
import { bool, num, R, text } from "./setting_kinds.ts";

export const RUNTIME_SETTING_DEFS = [
  num(
    "CLOSED_CLAW_AGENT_TIMEOUT_SEC",
    "agentTimeoutSec",
    120,
    { min: 1 },
    R(
      "Agent timeout (s)",
      "Time limit of one agent capsule run; the process group is killed after it.",
    ),
  ),
  num(
    "CLOSED_CLAW_AGENT_RETRIES",
    "agentRetries",
    2,
    { min: 0, max: 10, int: true },
    R("Agent retries", "Relaunches of a capsule that crashed; each replays the step journal."),
  ),
  bool(
    "CLOSED_CLAW_CAPSULE_REUSE",
    "capsuleReuse",
    true,
    R(
      "Start capsules early",
      "Start an agent's capsule early and keep it for its next subtask in the run (same plan, fresh state).",
    ),
  ),
  num(
    "CLOSED_CLAW_AGENT_MAX_STEPS",
    "agentMaxSteps",
    12,
    { min: 1, max: 100, int: true },
    R("Agent step budget", "Reasoning steps an agent may take before it must answer."),
  ),
  num(
    "CLOSED_CLAW_CIRCUIT_BREAKER_FAILURES",
    "circuitBreakerFailures",
    3,
    { min: 1, int: true },
    R("Breaker failures", "Consecutive failures of a provider before its circuit opens."),
  ),
  num(
    "CLOSED_CLAW_CIRCUIT_BREAKER_RESET_SEC",
    "circuitBreakerResetSec",
    120,
    { min: 1 },
    R("Breaker reset (s)", "Time before an open circuit lets one trial call through."),
  ),
  num(
    "CLOSED_CLAW_TASK_POOL_POLL_INTERVAL_SEC",
    "taskPoolPollIntervalSec",
    30,
    { min: 1 },
    R(
      "Pool idle check (s)",
      "Kept for compatibility: dependency cycles are found as soon as the plan is made, so this has no effect.",
    ),
  ),
  num(
    "CLOSED_CLAW_SUBTASK_MAX_ATTEMPTS",
    "subtaskMaxAttempts",
    2,
    { min: 1, max: 10, int: true },
    R("Subtask attempts", "Attempts per subtask; each retry sees the earlier failure."),
  ),
  num(
    "CLOSED_CLAW_MAX_TOOL_CALLS_PER_AGENT",
    "maxToolCallsPerAgent",
    50,
    { min: 1, int: true },
    R("Tool calls per agent", "Tool calls one agent run may make."),
  ),
  num(
    "CLOSED_CLAW_MAX_AGENTS_PER_RUN",
    "maxAgentsPerRun",
    10,
    { min: 1, int: true },
    R("Agents per run", "Agents one run may create or reuse, over all its phases."),
  ),
  num(
    "CLOSED_CLAW_MAX_SUBTASKS_PER_PHASE",
    "maxSubtasksPerPhase",
    4,
    { min: 1, max: 50, int: true },
    R("Subtasks per phase", "Plans are cut to this many subtasks per phase."),
  ),
  bool(
    "CLOSED_CLAW_SYNTHESIZE_SINGLE",
    "synthesizeSingle",
    false,
    R(
      "Synthesize single answers",
      "Rewrite the answer of a one-subtask run with a synthesis model call; off returns the subtask's answer as it is.",
    ),
  ),
  num(
    "CLOSED_CLAW_MAX_PARALLEL_AGENTS",
    "maxParallelAgents",
    4,
    { min: 1, max: 64, int: true },
    R("Parallel agents", "Subtasks run at the same time."),
  ),
  num(
    "CLOSED_CLAW_MAX_LINE_BYTES",
    "maxLineBytes",
    16 * 1024 * 1024,
    { min: 1024, int: true },
    R("Protocol line cap (bytes)", "Longest message line a capsule may send."),
  ),
  bool(
    "CLOSED_CLAW_EVOLUTION_ENABLED",
    "evolutionEnabled",
    true,
    R("Evolution", "New agents inherit and mutate the traits of the fittest related agent."),
  ),
  num(
    "CLOSED_CLAW_EVOLUTION_MUTATION_RATE",
    "evolutionMutationRate",
    0.3,
    { min: 0, max: 1 },
    R("Mutation rate", "Chance that each trait changes when an agent is derived."),
  ),
  text(
    "CLOSED_CLAW_NATS_URL",
    "natsUrl",
    "",
    R(
      "NATS server",
      "NATS URL(s), comma-separated: capsules then run on `closed-claw worker` machines; empty: here.",
    ),
  ),
  text("CLOSED_CLAW_NATS_USER", "natsUser", "", R("NATS user", "User name for NATS.")),
  text(
    "CLOSED_CLAW_NATS_PASSWORD",
    "natsPassword",
    "",
    R("NATS password", "Password for NATS."),
    "secret",
  ),
  text(
    "CLOSED_CLAW_NATS_TOKEN",
    "natsToken",
    "",
    R("NATS token", "Token for NATS."),
    "secret",
  ),
  text(
    "CLOSED_CLAW_NATS_CREDS",
    "natsCredsFile",
    "",
    R("NATS credentials file", "A .creds file (user JWT and nkey seed) for NATS."),
    "path",
  ),
  text(
    "CLOSED_CLAW_NATS_NKEY_SEED_FILE",
    "natsNkeySeedFile",
    "",
    R("NATS nkey seed file", "A file holding the nkey seed (SU…) to sign in to NATS with."),
    "path",
  ),
  text(
    "CLOSED_CLAW_NATS_TLS_CA",
    "natsTlsCa",
    "",
    R("NATS TLS CA", "CA certificate file: connect to NATS over TLS, verified against it."),
    "path",
  ),
  num(
    "CLOSED_CLAW_NATS_ACCEPT_TIMEOUT_SEC",
    "natsAcceptTimeoutSec",
    30,
    { min: 1, max: 3600 },
    R(
      "Worker accept timeout (s)",
      "How long a capsule waits for a worker to take it before it counts as not started.",
    ),
  ),
] as const;
