import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createCapsule } from "../../capsule_runtime/factory.ts";
import {
  evolveGenome,
  type Genome,
  genomeHash,
  genomeRunLimits,
  lineageTags,
  mutateGenome,
  parseGenome,
  PERSONA_TRAITS,
  randomGenome,
  seededRng,
  selectAncestor,
  STRATEGY_HINTS,
  withWorkingStyle,
} from "../../coordinator/evolution.ts";
import { openStore, type Store } from "../../store/mod.ts";
import { tempDir, testSettings } from "../helpers/temp.ts";

const TOOLS = ["file_io", "sql_query", "web_fetch"];

const PARENT: Genome = {
  strategy_hint: STRATEGY_HINTS[0],
  tool_preferences: [...TOOLS],
  temperature: 0.4,
  max_iterations: 12,
  persona_traits: ["cautious", "precise"],
};

function assertValid(genome: Genome) {
  assert.ok(
    genome.temperature >= 0 && genome.temperature <= 1,
    `temperature ${genome.temperature}`,
  );
  assert.ok(genome.max_iterations >= 4 && genome.max_iterations <= 20);
  assert.ok(genome.persona_traits.length >= 1 && genome.persona_traits.length <= 3);
  assert.equal(new Set(genome.persona_traits).size, genome.persona_traits.length);
  assert.ok(STRATEGY_HINTS.includes(genome.strategy_hint as typeof STRATEGY_HINTS[number]));
  assert.deepEqual(parseGenome(JSON.stringify(genome)), genome);
}

Deno.test("random genomes stay within the birth ranges and repeat for the same seed", () => {
  const hints = new Set<string>();
  for (let seed = 0; seed < 300; seed++) {
    const genome = randomGenome(TOOLS, seededRng(`seed-${seed}`));
    assertValid(genome);
    assert.ok(genome.temperature >= 0.1 && genome.temperature <= 0.7);
    assert.ok(genome.max_iterations >= 8 && genome.max_iterations <= 16);
    assert.deepEqual([...genome.tool_preferences].sort(), [...TOOLS].sort());
    hints.add(genome.strategy_hint);
  }
  assert.equal(hints.size, STRATEGY_HINTS.length, "every hint can be drawn");
  assert.deepEqual(randomGenome(TOOLS, seededRng("a")), randomGenome(TOOLS, seededRng("a")));
  assert.notDeepEqual(randomGenome(TOOLS, seededRng("a")), randomGenome(TOOLS, seededRng("b")));
});

Deno.test("the genome hash is the sorted-key JSON's SHA-256, 16 hex characters", () => {
  const reordered = {
    temperature: 0.4,
    persona_traits: ["cautious", "precise"],
    max_iterations: 12,
    tool_preferences: [...TOOLS],
    strategy_hint: STRATEGY_HINTS[0],
  } as Genome;
  const sorted = JSON.stringify({
    max_iterations: 12,
    persona_traits: ["cautious", "precise"],
    strategy_hint: STRATEGY_HINTS[0],
    temperature: 0.4,
    tool_preferences: TOOLS,
  });
  const expected = createHash("sha256").update(sorted).digest("hex").slice(0, 16);
  assert.equal(genomeHash(PARENT), expected);
  assert.equal(genomeHash(reordered), expected);
  assert.notEqual(genomeHash({ ...PARENT, temperature: 0.45 }), expected);
  assert.notEqual(genomeHash({ ...PARENT, tool_preferences: [...TOOLS].reverse() }), expected);
});

Deno.test("at rate 1 every gene mutates by the seed's rules, leaving the parent intact", () => {
  const before = structuredClone(PARENT);
  for (let seed = 0; seed < 50; seed++) {
    const { genome, mutations } = mutateGenome(PARENT, 1, seededRng(`m-${seed}`));
    assertValid(genome);
    assert.notEqual(genome.strategy_hint, PARENT.strategy_hint);
    const moved = genome.tool_preferences.filter((t, i) => t !== PARENT.tool_preferences[i]);
    assert.equal(moved.length, 2, "exactly two tools swapped");
    const dt = Math.round(Math.abs(genome.temperature - PARENT.temperature) * 100);
    assert.ok(dt === 5 || dt === 10, `temperature moved by ${dt / 100}`);
    const di = Math.abs(genome.max_iterations - PARENT.max_iterations);
    assert.ok(di === 1 || di === 2);
    assert.equal(Math.abs(genome.persona_traits.length - PARENT.persona_traits.length), 1);
    assert.equal(mutations.length, 5, mutations.join(", "));
  }
  assert.deepEqual(PARENT, before);
});

Deno.test("at rate 0 the temperature is forced to move by 0.05, down at the ceiling", () => {
  const { genome, mutations } = mutateGenome(PARENT, 0, seededRng("x"));
  assert.deepEqual(genome, { ...PARENT, temperature: 0.45 });
  assert.deepEqual(mutations, ["temperature:0.4->0.45(forced)"]);
  const hot = mutateGenome({ ...PARENT, temperature: 1 }, 0, seededRng("x"));
  assert.equal(hot.genome.temperature, 0.95);
  assert.notEqual(genomeHash(hot.genome), genomeHash({ ...PARENT, temperature: 1 }));
});

Deno.test("mutation clamps genes at their bounds and keeps 1 to 3 traits", () => {
  const edge: Genome = {
    strategy_hint: STRATEGY_HINTS[2],
    tool_preferences: ["file_io"],
    temperature: 0,
    max_iterations: 4,
    persona_traits: ["pragmatic"],
  };
  let genome = edge;
  const rng = seededRng("walk");
  for (let i = 0; i < 400; i++) {
    genome = mutateGenome(genome, 0.7, rng).genome;
    assertValid(genome);
    assert.deepEqual(genome.tool_preferences, ["file_io"]);
  }
  const full: Genome = { ...edge, max_iterations: 20, persona_traits: [...PERSONA_TRAITS] };
  assert.equal(parseGenome(JSON.stringify(full)), null, "six traits is not a valid genome");
  const three = { ...edge, persona_traits: ["cautious", "creative", "precise"] } as Genome;
  for (let seed = 0; seed < 20; seed++) {
    const child = mutateGenome(three, 1, seededRng(`t-${seed}`)).genome;
    assert.equal(child.persona_traits.length, 2, "a full trait list can only shrink");
    assert.ok(child.max_iterations >= 4);
  }
});

Deno.test("manifests without a genome or with a broken one have none", () => {
  assert.equal(parseGenome("{}"), null);
  assert.equal(parseGenome("not json"), null);
  assert.equal(parseGenome(JSON.stringify({ ...PARENT, max_iterations: 50 })), null);
  assert.deepEqual(parseGenome(JSON.stringify(PARENT)), PARENT);
});

function addAgent(
  store: Store,
  agentsDir: string,
  opts: { tags: string[]; fitness: number; status?: string; genome?: Genome; generation?: number },
): string {
  const manifest = createCapsule(agentsDir, {
    name: "Agent",
    description: "",
    tools_allowlist: ["file_io"],
    tags: opts.tags,
    genome_json: opts.genome ? JSON.stringify(opts.genome) : undefined,
    lineage_json: JSON.stringify({
      parent_genome_hash: null,
      generation: opts.generation ?? 0,
      mutations_applied: [],
    }),
  });
  store.agents.upsertManifest(manifest);
  store.agents.setFitness(manifest.agent_id, opts.fitness);
  if (opts.status) store.agents.setStatus(manifest.agent_id, opts.status);
  return manifest.agent_id;
}

Deno.test("the ancestor is the fittest active related agent with a genome", async () => {
  await using dir = await tempDir();
  const settings = testSettings(dir.path);
  const store = openStore(settings.dbPath);
  try {
    const g = (t: number): Genome => ({ ...PARENT, temperature: t });
    const tags = lineageTags("File Reader", "file-reader-pro");
    assert.deepEqual(tags, ["file-reader", "file-reader-pro"]);
    assert.equal(selectAncestor(store.agents, tags), null);
    addAgent(store, settings.agentsDir, { tags: ["file-reader"], fitness: 0.4, genome: g(0.2) });
    const best = addAgent(store, settings.agentsDir, {
      tags: ["auto", "file-reader-pro"],
      fitness: 0.7,
      genome: g(0.3),
      generation: 2,
    });
    addAgent(store, settings.agentsDir, {
      tags: ["file-reader"],
      fitness: 0.95,
      genome: g(0.5),
      status: "degraded",
    });
    addAgent(store, settings.agentsDir, { tags: ["sql-analyst"], fitness: 0.99, genome: g(0.6) });
    addAgent(store, settings.agentsDir, {
      tags: ["auto", "capability"],
      fitness: 0.98,
      genome: g(0.6),
    });
    addAgent(store, settings.agentsDir, { tags: ["file-reader"], fitness: 0.9 }); // no genome
    const ancestor = selectAncestor(store.agents, [...tags, "auto"]);
    assert.equal(ancestor?.agent_id, best);
    assert.equal(ancestor?.generation, 2);
    assert.equal(ancestor?.genome_hash, genomeHash(g(0.3)));

    const child = evolveGenome(store.agents, {
      tags,
      tools: ["sql_query", "file_io", "terminal"],
      rate: 0.3,
      rng: seededRng("child"),
    });
    assert.equal(child.parent_agent_id, best);
    assert.equal(child.lineage.generation, 3);
    assert.equal(child.lineage.parent_genome_hash, genomeHash(g(0.3)));
    assert.ok(child.lineage.mutations_applied.length >= 1);
    assert.equal(child.genome_hash, genomeHash(child.genome));
    assert.notEqual(child.genome_hash, genomeHash(g(0.3)));
    // The child prefers exactly its own tools, whatever the parent had.
    assert.deepEqual([...child.genome.tool_preferences].sort(), [
      "file_io",
      "sql_query",
      "terminal",
    ]);
    assert.deepEqual(
      evolveGenome(store.agents, { tags, tools: ["file_io"], rate: 0.3 }),
      evolveGenome(store.agents, { tags, tools: ["file_io"], rate: 0.3 }),
      "without an rng the same registry gives the same genome",
    );

    const orphan = evolveGenome(store.agents, {
      tags: ["web-scout"],
      tools: ["web_fetch"],
      rate: 0.3,
      rng: seededRng("orphan"),
    });
    assert.deepEqual(orphan.lineage, {
      parent_genome_hash: null,
      generation: 0,
      mutations_applied: [],
    });
    assert.equal(orphan.parent_agent_id, null);
  } finally {
    store.close();
  }
});

Deno.test("an inherited tool order keeps the parent's ranking when nothing else changes", async () => {
  await using dir = await tempDir();
  const settings = testSettings(dir.path);
  const store = openStore(settings.dbPath);
  try {
    addAgent(store, settings.agentsDir, {
      tags: ["analyst"],
      fitness: 0.5,
      genome: { ...PARENT, tool_preferences: ["web_fetch", "sql_query", "file_io"] },
    });
    const child = evolveGenome(store.agents, {
      tags: ["analyst"],
      tools: ["file_io", "terminal", "web_fetch"],
      rate: 0,
      rng: seededRng("c"),
    });
    assert.deepEqual(child.genome.tool_preferences, ["web_fetch", "file_io", "terminal"]);
    assert.deepEqual(child.lineage.mutations_applied, ["temperature:0.4->0.45(forced)"]);
  } finally {
    store.close();
  }
});

Deno.test("the working style goes into skill.md and the genome sets steps and temperature", () => {
  const skill = withWorkingStyle("# Reader\n\nRead files.\n\n", PARENT);
  assert.equal(
    skill,
    `# Reader\n\nRead files.\n\n## Working style\n${
      STRATEGY_HINTS[0]
    } Be cautious, precise. When several tools would do, prefer file_io, sql_query, web_fetch.\n`,
  );
  assert.ok(
    !withWorkingStyle("# R", { ...PARENT, tool_preferences: ["file_io"] }).includes("prefer"),
  );
  assert.deepEqual(genomeRunLimits(PARENT, { maxToolCallsPerAgent: 50 }), {
    maxSteps: 12,
    temperature: 0.4,
  });
  assert.equal(genomeRunLimits(PARENT, { maxToolCallsPerAgent: 5 }).maxSteps, 5);
  assert.deepEqual(genomeRunLimits(null, { maxToolCallsPerAgent: 50 }), {});
});
