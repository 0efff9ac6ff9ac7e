import assert from "node:assert/strict";
import { chooseCandidate, effectiveScore, toolsFit } from "../../coordinator/routing.ts";

Deno.test("reuse needs tools that fit and a weighted score over the threshold", () => {
  const base = {
    description: "",
    semantic_score: 0.9,
    status: "active",
    tools: ["file_io"],
    file_write: false,
    network_hosts: [] as string[],
  };
  const read = { tools: ["file_io" as const], writes_files: false };
  const fresh = { ...base, agent_id: "fresh", score: 0.9, usage_count: 1, success_rate: 0 };
  const proven = { ...base, agent_id: "proven", score: 0.8, usage_count: 10, success_rate: 1 };
  const failing = { ...base, agent_id: "failing", score: 1, usage_count: 10, success_rate: 0 };
  assert.ok(Math.abs(effectiveScore(fresh) - 0.585) < 1e-9);
  assert.equal(effectiveScore(proven), 0.8);
  assert.ok(Math.abs(effectiveScore(failing) - 0.3) < 1e-9);
  const choice = chooseCandidate([fresh, proven, failing], read, ["file_io"], 0.62);
  assert.equal(choice.best?.agent_id, "proven");
  assert.equal(choice.reuse, true);
  assert.equal(chooseCandidate([fresh], read, ["file_io"], 0.62).reuse, false);
  const exec = { tools: ["terminal" as const], writes_files: false };
  assert.equal(chooseCandidate([proven], exec, ["file_io", "terminal"], 0.1).best, null);
  assert.equal(toolsFit(proven, read, []), false, "run's allowed tools also bind");
  assert.equal(toolsFit(proven, { ...read, writes_files: true }, ["file_io"]), false);
  assert.equal(
    toolsFit({ ...proven, file_write: true }, { ...read, writes_files: true }, ["file_io"]),
    true,
  );
  const degraded = { ...proven, status: "degraded" };
  assert.equal(chooseCandidate([degraded], read, ["file_io"], 0.1).best, null);
});

Deno.test("an agent is reused only when its hosts cover every host the subtask needs", () => {
  const agent = {
    agent_id: "cloner",
    description: "",
    semantic_score: 1,
    score: 1,
    usage_count: 10,
    success_rate: 1,
    status: "active",
    tools: ["terminal"],
    file_write: false,
    network_hosts: ["github.com"],
  };
  const need = (network_hosts: string[]) => ({
    tools: ["terminal" as const],
    writes_files: false,
    network_hosts,
  });
  const allowed = ["terminal" as const];
  assert.equal(chooseCandidate([agent], need(["github.com"]), allowed, 0.5).reuse, true);
  assert.equal(chooseCandidate([agent], need([]), allowed, 0.5).reuse, true);
  const lacking = chooseCandidate([agent], need(["github.com", "*.pypi.org"]), allowed, 0.5);
  assert.deepEqual([lacking.best, lacking.reuse], [null, false]);
  assert.equal(toolsFit({ ...agent, network_hosts: [] }, need(["github.com"]), allowed), false);
  assert.equal(
    toolsFit({ ...agent, network_hosts: ["*.pypi.org"] }, need(["a.pypi.org"]), allowed),
    true,
  );
});
