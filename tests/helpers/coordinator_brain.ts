/**
 * A scripted "brain" for the fake OpenAI server: it answers each coordinator
 * call by its schema name (first plan with the complexity, execution plan,
 * profile, rerank, judge), each
 * capsule step by a script, and the synthesis by plain text, so end-to-end
 * runs go through the real SDK, the LLM service and real capsules.
 */
import { join } from "node:path";
import type { FakeHandler, FakeReply, RecordedRequest } from "../fakes/mod.ts";
import { promptText, requestTexts, startFakeServer } from "../fakes/mod.ts";
import type { FakeServer } from "../fakes/mod.ts";
import { testSettings } from "./temp.ts";
import type { Settings } from "../../core/settings.ts";
import type { Store } from "../../store/mod.ts";
import { createCapsule } from "../../capsule_runtime/factory.ts";
import { HashEmbedder } from "../../store/hash_embedder.ts";
import { VectorIndex } from "../../store/vector_index.ts";

export interface PlanItem {
  task_id: string;
  title: string;
  description: string;
  role_tag: string;
  depends_on?: string[];
  acceptance_criteria?: string[];
  requires_tool?: boolean;
  tools?: string[];
  writes_files?: boolean;
  network_hosts?: string[];
  /** Catalogue MCP servers the subtask needs (sent only when set). */
  mcp_servers?: string[];
}

export interface StepInput {
  /** Every prompt text of the request, joined. */
  prompt: string;
  /** How many steps this capsule already took (assistant messages so far). */
  step: number;
  /** The last user message (the latest observation, or the task). */
  last: string;
}

export interface Brain {
  complexity?: "simple" | "complex";
  plan(phase: "discovery" | "execution", prompt: string): PlanItem[];
  agent(input: StepInput): FakeReply | Record<string, unknown>;
  /** Verdict per criterion; default: all met. */
  judge?(prompt: string): boolean;
  /** Reranker scores by agent id; default: echo the semantic scores. */
  rerank?(prompt: string): { agent_id: string; score: number; reason: string }[] | null;
  /** Extra keys in every profile reply (e.g. permissions a model should not be able to add). */
  profileExtra?: Record<string, unknown>;
  synthesis?: string;
}

/**
 * A one-subtask run's brain: the agent runs `terminal` with `terminalArgs`
 * (default: append "paid" to effects.txt, a side effect), then answers
 * "paid"; a judge checks `criteria` and a synthesis closes the run.
 */
export function payingBrain(
  terminalArgs: Record<string, unknown> = { cmd: "echo paid >> effects.txt" },
  criteria: string[] = ["effects.txt has the line"],
): Brain {
  return {
    complexity: "simple",
    plan: () => [{
      task_id: "pay",
      title: "Record the payment",
      description: "Append one line to effects.txt.",
      role_tag: "payer",
      tools: ["terminal", "file_io"],
      writes_files: true,
      acceptance_criteria: criteria,
    }],
    agent: ({ step }) => step === 0 ? toolStep("terminal", terminalArgs) : finalStep("paid"),
    synthesis: "The payment is recorded.",
  };
}

/** How many lines `workspace`/effects.txt has (0 when there is none): times the payment ran. */
export function effectLines(workspace: string): number {
  try {
    return Deno.readTextFileSync(join(workspace, "effects.txt")).trim().split("\n").length;
  } catch {
    return 0;
  }
}

/** A capsule step that calls a tool. */
export function toolStep(tool: string, args: Record<string, unknown>): Record<string, unknown> {
  return {
    thought: `use ${tool}`,
    action: "tool",
    tool,
    args_json: JSON.stringify(args),
    result: "",
    status: "ok",
  };
}

/** A capsule step that answers. */
export function finalStep(result: string, status = "ok"): Record<string, unknown> {
  return { thought: "done", action: "final", tool: "", args_json: "{}", result, status };
}

/**
 * Reads notes.txt with file_io, then answers with the "hello …" line it read.
 * `role` is the planner's role tag (a test can force a second agent);
 * `stepDelayMs` slows the first step so a run can be watched live.
 */
export function notesBrain(options: { role?: string; stepDelayMs?: number } = {}): Brain {
  return {
    complexity: "simple",
    plan: () => [{
      task_id: "read-notes",
      title: "Read notes.txt",
      description: "Read notes.txt and report its first line.",
      role_tag: options.role ?? "file-reader",
      acceptance_criteria: ["The first line of notes.txt is reported"],
    }],
    agent: ({ step, last }) => {
      if (step > 0) return finalStep(`The first line is: ${/hello \w+/.exec(last)?.[0] ?? "?"}`);
      const read = toolStep("file_io", { op: "read", path: "notes.txt" });
      return options.stepDelayMs ? { json: read, delayMs: options.stepDelayMs } : read;
    },
    synthesis: "notes.txt starts with 'hello world'.",
  };
}

/**
 * One subtask per task: read the `.txt` file the task names ("Read first.txt
 * …") with file_io, then answer. Runs of different files go to one reader
 * agent, so a test can follow the agent's capsule from run to run.
 */
export function taskFileBrain(): Brain {
  return {
    complexity: "simple",
    plan: (_phase, prompt) => [{
      task_id: "read",
      title: "Read",
      description: `Read ${/Read (\w+\.txt)/.exec(prompt)?.[1] ?? "?"} and say what it holds.`,
      role_tag: "reader",
      tools: ["file_io"],
    }],
    agent: readTaskFile,
    synthesis: "Read.",
  };
}

/**
 * An agent that reads the file of its own task message ("Task:\nRead …", not
 * one of a remembered earlier task), then answers without repeating it.
 */
export const readTaskFile: Brain["agent"] = ({ step, prompt }) =>
  step === 0
    ? toolStep("file_io", { op: "read", path: /Task:\nRead (\w+\.txt)/.exec(prompt)?.[1] ?? "?" })
    : finalStep("I read the file.");

/** Two reader subtasks: first.txt, then second.txt once the first is done. */
export const READ_BOTH_PLAN: PlanItem[] = [
  { task_id: "first", title: "First", description: "Read first.txt.", role_tag: "reader" },
  {
    task_id: "second",
    title: "Second",
    description: "Read second.txt.",
    role_tag: "reader",
    depends_on: ["first"],
  },
];

/** How many capsule steps were asked of the subtask whose task (first user message) has `text`. */
export function stepCallsFor(fake: FakeServer, text: string): number {
  return fake.requests.filter((r) => isAgentStep(r) && firstUserText(r).includes(text)).length;
}

function firstUserText(req: RecordedRequest): string {
  const { messages } = requestTexts(req);
  return messages.find((m) => m.role === "user")?.text ?? "";
}

/**
 * Whether a request is a capsule's step: a JSON step (`agent_step` schema), or
 * a native tool-calling turn (no schema; the agent loop's task message first).
 */
export function isAgentStep(req: RecordedRequest): boolean {
  const schema = schemaName(req);
  if (schema) return schema === "agent_step";
  return firstUserText(req).startsWith("Task:\n");
}

/**
 * A scripted step as the request's mode wants it: as is for JSON steps; for
 * native tool calling a tool step becomes a tool call and a final step the
 * answer text (an infeasible one prefixed as the loop's rules say).
 */
export function stepReply(req: RecordedRequest, step: Record<string, unknown>): FakeReply {
  if (schemaName(req) === "agent_step") return { json: step };
  if (step.action === "tool") {
    const args = JSON.parse(String(step.args_json || "{}"));
    return { text: "", toolCalls: [{ name: String(step.tool), args }] };
  }
  const result = String(step.result ?? "");
  return { text: step.status === "error" ? `IMPOSSIBLE: ${result}` : result };
}

/**
 * The structured-output schema a request asks for: OpenAI's response_format
 * (or its Responses API's text.format), or Claude's forced tool.
 */
function schemaName(req: RecordedRequest): string {
  return req.body?.response_format?.json_schema?.name ?? req.body?.text?.format?.name ??
    req.body?.tool_choice?.name ?? "";
}

function fullPlan(items: PlanItem[]) {
  return {
    subtasks: items.map((i) => ({
      task_id: i.task_id,
      title: i.title,
      description: i.description,
      role_tag: i.role_tag,
      depends_on: i.depends_on ?? [],
      acceptance_criteria: i.acceptance_criteria ?? [],
      requires_tool: i.requires_tool ?? true,
      tools: i.tools ?? ["file_io"],
      writes_files: i.writes_files ?? false,
      network_hosts: i.network_hosts ?? [],
      ...(i.mcp_servers ? { mcp_servers: i.mcp_servers } : {}),
    })),
  };
}

/** The handler answering every call of a run from `brain`. */
export function brainHandler(brain: Brain): FakeHandler {
  return (req) => {
    const prompt = promptText(req);
    switch (schemaName(req)) {
      case "task_plan": {
        // The run's first call: the complexity and the plan of the phase it implies, in one reply.
        const complexity = brain.complexity ?? "simple";
        const phase = complexity === "simple" ? "execution" : "discovery";
        return { json: { complexity, ...fullPlan(brain.plan(phase, prompt)) } };
      }
      case "discovery_plan":
        return { json: fullPlan(brain.plan("discovery", prompt)) };
      case "execution_plan":
        return { json: fullPlan(brain.plan("execution", prompt)) };
      case "agent_profile": {
        const role = /Role tag: ([a-z0-9-]+)/.exec(prompt)?.[1] ?? "task-operator";
        const tools = /Tools the subtask needs: ([a-z_, ]+)/.exec(prompt)?.[1]
          .split(",").map((t) => t.trim()).filter((t) => t && t !== "none") ?? [];
        return {
          json: {
            profile_id: role,
            name_prefix: role.replace(/-/g, " "),
            description: `Specialist for ${role} work`,
            tools_allowlist: tools,
            tags: [role],
            skill_md: `# ${role}\n\nDo ${role} work.\n\n## Scope Constraints\n- Workspace only.`,
            skill_ids: ["file_system"],
            file_write: false,
            ...brain.profileExtra,
          },
        };
      }
      case "agent_rerank": {
        const given = brain.rerank?.(prompt);
        if (given) return { json: { rankings: given } };
        const candidates = JSON.parse(/Candidates: (\[.*\])/s.exec(prompt)?.[1] ?? "[]");
        return {
          json: {
            rankings: candidates.map((c: { agent_id: string; semantic_score: number }) => ({
              agent_id: c.agent_id,
              score: c.semantic_score,
              reason: "semantic",
            })),
          },
        };
      }
      case "acceptance_verdict": {
        const criteria = /Acceptance criteria:\n([\s\S]*?)\n\nAgent's answer/.exec(prompt)?.[1]
          .split("\n").map((l) => l.replace(/^\d+\.\s*/, "")) ?? [];
        const met = brain.judge?.(prompt) ?? true;
        return {
          json: {
            criteria: criteria.map((c) => ({
              criterion: c,
              met,
              reason: met ? "the answer shows it" : "the answer does not show it",
            })),
          },
        };
      }
      case "agent_step":
        return agentReply(brain, req, prompt);
      default:
        if (isAgentStep(req)) return agentReply(brain, req, prompt);
        return { text: brain.synthesis ?? "All done: the task was completed." };
    }
  };
}

/** The brain's next step for a capsule, in the request's mode. */
function agentReply(brain: Brain, req: RecordedRequest, prompt: string): FakeReply {
  const { messages } = requestTexts(req);
  const step = messages.filter((m) => m.role === "assistant").length;
  // The latest result the agent was shown: a user turn (JSON steps) or a tool result (native).
  const results = messages.filter((m) => m.role !== "assistant");
  const last = results[results.length - 1]?.text ?? "";
  const reply = brain.agent({ prompt, step, last });
  // A step object has an "action"; anything else is a raw reply (errors, delays).
  if ("action" in reply) return stepReply(req, reply);
  const raw = reply as FakeReply;
  // A raw reply carrying a step (to add a delay or usage) is that step in the request's mode.
  const carried = raw.json as Record<string, unknown> | undefined;
  if (carried && typeof carried === "object" && "action" in carried) {
    const { json: _carried, ...rest } = raw;
    return { ...rest, ...stepReply(req, carried) };
  }
  return raw;
}

/** A fake OpenAI (or Anthropic) server answering from `brain`, and settings that point at it. */
export async function startBrain(
  dir: string,
  brain: Brain,
  env: Record<string, string> = {},
  wire: "openai" | "anthropic" = "openai",
): Promise<
  { fake: FakeServer; settings: Settings; workspace: string; env: Record<string, string> }
> {
  const key = "test-key-0123456789";
  const fake = await startFakeServer(wire, { apiKey: key });
  fake.handle(brainHandler(brain));
  const workspace = join(dir, "ws");
  await Deno.mkdir(workspace, { recursive: true });
  const provider: Record<string, string> = wire === "openai"
    ? { CLOSED_CLAW_LLM_PROVIDER: "openai", OPENAI_API_KEY: key, OPENAI_BASE_URL: fake.baseURL }
    : {
      CLOSED_CLAW_LLM_PROVIDER: "claude",
      ANTHROPIC_API_KEY: key,
      ANTHROPIC_BASE_URL: fake.baseURL,
    };
  const fullEnv = {
    ...provider,
    CLOSED_CLAW_WORKSPACE: workspace,
    CLOSED_CLAW_CREATE_APPROVAL_MODE: "approve",
    CLOSED_CLAW_API_APPROVAL_MODE: "approve",
    CLOSED_CLAW_LLM_MAX_RETRIES: "0",
    CLOSED_CLAW_TASK_POOL_POLL_INTERVAL_SEC: "1",
    ...env,
  };
  return { fake, settings: testSettings(dir, fullEnv), workspace, env: fullEnv };
}

/**
 * Registers an existing agent that fits file_io work. The default description
 * matches reading notes.txt poorly (semantic score ≈ 0.3: routing skips the
 * reranker as no fit); "Reads notes" matches it in the reranker's band (≈ 0.77,
 * under the threshold once weighted as a fresh agent).
 */
export function seedAgent(
  settings: Settings,
  store: Store,
  description = "Reads text files",
): string {
  const embedder = new HashEmbedder(settings.embeddingDim);
  const vector = embedder.embedSync(description);
  const manifest = createCapsule(settings.agentsDir, {
    name: "Old Reader",
    description,
    tools_allowlist: ["file_io"],
    embedding_model: embedder.name,
    embedding_vector: Array.from(vector),
  });
  store.agents.upsertManifest(manifest);
  new VectorIndex(store.db, embedder.dim).upsert(manifest.agent_id, vector);
  return manifest.agent_id;
}
