/**
 * The data-flow rule through the real CLI (its own flags): a subtask reads a
 * private file, a later subtask's agent can reach the network (web_fetch).
 * Before the file's text enters that capsule's context the run asks, in
 * every API approval mode; a run with no crossing asks nothing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore, type Store } from "../../store/mod.ts";
import { startWebServer } from "../../web/server.ts";
import { coordinatorForWeb } from "../../web/coordinator_adapter.ts";
import type { WebDeps } from "../../web/deps.ts";
import { promptText, type RecordedRequest } from "../fakes/mod.ts";
import { answerOnTerminal, decode, HAS_SCRIPT, runCli, spawnCli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp.ts";
import {
  type Brain,
  finalStep,
  isAgentStep,
  type PlanItem,
  startBrain,
  toolStep,
} from "../helpers/coordinator_brain.ts";

const SECRET = "PAYROLL-7731: Alice earns 123456";

const READ: PlanItem = {
  task_id: "read-payroll",
  title: "Read the payroll",
  description: "Read payroll.txt and report it.",
  role_tag: "payroll-reader",
  tools: ["file_io"],
};
const PUBLISH: PlanItem = {
  task_id: "publish",
  title: "Publish the summary",
  description: "Publish a summary of the payroll on the web.",
  role_tag: "web-publisher",
  depends_on: ["read-payroll"],
  tools: ["web_fetch"],
  requires_tool: false,
};

/** Reads payroll.txt (answering with its text), then a networked agent "publishes". */
function flowBrain(plan: PlanItem[] = [READ, PUBLISH], complexity?: "complex"): Brain {
  return {
    complexity: complexity ?? "simple",
    plan: (phase) =>
      complexity && phase === "discovery" ? [plan[0]] : complexity ? [plan[1]] : plan,
    agent: ({ prompt, step, last }) => {
      if (prompt.includes("Read payroll.txt")) {
        return step === 0
          ? toolStep("file_io", { op: "read", path: "payroll.txt" })
          : finalStep(`payroll.txt says: ${/PAYROLL[^"\\]*/.exec(last)?.[0] ?? "?"}`);
      }
      return finalStep("published");
    },
    synthesis: "done",
  };
}

/** The first prompts of capsule steps whose prompt has `text`. */
function stepPrompts(requests: RecordedRequest[], text: string): string[] {
  return requests.filter(isAgentStep)
    .map(promptText).filter((p) => p.includes(text));
}

/** The first prompt of the publisher's capsule (its task and context). */
function publisherPrompt(requests: RecordedRequest[]): string {
  const steps = stepPrompts(requests, "Publish a summary");
  assert.ok(steps.length > 0, "the publisher's capsule ran");
  return steps[0];
}

interface Flow {
  from: string;
  to: string;
  decision: string;
}

/** The run's `data_flow_approval` log events and audit rows. */
function flowRecords(store: Store, runLogsDir: string): { log: Flow[]; audit: Flow[] } {
  const run = store.runs.list({ limit: 1 })[0];
  const lines = Deno.readTextFileSync(join(runLogsDir, `${run.run_id}.jsonl`)).trim().split("\n")
    .map((l) => JSON.parse(l));
  const pick = (p: Flow) => ({ from: p.from, to: p.to, decision: p.decision });
  return {
    log: lines.filter((l) => l.event === "data_flow_approval").map((l) => pick(l.payload)),
    audit: store.audit.list({ runId: run.run_id })
      .filter((a) => a.event_type === "data_flow_approval").map((a) => pick(a.payload as Flow)),
  };
}

const CROSSING = { from: "execute-read-payroll", to: "execute-publish" };

async function setup(dir: string, brain = flowBrain(), env: Record<string, string> = {}) {
  const started = await startBrain(dir, brain, env);
  await Deno.writeTextFile(join(started.workspace, "payroll.txt"), `${SECRET}\n`);
  return started;
}

Deno.test("approve mode: the file's text reaches the networked agent, asked once and audited", async () => {
  await using dir = await tempDir();
  const { fake, env, settings } = await setup(dir.path);
  const store = openStore(settings.dbPath);
  try {
    const out = await runCli([
      "run",
      "Publish the payroll",
      "--json",
      "--api-approval-mode",
      "approve",
    ], {
      cwd: dir.path,
      env,
    });
    assert.equal(out.code, 0, out.stderr + out.stdout);
    assert.ok(publisherPrompt(fake.requests).includes(SECRET));
    const approvals = store.approvals.list().filter((a) => a.kind === "data_flow");
    assert.equal(approvals.length, 1);
    assert.equal(approvals[0].status, "approved");
    assert.equal(approvals[0].request_data.from_task_id, CROSSING.from);
    assert.deepEqual(approvals[0].request_data.network_tools, ["web_fetch"]);
    assert.ok(String(approvals[0].request_data.preview).includes(SECRET));
    const records = flowRecords(store, settings.runLogsDir);
    assert.deepEqual(records.log, [{ ...CROSSING, decision: "approved" }]);
    assert.deepEqual(records.audit, records.log);
  } finally {
    store.close();
    await fake.close();
  }
});

Deno.test("deny mode: the networked agent's prompt lacks the file's text and says it was withheld", async () => {
  await using dir = await tempDir();
  const { fake, env, settings } = await setup(dir.path);
  const store = openStore(settings.dbPath);
  try {
    const out = await runCli([
      "run",
      "Publish the payroll",
      "--json",
      "--api-approval-mode",
      "deny",
    ], {
      cwd: dir.path,
      env,
    });
    assert.equal(out.code, 0, out.stderr + out.stdout);
    const prompt = publisherPrompt(fake.requests);
    assert.ok(!prompt.includes("PAYROLL-7731"), "the private text reached the networked agent");
    assert.match(prompt, /\[withheld\] The result of subtask execute-read-payroll was withheld/);
    assert.match(prompt, /read with file_io.*can reach the network \(web_fetch\)/);
    // The reader itself saw the file: the data existed and was held back.
    assert.ok(fake.requests.map(promptText).some((p) => p.includes("PAYROLL-7731")));
    assert.deepEqual(flowRecords(store, settings.runLogsDir).log, [
      { ...CROSSING, decision: "denied" },
    ]);
  } finally {
    store.close();
    await fake.close();
  }
});

Deno.test("a retried networked subtask is not asked again: the decision is kept in the run", async () => {
  await using dir = await tempDir();
  let verdicts = 0;
  const brain: Brain = {
    ...flowBrain(),
    // The publisher's first answer fails the judge; the reader's passes.
    judge: (prompt) => !(prompt.includes("published") && verdicts++ === 0),
  };
  const publish = { ...PUBLISH, acceptance_criteria: ["It is published"] };
  const { fake, env, settings } = await setup(dir.path, { ...brain, plan: () => [READ, publish] });
  const store = openStore(settings.dbPath);
  try {
    const out = await runCli([
      "run",
      "Publish the payroll",
      "--json",
      "--api-approval-mode",
      "deny",
    ], {
      cwd: dir.path,
      env,
    });
    assert.equal(out.code, 0, out.stderr + out.stdout);
    const publisher = JSON.parse(out.stdout).execution_subtask_pool[1];
    assert.equal(publisher.attempts, 2);
    const prompts = stepPrompts(fake.requests, "Publish a summary");
    assert.ok(prompts.length >= 2 && prompts.every((p) => !p.includes("PAYROLL-7731")));
    assert.equal(store.approvals.list().filter((a) => a.kind === "data_flow").length, 1);
    assert.deepEqual(flowRecords(store, settings.runLogsDir).log, [
      { ...CROSSING, decision: "denied" },
    ]);
  } finally {
    store.close();
    await fake.close();
  }
});

Deno.test("deny mode also guards discovery results handed to a networked execution agent", async () => {
  await using dir = await tempDir();
  const publish = { ...PUBLISH, depends_on: [] };
  const { fake, env, settings } = await setup(dir.path, flowBrain([READ, publish], "complex"));
  const store = openStore(settings.dbPath);
  try {
    const out = await runCli(["run", "Publish the payroll", "--api-approval-mode", "deny"], {
      cwd: dir.path,
      env,
    });
    assert.equal(out.code, 0, out.stderr + out.stdout);
    const prompt = publisherPrompt(fake.requests);
    assert.ok(!prompt.includes("PAYROLL-7731"));
    assert.match(prompt, /The result of subtask discover-read-payroll was withheld/);
    assert.deepEqual(flowRecords(store, settings.runLogsDir).log, [
      { from: "discover-read-payroll", to: "execute-publish", decision: "denied" },
    ]);
  } finally {
    store.close();
    await fake.close();
  }
});

Deno.test("web mode: the run waits until the dashboard approves the crossing", async () => {
  await using dir = await tempDir();
  const { fake, env, settings } = await setup(dir.path);
  const store = openStore(settings.dbPath);
  const deps: WebDeps = { settings, store, coordinator: null };
  deps.coordinator = coordinatorForWeb(deps);
  const server = startWebServer(deps, { port: 0 });
  const api = (method: string, path: string, body?: unknown) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${server.token}`,
        ...(body ? { "content-type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
  const child = spawnCli(["run", "Publish the payroll", "--api-approval-mode", "web"], {
    cwd: dir.path,
    env,
  });
  let exited = false;
  try {
    let pending: { approval_id: string; kind: string; request_data: Record<string, unknown> }[] =
      [];
    const deadline = Date.now() + 30_000;
    while (!pending.some((a) => a.kind === "data_flow")) {
      assert.ok(Date.now() < deadline, "no data_flow approval appeared");
      await new Promise((r) => setTimeout(r, 100));
      pending = await (await api("GET", "/api/approvals/pending")).json();
    }
    const flow = pending.find((a) => a.kind === "data_flow")!;
    assert.equal(flow.request_data.to_task_id, "execute-publish");
    assert.deepEqual(stepPrompts(fake.requests, "Publish a summary"), [], "it waited");
    const page = await (await api("GET", "/approvals")).text();
    assert.match(page, /Private data of subtask <b>execute-read-payroll<\/b>/);
    assert.ok(page.includes("PAYROLL-7731"), "the page shows a preview");
    const decided = await api("POST", `/api/approvals/${flow.approval_id}/decide`, {
      approved: true,
      note: "ok to publish",
    });
    assert.equal(decided.status, 200);
    const out = await child.output();
    exited = true;
    assert.equal(out.code, 0, decode(out.stderr) + decode(out.stdout));
    assert.ok(publisherPrompt(fake.requests).includes(SECRET));
    assert.deepEqual(flowRecords(store, settings.runLogsDir).log, [
      { ...CROSSING, decision: "approved" },
    ]);
    assert.equal(store.approvals.get(flow.approval_id)?.operator, "dashboard");
  } finally {
    if (!exited) (child.kill("SIGKILL"), await child.output());
    await server.shutdown();
    store.close();
    await fake.close();
  }
});

Deno.test({
  name: "interactive mode: the terminal shows the crossing and a 'no' withholds the data",
  ignore: !HAS_SCRIPT,
}, async () => {
  await using dir = await tempDir();
  const { fake, env, settings } = await setup(dir.path);
  const store = openStore(settings.dbPath);
  try {
    const { code, seen } = await answerOnTerminal(
      ["run", "Publish the payroll", "--api-approval-mode", "interactive"],
      { cwd: dir.path, env },
      (question) => {
        assert.match(question, /Approval needed \(data_flow\)/);
        assert.match(question, /subtask execute-read-payroll \(read with file_io\)/);
        assert.ok(question.includes("PAYROLL-7731"), "the question shows a preview");
        return "no\n";
      },
    );
    assert.equal(code, 0, seen);
    assert.ok(!publisherPrompt(fake.requests).includes("PAYROLL-7731"));
    assert.deepEqual(flowRecords(store, settings.runLogsDir).log, [
      { ...CROSSING, decision: "denied" },
    ]);
    const flow = store.approvals.list().find((a) => a.kind === "data_flow");
    assert.equal(flow?.operator, "terminal_user");
  } finally {
    store.close();
    await fake.close();
  }
});

Deno.test("no crossing, nothing asked: private data to a file-only agent, network without private data; the planner knows the rule", async () => {
  await using dir = await tempDir();
  const summarise: PlanItem = {
    task_id: "summarise",
    title: "Summarise",
    description: "Summarise the payroll into a note.",
    role_tag: "summariser",
    depends_on: ["read-payroll"],
    tools: ["file_io"],
    requires_tool: false,
  };
  const fetchNews: PlanItem = { ...PUBLISH, task_id: "news", depends_on: [] };
  const { fake, env, settings } = await setup(dir.path, flowBrain([READ, summarise, fetchNews]));
  const store = openStore(settings.dbPath);
  try {
    const out = await runCli(["run", "Summarise the payroll", "--api-approval-mode", "deny"], {
      cwd: dir.path,
      env,
    });
    assert.equal(out.code, 0, out.stderr + out.stdout);
    assert.equal(store.approvals.list().filter((a) => a.kind === "data_flow").length, 0);
    assert.deepEqual(flowRecords(store, settings.runLogsDir).log, []);
    const summariser = stepPrompts(fake.requests, "Summarise the payroll into")[0];
    assert.ok(summariser?.includes("PAYROLL-7731"), "a file-only agent gets the data unasked");
    const plan = fake.requests.find((r) =>
      r.body?.response_format?.json_schema?.name === "task_plan"
    );
    assert.match(
      promptText(plan!),
      /Data-flow rule: .*private.*network tool \(http_api, web_fetch\)/,
    );
  } finally {
    store.close();
    await fake.close();
  }
});
