/**
 * The fake model behind bench/peer_bench.ts: one reply script that answers
 * both `@openai/agents` and Closed Claw on the same fake OpenAI server, and
 * the figures read back from what the server recorded.
 *
 * Every agent (either side) is told the files to read in one sentence
 * ({@link readTask}); the script reads that list from the prompt and answers
 * one read per turn, then a final text, whichever protocol asks (native
 * `tools`, or Closed Claw's JSON `agent_step`). Closed Claw's plans are
 * answered here, by the schema's shape; its other coordinator calls
 * (profile, rerank, judge, synthesis) by the scripted brain the integration
 * tests use.
 */
import {
  type FakeHandler,
  type FakeReply,
  promptText,
  type RecordedRequest,
} from "../tests/fakes/mod.ts";
import {
  brainHandler,
  finalStep,
  type PlanItem,
  type StepInput,
  toolStep,
} from "../tests/helpers/coordinator_brain.ts";

/** A workload: one list of files per agent; each agent reads its files one per turn. */
export interface Workload {
  name: string;
  groups: string[][];
}

/** The figures of one run, read from the fake server's records. */
export interface Figures {
  /** Sum of the request bodies' bytes. */
  bytes: number;
  /** Tokens of what the model reads in those requests (messages, tools, schema); 0 uncounted. */
  tokens: number;
  /** Model requests. */
  calls: number;
  /** Request bytes per model call (what one step costs on average). */
  bytesPerCall: number;
  /** Model requests up to and including the one answered with the first tool call (0: none). */
  firstTool: number;
  /** Wall time of the run, ms. */
  ms: number;
}

/** The instruction both sides get for one agent: the same words, so prompts compare fairly. */
export function readTask(files: string[]): string {
  return `Read these files one at a time, in order: ${files.join(", ")}. Then answer.`;
}

const FILES = /in order: ([\w., -]+?)\. Then answer/;

/** The files an agent's request asks for (its first instruction), [] when none. */
export function filesOf(req: RecordedRequest): string[] {
  const list = FILES.exec(promptText(req))?.[1];
  return list ? list.split(",").map((f) => f.trim()).filter(Boolean) : [];
}

/** Closed Claw's plan for a workload: one independent subtask per group. */
export function planFor(workload: Workload): PlanItem[] {
  return workload.groups.map((files, i) => ({
    task_id: `read-${i}`,
    title: `Read group ${i}`,
    description: readTask(files),
    role_tag: "file-reader",
    tools: ["file_io"],
  }));
}

/**
 * A native tool-calling turn (the peer, and Closed Claw's native loop): the
 * next file's read, or the final text once every file was read. Each earlier
 * assistant turn was one read, so their count says how far the agent got.
 */
export function nativeTurn(req: RecordedRequest): FakeReply {
  const files = filesOf(req);
  const done = (req.body.messages ?? []).filter((m: { role: string }) => m.role === "assistant")
    .length;
  if (done >= files.length) return { text: `Read ${files.length} files.` };
  const names: string[] = req.body.tools.map((t: { function?: { name?: string } }) =>
    t.function?.name
  );
  const path = files[done];
  return {
    toolCalls: [
      names.includes("read_file")
        ? { name: "read_file", args: { path } }
        : { name: "file_io", args: { op: "read", path } },
    ],
  };
}

/** The same turn in Closed Claw's JSON-step protocol (`agent_step` schema). */
function jsonStep({ prompt, step }: StepInput): Record<string, unknown> {
  const files = FILES.exec(prompt)?.[1].split(",").map((f) => f.trim()) ?? [];
  return step < files.length
    ? toolStep("file_io", { op: "read", path: files[step] })
    : finalStep(`Read ${files.length} files.`);
}

/** The property names of the JSON schema a structured request asks for ([] when none). */
function schemaProperties(req: RecordedRequest): string[] {
  const schema = req.body.response_format?.json_schema?.schema;
  return Object.keys(schema?.properties ?? {});
}

/**
 * A plan reply for any plan schema, known by its `subtasks` property: with
 * `complexity` when the schema has it (classifying folded into planning),
 * whatever the schema's name.
 */
function planReply(workload: Workload, properties: string[]): FakeReply {
  const subtasks = planFor(workload).map((item) => ({
    depends_on: [],
    acceptance_criteria: [],
    requires_tool: true,
    writes_files: false,
    network_hosts: [],
    ...item,
  }));
  return {
    json: properties.includes("complexity") ? { complexity: "simple", subtasks } : { subtasks },
  };
}

/**
 * The server's handler for the current workload (`workload()` is read per
 * request: runs go one after another). `toolAt` collects the request indexes
 * answered with a tool call, for {@link measure}. Requests that declare tools
 * get native turns; plans are answered here; the other coordinator calls and
 * JSON steps go to the tests' scripted brain.
 */
export function peerScript(
  workload: () => Workload,
): { handler: FakeHandler; toolAt: Set<number> } {
  const toolAt = new Set<number>();
  const brain = brainHandler({
    complexity: "simple",
    plan: () => planFor(workload()),
    agent: jsonStep,
    synthesis: "All files were read.",
    // What a model would write for this role: it lets later runs find and reuse the agent.
    profileExtra: {
      description: "Reads these files one at a time, in order, then answers with what they say.",
      tags: ["auto", "capability", "files", "read"],
    },
  });
  const handler: FakeHandler = async (req, index) => {
    const properties = schemaProperties(req);
    const reply = req.body.tools?.length
      ? nativeTurn(req)
      : properties.includes("subtasks")
      ? planReply(workload(), properties)
      : await brain(req, index);
    const step = reply.json as { action?: string } | undefined;
    if (reply.toolCalls?.length || step?.action === "tool") toolAt.add(index);
    return reply;
  };
  return { handler, toolAt };
}

const encoder = new TextEncoder();

/** Bytes of a request body: its Content-Length, else its JSON re-serialised. */
export function bodyBytes(req: RecordedRequest): number {
  const length = Number(req.headers["content-length"]);
  return length > 0 ? length : encoder.encode(JSON.stringify(req.body)).length;
}

/** Counts the tokens of a text (the bench uses OpenAI's o200k_base encoding). */
export type TokenCounter = (text: string) => number;

/**
 * The tokens of what a model reads of a request: its messages, declared
 * tools and output schema, as the JSON they travel in (providers add a few
 * tokens of framing per message, the same for both sides).
 */
export function requestTokens(req: RecordedRequest, count: TokenCounter): number {
  const { messages, tools, response_format } = req.body;
  return count(JSON.stringify({ messages, tools, response_format }));
}

/** The figures of the requests from index `from` on (one run; runs never overlap). */
export function measure(
  requests: RecordedRequest[],
  from: number,
  toolAt: Set<number>,
  ms: number,
  count?: TokenCounter,
): Figures {
  const mine = requests.slice(from);
  const first = mine.findIndex((_, i) => toolAt.has(from + i));
  const bytes = mine.reduce((sum, r) => sum + bodyBytes(r), 0);
  return {
    bytes,
    tokens: count ? mine.reduce((sum, r) => sum + requestTokens(r, count), 0) : 0,
    calls: mine.length,
    bytesPerCall: mine.length ? Math.round(bytes / mine.length) : 0,
    firstTool: first + 1,
    ms,
  };
}

/** What one request is, for the breakdown: its structured schema's name, an agent step, or the synthesis. */
export function callKind(req: RecordedRequest): string {
  const schema = req.body.response_format?.json_schema?.name;
  if (typeof schema === "string") return schema === "agent_step" ? "agent step (json)" : schema;
  if (req.body.tools?.length) return "agent step";
  const system = (req.body.messages ?? []).find((m: { role: string }) => m.role === "system");
  return /final summarizer/.test(String(system?.content ?? "")) ? "synthesis" : "other";
}

/** One line of the breakdown: the requests of one kind in a run, and where their bytes went. */
export interface CallGroup {
  kind: string;
  calls: number;
  bytes: number;
  /** Tokens the model reads (0 when not counted). */
  tokens: number;
  /** Bytes of the declared tools, the system messages, the other messages, the structured-output schema. */
  tools: number;
  system: number;
  messages: number;
  schema: number;
}

const jsonBytes = (value: unknown) =>
  value === undefined ? 0 : encoder.encode(JSON.stringify(value)).length;

/** A run's requests grouped by {@link callKind}, in first-seen order, with their bytes by part (and tokens, given a counter). */
export function breakdown(requests: RecordedRequest[], count?: TokenCounter): CallGroup[] {
  const groups = new Map<string, CallGroup>();
  for (const req of requests) {
    const kind = callKind(req);
    const group = groups.get(kind) ??
      { kind, calls: 0, bytes: 0, tokens: 0, tools: 0, system: 0, messages: 0, schema: 0 };
    groups.set(kind, group);
    const messages: { role: string }[] = req.body.messages ?? [];
    const system = messages.filter((m) => m.role === "system");
    group.calls++;
    group.bytes += bodyBytes(req);
    if (count) group.tokens += requestTokens(req, count);
    group.tools += jsonBytes(req.body.tools);
    group.system += system.reduce((sum, m) => sum + jsonBytes(m), 0);
    group.messages += messages.filter((m) => m.role !== "system")
      .reduce((sum, m) => sum + jsonBytes(m), 0);
    group.schema += jsonBytes(req.body.response_format);
  }
  return [...groups.values()];
}
