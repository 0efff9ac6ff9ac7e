/**
 * What is at stake when an agent gets a subtask, and the question a person is
 * asked about it. The rule: an agent (new, or reused) whose grant lets it run
 * programs (`terminal`, `python_exec`), write files, reach the network
 * (`http_api`, `web_fetch`, or hosts for its programs), call paid APIs or use
 * MCP servers (third-party code, sandboxed) is asked about; an agent that can only read (files, databases) is not, unless
 * `CLOSED_CLAW_AGENT_APPROVAL_SCOPE=all` asks about every new agent.
 * Every question is one plain sentence, then the exact grant, then what each
 * answer does. Pure: nothing here touches the store.
 */
import { DEFAULT_LIMITS, type Limits } from "../capsule_runtime/limits.ts";
import { hostsCovered } from "./network_hosts.ts";

/** Everything an agent may do, as the launcher will grant it. */
export interface AgentGrant {
  tools: string[];
  read_roots: string[];
  /** Empty unless the agent may write files. */
  write_roots: string[];
  /** Hosts its network tools and programs may reach. */
  network_hosts: string[];
  /** A network tool with no host list reaches any public host. */
  any_public_host: boolean;
  /** Programs it may start (each in a sandbox of its own). */
  programs: string[];
  sql_paths: string[];
  /** Catalogue MCP servers whose tools it may call (absent in grants approved before them). */
  mcp_servers?: string[];
  limits: Limits;
}

/** Why a grant is asked about. */
export type Risk = "programs" | "file_writes" | "network" | "paid_apis" | "mcp_servers";

const NETWORK_TOOLS = ["http_api", "web_fetch"];
const PROGRAMS: Record<string, string> = { terminal: "bash", python_exec: "python3" };

/** The grant of an agent with these tools and permissions (limits: its own, else the defaults). */
export function grantOf(input: {
  tools: readonly string[];
  permissions: {
    read_roots: readonly string[];
    write_roots: readonly string[];
    network_hosts: readonly string[];
    file_write: boolean;
    sql_paths: readonly string[];
    mcp_servers?: readonly string[];
  };
  limits?: Partial<Limits>;
}): AgentGrant {
  const { tools, permissions: p } = input;
  const files = tools.includes("file_io");
  return {
    tools: [...tools],
    read_roots: files ? [...p.read_roots] : [],
    write_roots: files && p.file_write ? (p.write_roots.length ? [...p.write_roots] : ["."]) : [],
    network_hosts: [...p.network_hosts],
    any_public_host: tools.some((t) => NETWORK_TOOLS.includes(t)) && p.network_hosts.length === 0,
    programs: tools.flatMap((t) => PROGRAMS[t] ? [PROGRAMS[t]] : []),
    sql_paths: tools.includes("sql_query") ? [...p.sql_paths] : [],
    ...(p.mcp_servers?.length ? { mcp_servers: [...p.mcp_servers] } : {}),
    limits: { ...DEFAULT_LIMITS, ...input.limits },
  };
}

/** What is at stake in a grant; empty for an agent that can only read. */
export function risksOf(grant: AgentGrant, paidApiHosts: readonly string[] = []): Risk[] {
  const risks: Risk[] = [];
  if (grant.programs.length) risks.push("programs");
  if (grant.write_roots.length) risks.push("file_writes");
  const network = grant.any_public_host || grant.network_hosts.length > 0;
  if (network) risks.push("network");
  if (
    network && paidApiHosts.length &&
    (grant.any_public_host || paidApiHosts.some((h) => hostsCovered(grant.network_hosts, [h])))
  ) risks.push("paid_apis");
  if (grant.mcp_servers?.length) risks.push("mcp_servers");
  return risks;
}

/** Which agents are asked about: only risky ones, or every new one too. */
export type ApprovalScope = "risky" | "all";

/** Whether creating (or reusing) an agent with these risks is asked about. */
export function needsApproval(
  risks: readonly Risk[],
  scope: ApprovalScope,
  kind: "agent_create" | "agent_reuse",
): boolean {
  return risks.length > 0 || (kind === "agent_create" && scope === "all");
}

/** Whether an approved grant covers a later one (tools, roots, hosts, programs: a subset). */
export function grantCovers(approved: Partial<AgentGrant>, asked: AgentGrant): boolean {
  const within = (a: readonly string[] | undefined, b: readonly string[]) =>
    b.every((x) => (a ?? []).includes(x));
  const hostsOk = approved.any_public_host ||
    (!asked.any_public_host && hostsCovered(approved.network_hosts ?? [], asked.network_hosts));
  return within(approved.tools, asked.tools) && within(approved.read_roots, asked.read_roots) &&
    within(approved.write_roots, asked.write_roots) && within(approved.programs, asked.programs) &&
    within(approved.sql_paths, asked.sql_paths) &&
    within(approved.mcp_servers, asked.mcp_servers ?? []) && !!hostsOk;
}

const list = (items: readonly string[], none = "none") => items.length ? items.join(", ") : none;

/** The phrase for what a grant lets an agent do ("run programs (bash) and write files in out"). */
export function riskPhrase(grant: AgentGrant, risks: readonly Risk[]): string {
  const parts: string[] = [];
  if (risks.includes("programs")) parts.push(`run programs (${grant.programs.join(", ")})`);
  if (risks.includes("file_writes")) parts.push(`write files in ${grant.write_roots.join(", ")}`);
  if (risks.includes("network")) {
    parts.push(
      `reach ${
        grant.any_public_host
          ? "any public host"
          : `the network (${grant.network_hosts.join(", ")})`
      }`,
    );
  }
  if (risks.includes("paid_apis")) parts.push("call paid APIs (each call is asked about)");
  if (risks.includes("mcp_servers")) {
    parts.push(`use the MCP servers ${(grant.mcp_servers ?? []).join(", ")}`);
  }
  if (!parts.length) return "only read";
  return parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(", ")} and ${parts.at(-1)}`;
}

/** The exact grant, one line per part. */
export function grantLines(grant: AgentGrant): string[] {
  const l = grant.limits;
  const network = grant.any_public_host
    ? `any public host (${grant.tools.filter((t) => NETWORK_TOOLS.includes(t)).join(", ")})`
    : list(grant.network_hosts);
  return [
    `Tools: ${list(grant.tools)}`,
    `Reads: ${list(grant.read_roots)}`,
    `Writes: ${list(grant.write_roots)}`,
    `Network hosts: ${network}`,
    `Programs: ${grant.programs.length ? `${grant.programs.join(", ")} (sandboxed)` : "none"}`,
    ...(grant.sql_paths.length ? [`Databases (read-only): ${grant.sql_paths.join(", ")}`] : []),
    ...(grant.mcp_servers?.length
      ? [
        `MCP servers: ${
          grant.mcp_servers.join(", ")
        } (sandboxed; a tool not declared read-only asks before each call)`,
      ]
      : []),
    `Limits: memory ${l.memory_mb} MiB, ${l.processes} processes, ${l.cpu_seconds} s CPU per program, files up to ${l.file_size_mb} MiB, ${l.bytes_written_mb} MiB written, egress ${l.egress_mb} MiB`,
  ];
}

/** A question: one sentence, the grant, and what each answer does. */
export interface ApprovalQuestion {
  sentence: string;
  grant: string[];
  answers: { approve: string; deny: string; always?: string };
}

/** The question's full text, as the terminal shows it. */
export function questionText(q: ApprovalQuestion): string {
  return [
    q.sentence,
    ...q.grant.map((line) => `  ${line}`),
    `  yes: ${q.answers.approve}`,
    `  no: ${q.answers.deny}`,
    ...(q.answers.always ? [`  always: ${q.answers.always}`] : []),
  ].join("\n");
}

/**
 * The question before a new agent is created.
 *
 * @example
 * ```ts
 * const grant = grantOf({ tools: ["terminal"], permissions: { read_roots: ["."], write_roots: [], network_hosts: [], file_write: false, sql_paths: [] } });
 * createQuestion({ title: "Run tests", role: "tester", grant, risks: ["programs"], best: null, effective: 0, threshold: 0.62 }).sentence;
 * // 'Create a new agent for "Run tests" (role tester) that can run programs (bash)?'
 * ```
 */
export function createQuestion(input: {
  title: string;
  role: string;
  grant: AgentGrant;
  risks: readonly Risk[];
  best: string | null;
  effective: number;
  threshold: number;
}): ApprovalQuestion {
  const deny = input.best
    ? `reuse the closest existing agent, ${input.best}, instead (match ${input.effective}, below the reuse threshold ${input.threshold}); no new agent is made`
    : "fail this subtask: no agent fits it and none is made";
  return {
    sentence: `Create a new agent for "${input.title}" (role ${input.role}) that can ${
      riskPhrase(input.grant, input.risks)
    }?`,
    grant: grantLines(input.grant),
    answers: {
      approve: "create it with this grant and run the subtask",
      deny,
      always:
        `approve now and, in this and later runs, every new agent for role ${input.role} with this grant or less (see \`closed-claw approvals rules\`)`,
    },
  };
}

/** The question before an existing risky agent is given a subtask. */
export function reuseQuestion(input: {
  title: string;
  role: string;
  agentId: string;
  grant: AgentGrant;
  risks: readonly Risk[];
}): ApprovalQuestion {
  return {
    sentence:
      `Give "${input.title}" (role ${input.role}) to the existing agent ${input.agentId}, which can ${
        riskPhrase(input.grant, input.risks)
      }?`,
    grant: grantLines(input.grant),
    answers: {
      approve: "run the subtask with this agent",
      deny: "fail this subtask: no agent runs it",
      always:
        `approve now and whenever agent ${input.agentId} is given a subtask, while its grant stays within this one`,
    },
  };
}
