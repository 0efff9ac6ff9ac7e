/**
 * Approvals as a user meets them in the CLI: a risky agent's question on a
 * real terminal with its grant and answers, an "always" answer that is not
 * asked again in a later run, `approvals rules` / `approvals revoke`, and a
 * web-mode request nobody answers, recorded and shown as a timeout.
 */
import assert from "node:assert/strict";
import { openStore } from "../../store/mod.ts";
import { answerOnTerminal, HAS_SCRIPT, runCli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp.ts";
import { type Brain, finalStep, startBrain, toolStep } from "../helpers/coordinator_brain.ts";

/** One subtask whose agent writes notes.txt: a grant with file writes, so it is asked about. */
const writerBrain: Brain = {
  plan: () => [{
    task_id: "write",
    title: "Write notes",
    description: "Write notes.txt.",
    role_tag: "writer",
    tools: ["file_io"],
    writes_files: true,
  }],
  agent: ({ step }) =>
    step === 0
      ? toolStep("file_io", { op: "write", path: "notes.txt", content: "n" })
      : finalStep("notes written"),
};

Deno.test({
  name:
    "an 'always' answer on a real terminal is stored, not asked again in a later run, and revocable",
  ignore: !HAS_SCRIPT,
}, async () => {
  await using dir = await tempDir();
  const { fake, env, settings } = await startBrain(dir.path, writerBrain);
  try {
    const first = await answerOnTerminal(
      ["run", "Write notes", "--create-approval-mode", "interactive"],
      { cwd: dir.path, env },
      () => "always\n",
    );
    assert.equal(first.code, 0, first.seen);
    const seen = first.seen.replaceAll("\r", "");
    assert.match(
      seen,
      /Approval needed \(agent_create\): Create a new agent for "Write notes" \(role writer\) that can write files in \.\?/,
    );
    assert.match(seen, /\n {2}Tools: file_io\n {2}Reads: \.\n {2}Writes: \.\n/);
    assert.match(seen, /\n {2}no: fail this subtask: no agent fits it and none is made\n/);
    assert.match(
      seen,
      /\n {2}always: approve now and, in this and later runs, every new agent for role writer/,
    );
    assert.match(seen, /Type 'yes' to approve, 'always' to approve it from now on/);

    const rules = await runCli(["approvals", "rules", "--json"], { cwd: dir.path, env });
    assert.equal(rules.code, 0, rules.stderr);
    const [rule] = JSON.parse(rules.stdout);
    assert.deepEqual([rule.kind, rule.scope, rule.subject, rule.created_by], [
      "agent_create",
      "role",
      "writer",
      "terminal_user",
    ]);

    // A later run on a terminal: the rule answers, nobody is asked.
    const second = await answerOnTerminal(
      ["run", "Write notes again", "--create-approval-mode", "interactive"],
      { cwd: dir.path, env },
      () => "no\n",
    );
    assert.equal(second.code, 0, second.seen);
    assert.doesNotMatch(second.seen, /Approval needed/);
    const store = openStore(settings.dbPath);
    try {
      const [latest] = store.runs.list({ limit: 1 });
      const answered = store.approvals.list({ runId: latest.run_id });
      assert.ok(answered.length >= 1);
      assert.ok(answered.every((a) => a.operator === "always_rule"), JSON.stringify(answered));
      assert.equal(store.approvalRules.get(rule.rule_id)!.uses, 1);
    } finally {
      store.close();
    }

    const listed = await runCli(["approvals", "rules"], { cwd: dir.path, env });
    assert.match(listed.stdout, new RegExp(`${rule.rule_id}\\s+agent_create\\s+role writer`));
    const revoked = await runCli(["approvals", "revoke", rule.rule_id], { cwd: dir.path, env });
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /Revoked rule_/);
    const again = await runCli(["approvals", "revoke", rule.rule_id], { cwd: dir.path, env });
    assert.equal(again.code, 1);
    const after = await runCli(["approvals", "rules", "--json"], { cwd: dir.path, env });
    assert.deepEqual(JSON.parse(after.stdout), []);
    const bad = await runCli(["approvals", "revoke", "../x"], { cwd: dir.path, env });
    assert.equal(bad.code, 2);
  } finally {
    await fake.close();
  }
});

Deno.test("a web-mode request nobody answers is recorded and shown as a timeout, not a deny", async () => {
  await using dir = await tempDir();
  const { fake, env, settings } = await startBrain(dir.path, writerBrain, {
    CLOSED_CLAW_WEB_APPROVAL_TIMEOUT_SEC: "1",
  });
  try {
    const out = await runCli(["run", "Write notes", "--create-approval-mode", "web"], {
      cwd: dir.path,
      env,
    });
    assert.equal(out.code, 1, out.stdout + out.stderr);
    assert.match(
      out.stdout,
      /Approval waiting \(agent_create\): Create a new agent .*\(times out at \d\d:\d\d:\d\d\)/,
    );
    assert.match(out.stdout, /\n {2}Writes: \.\n {2}Network hosts: none\n/, "the grant is shown");
    assert.match(out.stdout, /Approval timed out: nobody answered in time/);
    assert.match(out.stdout, /the new agent was not approved .*; fix: answer 'yes' or 'always'/);
    const store = openStore(settings.dbPath);
    try {
      const [asked] = store.approvals.list({ limit: 1 });
      assert.deepEqual([asked.status, asked.operator], ["timed_out", "web_timeout"]);
      const [run] = store.runs.list({ limit: 1 });
      const state = store.runs.loadState<{ approvals: { timed_out?: boolean }[] }>(run.run_id)!;
      assert.equal(state.approvals[0].timed_out, true);
    } finally {
      store.close();
    }
    const listed = await runCli(["approvals"], { cwd: dir.path, env });
    assert.match(listed.stdout, /agent_create\s+timed out \(nobody answered\)/);
  } finally {
    await fake.close();
  }
});
