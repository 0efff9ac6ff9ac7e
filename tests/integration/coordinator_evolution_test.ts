/**
 * Evolution end to end: real runs against the scripted fake OpenAI server,
 * real capsules. A second run's new agent for a role descends from the first
 * one, and the genome really reaches the capsule (skill.md in its system
 * prompt, temperature on its model calls, its step budget).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readManifest, readSkill } from "../../capsule_runtime/factory.ts";
import { type RunLogEvent, startRun } from "../../coordinator/mod.ts";
import { parseGenome, parseLineage } from "../../coordinator/evolution.ts";
import type { Settings } from "../../core/settings.ts";
import { openStore, type Store } from "../../store/mod.ts";
import type { RecordedRequest } from "../fakes/mod.ts";
import { tempDir } from "../helpers/temp.ts";
import {
  type Brain,
  isAgentStep,
  notesBrain,
  startBrain,
  toolStep,
} from "../helpers/coordinator_brain.ts";

let profiles = 0;
const readNotes: Brain = {
  ...notesBrain(),
  // The existing agent never fits well, so the second run creates a new one.
  rerank: () => [{ agent_id: "c1", score: 0, reason: "not a fit" }],
  // Each profile describes another agent (an identical one would be reused as a twin).
  get profileExtra() {
    profiles++;
    return {
      description: profiles % 2
        ? "Reads plain text files and reports their opening lines"
        : "Summarises meeting notes into decisions and action items",
    };
  },
};

/** A capsule that never answers: it alternates two successful reads until its steps run out. */
const endless: Brain = {
  ...readNotes,
  agent: ({ step }) =>
    toolStep("file_io", step % 2 ? { op: "list", path: "." } : { op: "read", path: "notes.txt" }),
};

async function runOnce(settings: Settings, store: Store) {
  const events: RunLogEvent[] = [];
  const run = startRun({ settings, store }, {
    task: "What is the first line of notes.txt?",
    onEvent: (e) => events.push(e),
  });
  const outcome = await run.done;
  const created = events.find((e) => e.event === "agent_created_for_role")?.payload;
  assert.ok(created, "the run created an agent");
  return { outcome, created, agentId: String(created.agent_id) };
}

function agentSteps(requests: RecordedRequest[]): RecordedRequest[] {
  return requests.filter(isAgentStep);
}

async function withBrain(
  brain: Brain,
  env: Record<string, string>,
  fn: (t: { settings: Settings; store: Store; requests: RecordedRequest[] }) => Promise<void>,
) {
  await using dir = await tempDir();
  const { fake, settings, workspace } = await startBrain(dir.path, brain, env);
  await Deno.writeTextFile(join(workspace, "notes.txt"), "hello world\n");
  const store = openStore(settings.dbPath);
  try {
    await fn({ settings, store, requests: fake.requests });
  } finally {
    store.close();
    await fake.close();
  }
}

Deno.test("a second run's new agent inherits from the fittest agent of the same role", () =>
  withBrain(readNotes, {}, async ({ settings, store, requests }) => {
    const first = await runOnce(settings, store);
    assert.equal(first.outcome.status, "ok", first.outcome.error);
    const firstManifest = readManifest(settings.agentsDir, first.agentId)!;
    const firstGenome = parseGenome(firstManifest.genome_json);
    assert.ok(firstGenome, "the first agent has a genome");
    assert.match(String(first.created.genome_hash), /^[0-9a-f]{16}$/);
    assert.equal(first.created.generation, 0);
    assert.ok(firstManifest.tags.includes("file-reader"));
    const skill = readSkill(settings.agentsDir, first.agentId);
    assert.match(skill, /## Working style\n\S/);
    assert.ok(skill.includes(firstGenome.strategy_hint));
    assert.ok(store.agents.get(first.agentId)!.fitness_score > 0, "fitness is recorded");

    const firstSteps = agentSteps(requests);
    assert.ok(firstSteps.length >= 2);
    for (const request of firstSteps) {
      assert.equal(request.body.temperature, firstGenome.temperature);
      assert.ok(
        JSON.stringify(request.body.messages).includes("## Working style"),
        "the capsule's system prompt carries the working style",
      );
    }

    const second = await runOnce(settings, store);
    assert.equal(second.outcome.status, "ok", second.outcome.error);
    assert.notEqual(second.agentId, first.agentId);
    assert.equal(second.created.generation, 1);
    assert.equal(second.created.parent_genome_hash, first.created.genome_hash);
    assert.equal(second.created.parent_agent_id, first.agentId);
    assert.notEqual(second.created.genome_hash, first.created.genome_hash);
    const secondManifest = readManifest(settings.agentsDir, second.agentId)!;
    const lineage = parseLineage(secondManifest.lineage_json)!;
    assert.equal(lineage.generation, 1);
    assert.equal(lineage.parent_genome_hash, first.created.genome_hash);
    assert.ok(lineage.mutations_applied.length >= 1);
    const secondGenome = parseGenome(secondManifest.genome_json)!;
    const secondSteps = agentSteps(requests).slice(firstSteps.length);
    assert.ok(secondSteps.length >= 2);
    for (const request of secondSteps) {
      assert.equal(request.body.temperature, secondGenome.temperature);
    }
    assert.ok(store.agents.get(second.agentId)!.fitness_score > 0);
  }));

Deno.test("an evolved capsule stops at its genome's step budget, not the default one", () =>
  withBrain(
    endless,
    { CLOSED_CLAW_AGENT_MAX_STEPS: "30", CLOSED_CLAW_SUBTASK_MAX_ATTEMPTS: "1" },
    async ({ settings, store, requests }) => {
      const run = await runOnce(settings, store);
      assert.equal(run.outcome.status, "error");
      const genome = parseGenome(readManifest(settings.agentsDir, run.agentId)!.genome_json)!;
      assert.equal(agentSteps(requests).length, genome.max_iterations);
    },
  ));

Deno.test("with evolution disabled, agents get no genome and the seed defaults", () =>
  withBrain(
    endless,
    {
      CLOSED_CLAW_EVOLUTION_ENABLED: "false",
      CLOSED_CLAW_AGENT_MAX_STEPS: "5",
      CLOSED_CLAW_SUBTASK_MAX_ATTEMPTS: "1",
    },
    async ({ settings, store, requests }) => {
      const run = await runOnce(settings, store);
      assert.equal(run.created.genome_hash, null);
      assert.equal(run.created.generation, 0);
      const manifest = readManifest(settings.agentsDir, run.agentId)!;
      assert.equal(manifest.genome_json, "{}");
      assert.equal(manifest.lineage_json, "{}");
      assert.ok(!readSkill(settings.agentsDir, run.agentId).includes("## Working style"));
      const steps = agentSteps(requests);
      assert.equal(steps.length, 5);
      assert.ok(steps.every((r) => r.body.temperature === undefined));
    },
  ));
