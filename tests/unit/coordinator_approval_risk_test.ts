import assert from "node:assert/strict";
import {
  createQuestion,
  grantCovers,
  grantOf,
  needsApproval,
  questionText,
  reuseQuestion,
  risksOf,
} from "../../coordinator/approval_risk.ts";

const permissions = (p: Partial<Parameters<typeof grantOf>[0]["permissions"]> = {}) => ({
  read_roots: ["."],
  write_roots: [],
  network_hosts: [],
  file_write: false,
  sql_paths: [],
  ...p,
});

Deno.test("a read-only file agent is not asked about; programs, writes, network and paid APIs are", () => {
  const reader = grantOf({ tools: ["file_io", "sql_query"], permissions: permissions() });
  assert.deepEqual(risksOf(reader), []);
  assert.equal(needsApproval(risksOf(reader), "risky", "agent_create"), false);
  assert.equal(needsApproval(risksOf(reader), "all", "agent_create"), true);
  assert.equal(needsApproval(risksOf(reader), "all", "agent_reuse"), false);

  const terminal = grantOf({ tools: ["terminal"], permissions: permissions() });
  assert.deepEqual(risksOf(terminal), ["programs"]);
  const writer = grantOf({
    tools: ["file_io"],
    permissions: permissions({ file_write: true, write_roots: ["out"] }),
  });
  assert.deepEqual(risksOf(writer), ["file_writes"]);
  const fetcher = grantOf({ tools: ["web_fetch"], permissions: permissions() });
  assert.deepEqual(risksOf(fetcher, ["api.stripe.com"]), ["network", "paid_apis"]);
  const cloner = grantOf({
    tools: ["terminal"],
    permissions: permissions({ network_hosts: ["github.com"] }),
  });
  assert.deepEqual(risksOf(cloner, ["api.stripe.com"]), ["programs", "network"]);
  assert.equal(needsApproval(risksOf(cloner), "risky", "agent_reuse"), true);
});

Deno.test("the create question: one sentence, the exact grant, and what each answer does", () => {
  const grant = grantOf({
    tools: ["file_io", "terminal"],
    permissions: permissions({
      file_write: true,
      write_roots: ["out"],
      network_hosts: ["github.com"],
    }),
    limits: { cpu_seconds: 30 },
  });
  const q = createQuestion({
    title: "Build it",
    role: "builder",
    grant,
    risks: risksOf(grant),
    best: "agent_old",
    effective: 0.41,
    threshold: 0.62,
  });
  assert.equal(
    q.sentence,
    'Create a new agent for "Build it" (role builder) that can run programs (bash), write files in out and reach the network (github.com)?',
  );
  assert.deepEqual(q.grant, [
    "Tools: file_io, terminal",
    "Reads: .",
    "Writes: out",
    "Network hosts: github.com",
    "Programs: bash (sandboxed)",
    "Limits: memory 1024 MiB, 256 processes, 30 s CPU per program, files up to 256 MiB, 1024 MiB written, egress 512 MiB",
  ]);
  assert.match(
    q.answers.deny,
    /reuse the closest existing agent, agent_old, instead \(match 0.41, below the reuse threshold 0.62\)/,
  );
  assert.match(q.answers.always!, /every new agent for role builder with this grant or less/);
  const alone = createQuestion({
    ...{ title: "x", role: "r", grant, risks: risksOf(grant) },
    best: null,
    effective: 0,
    threshold: 0.62,
  });
  assert.match(alone.answers.deny, /fail this subtask/);
  const text = questionText(q);
  assert.match(text, /\n {2}yes: create it with this grant/);
  assert.match(text, /\n {2}no: reuse the closest/);
  assert.match(text, /\n {2}always: /);
});

Deno.test("the reuse question names the agent and says deny fails the subtask", () => {
  const grant = grantOf({ tools: ["http_api"], permissions: permissions() });
  const q = reuseQuestion({
    title: "Fetch",
    role: "fetcher",
    agentId: "agent_1",
    grant,
    risks: risksOf(grant),
  });
  assert.equal(
    q.sentence,
    'Give "Fetch" (role fetcher) to the existing agent agent_1, which can reach any public host?',
  );
  assert.ok(q.grant.includes("Network hosts: any public host (http_api)"));
  assert.equal(q.answers.deny, "fail this subtask: no agent runs it");
});

Deno.test("a rule's grant covers a later grant only when that is within it", () => {
  const approved = grantOf({
    tools: ["terminal", "file_io"],
    permissions: permissions({ network_hosts: ["*.pypi.org"] }),
  });
  const narrower = grantOf({
    tools: ["terminal"],
    permissions: permissions({ network_hosts: ["files.pypi.org"] }),
  });
  const wider = grantOf({
    tools: ["terminal"],
    permissions: permissions({ network_hosts: ["github.com"] }),
  });
  const anyHost = grantOf({ tools: ["web_fetch"], permissions: permissions() });
  assert.equal(grantCovers(approved, narrower), true);
  assert.equal(grantCovers(approved, wider), false);
  assert.equal(grantCovers(approved, anyHost), false);
  assert.equal(
    grantCovers(
      { ...approved, tools: ["web_fetch", "terminal", "file_io"], any_public_host: true },
      anyHost,
    ),
    true,
  );
});
