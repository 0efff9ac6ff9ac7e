import assert from "node:assert/strict";
import {
  type Candidate,
  chooseCandidate,
  CLEAR_WIN_MARGIN,
  effectiveScore,
  rerankSkip,
  toolsFit,
} from "../../coordinator/routing.ts";
import { cosine, provenFailing, TWIN_SIMILARITY } from "../../coordinator/twin_agents.ts";
import { HashEmbedder } from "../../store/hash_embedder.ts";

Deno.test("reuse needs tools that fit and a score over the threshold; the weighted score ranks", () => {
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
  assert.equal(choice.best?.agent_id, "proven", "the success-weighted score ranks");
  assert.equal(choice.reuse, true);
  // An unproven agent is reused on its match alone (weighted, it would need 0.954).
  assert.equal(chooseCandidate([fresh], read, ["file_io"], 0.62).reuse, true);
  const weak = { ...fresh, score: 0.6 };
  assert.deepEqual(
    [
      chooseCandidate([weak], read, ["file_io"], 0.62).reuse,
      chooseCandidate([weak], read, ["file_io"], 0.62).best?.agent_id,
    ],
    [false, "fresh"],
    "under the threshold: created, the best poor match still named",
  );
  // An agent that failed its uses is never reused, even as a perfect match.
  assert.equal(chooseCandidate([failing], read, ["file_io"], 0.62).reuse, false);
  assert.equal(chooseCandidate([failing, fresh], read, ["file_io"], 0.62).best?.agent_id, "fresh");
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

Deno.test("the reranker is skipped only when the semantic scores decide", () => {
  const agent = (id: string, semantic: number, extra: Partial<Candidate> = {}): Candidate => ({
    agent_id: id,
    description: "",
    semantic_score: semantic,
    score: semantic,
    usage_count: 10,
    success_rate: 1,
    status: "active",
    tools: ["file_io"],
    file_write: false,
    network_hosts: [],
    ...extra,
  });
  const read = { tools: ["file_io" as const], writes_files: false };
  const skip = (candidates: Candidate[]) => rerankSkip(candidates, read, ["file_io"], 0.62);
  // A proven agent well above the threshold and far ahead of the next: reuse it unasked.
  assert.equal(skip([agent("a", 0.9), agent("b", 0.7)]), "semantic_clear_winner");
  assert.equal(skip([agent("a", 0.9)]), "semantic_clear_winner");
  // Two close matches: the reranker tells them apart.
  assert.equal(skip([agent("a", 0.9), agent("b", 0.9 - CLEAR_WIN_MARGIN / 2)]), null);
  // Above the threshold semantically, under it once weighted (fresh agent: ×0.65): ask.
  assert.equal(skip([agent("a", 0.8, { usage_count: 0, success_rate: 0 })]), null);
  // Nothing reaches the threshold: create without asking.
  assert.equal(skip([agent("a", 0.5), agent("b", 0.3)]), "semantic_no_fit");
  // Only agents that could be chosen count: an unfit or degraded rival is no rival, and
  // a close match that lacks the tools is no match.
  assert.equal(
    skip([agent("a", 0.9), agent("b", 0.88, { tools: ["terminal"] })]),
    "semantic_clear_winner",
  );
  assert.equal(
    skip([agent("a", 0.9), agent("b", 0.88, { status: "degraded" })]),
    "semantic_clear_winner",
  );
  assert.equal(skip([agent("a", 0.95, { tools: ["terminal"] })]), "semantic_no_fit");
  assert.equal(skip([]), "semantic_no_fit");
});

Deno.test("twins: near-identical descriptions (cosine ≥ TWIN_SIMILARITY) with the offline embedder", () => {
  const embedder = new HashEmbedder(384);
  const similarity = (a: string, b: string) => cosine(embedder.embedSync(a), embedder.embedSync(b));
  const lister = "Specialist for file-lister work";
  assert.ok(similarity(lister, "Specialist for files-lister work") >= TWIN_SIMILARITY);
  assert.ok(
    similarity(
      "Lists files in a folder and reports their names",
      "Lists the files of a directory and reports the names",
    ) >= TWIN_SIMILARITY,
  );
  assert.ok(similarity(lister, "Specialist for file-reader work") < TWIN_SIMILARITY);
  assert.ok(similarity(lister, "Specialist for file-listing work") < TWIN_SIMILARITY);
  assert.equal(cosine([0, 0], [1, 0]), 0);
  assert.equal(provenFailing({ usage_count: 1, success_rate: 0 }), false, "not proven yet");
  assert.equal(provenFailing({ usage_count: 2, success_rate: 0 }), true);
  assert.equal(provenFailing({ usage_count: 4, success_rate: 0.5 }), false);
});

Deno.test("an agent is reused for a subtask only when it is granted every MCP server the planner named", () => {
  const agent: Candidate = {
    agent_id: "reader",
    description: "",
    semantic_score: 1,
    score: 1,
    usage_count: 10,
    success_rate: 1,
    status: "active",
    tools: ["file_io"],
    file_write: false,
    network_hosts: [],
    mcp_servers: ["fs"],
  };
  const need = (mcp_servers?: string[]) => ({
    tools: ["file_io" as const],
    writes_files: false,
    ...(mcp_servers ? { mcp_servers } : {}),
  });
  const allowed = ["file_io" as const];
  assert.equal(chooseCandidate([agent], need(["fs"]), allowed, 0.5).reuse, true);
  assert.equal(chooseCandidate([agent], need(), allowed, 0.5).reuse, true);
  const lacking = chooseCandidate([agent], need(["fs", "mem"]), allowed, 0.5);
  assert.deepEqual([lacking.best, lacking.reuse], [null, false]);
  const { mcp_servers: _none, ...ungranted } = agent;
  assert.equal(toolsFit(ungranted, need(["fs"]), allowed), false);
  assert.equal(toolsFit(ungranted, need([]), allowed), true);
});
