/**
 * Agent evolution: every new agent carries a genome (a working style, a tool
 * order, a temperature and a step budget). It is a mutated copy of the genome
 * of the fittest active agent of the same role or profile, or a random one
 * when there is none. The genome really shapes the agent: its hints go into
 * skill.md (read into the capsule's system prompt), its temperature into every
 * model call of the capsule, its step budget into the capsule's limits.
 *
 * Randomness comes from an injected `Rng`. The coordinator seeds it from the
 * registry state (role, profile, parent, relatives), so a recorded run replays
 * with the same genomes and therefore the same prompts.
 *
 * @example
 * ```ts
 * const rng = seededRng("file-reader");
 * const parent = randomGenome(["file_io"], rng);
 * const { genome, mutations } = mutateGenome(parent, 0.3, rng);
 * console.log(genomeHash(genome), mutations);
 * ```
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { slugify } from "../core/ids.ts";
import type { Settings } from "../core/settings.ts";
import type { AgentRow } from "../store/agents_repo.ts";

/** The six working styles a genome can carry. */
export const STRATEGY_HINTS = [
  "Inspect before acting: look at what exists, then change only what the task needs.",
  "Make a short plan first, then carry it out step by step and check each result.",
  "Take the most direct route to the answer and stop as soon as the task is done.",
  "Verify every claim with a tool before reporting it; never guess file contents or values.",
  "Work from the acceptance criteria backwards and make sure each one is visibly met.",
  "Prefer small, reversible steps and re-read your output before giving the final answer.",
] as const;

/** Traits a genome's persona draws from (1 to 3 of them). */
export const PERSONA_TRAITS = [
  "cautious",
  "thorough",
  "creative",
  "methodical",
  "pragmatic",
  "precise",
] as const;

/** Bounds of the numeric genes: birth ranges and the clamps applied after mutation. */
export const GENE_LIMITS = {
  birthTemperature: [0.1, 0.7],
  temperature: [0, 1],
  birthMaxIterations: [8, 16],
  maxIterations: [4, 20],
  traits: [1, 3],
} as const;

export const GenomeSchema = z.object({
  strategy_hint: z.string().min(1).max(500),
  tool_preferences: z.array(z.string()),
  temperature: z.number().min(GENE_LIMITS.temperature[0]).max(GENE_LIMITS.temperature[1]),
  max_iterations: z.number().int().min(GENE_LIMITS.maxIterations[0]).max(
    GENE_LIMITS.maxIterations[1],
  ),
  persona_traits: z.array(z.enum(PERSONA_TRAITS)).min(GENE_LIMITS.traits[0]).max(
    GENE_LIMITS.traits[1],
  ),
}).strict();
export type Genome = z.infer<typeof GenomeSchema>;

export const LineageSchema = z.object({
  parent_genome_hash: z.string().nullable(),
  generation: z.number().int().nonnegative(),
  mutations_applied: z.array(z.string()),
});
/** Where a genome came from: its parent's hash, its generation, and what changed. */
export type Lineage = z.infer<typeof LineageSchema>;

/** A source of uniform numbers in [0, 1), like `Math.random`. */
export type Rng = () => number;

/** A deterministic Rng (mulberry32) seeded from the SHA-256 of `seed`. */
export function seededRng(seed: string): Rng {
  let state = parseInt(createHash("sha256").update(seed).digest("hex").slice(0, 8), 16);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** JSON with object keys sorted at every level (arrays keep their order). */
function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(",")}]`;
  if (value && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${
      keys.map((k) => `${JSON.stringify(k)}:${sortedJson((value as Record<string, unknown>)[k])}`)
        .join(",")
    }}`;
  }
  return JSON.stringify(value);
}

/** A genome's hash: SHA-256 of the sorted-key JSON, first 16 hex characters. */
export function genomeHash(genome: Genome): string {
  return createHash("sha256").update(sortedJson(genome)).digest("hex").slice(0, 16);
}

function pick<T>(items: readonly T[], rng: Rng): T {
  return items[Math.min(items.length - 1, Math.floor(rng() * items.length))];
}

function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Rounds to 2 decimals, so repeated ±0.05 steps hash the same everywhere. */
function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function clamp(n: number, [min, max]: readonly [number, number]): number {
  return Math.min(max, Math.max(min, n));
}

/** A genome drawn at random within the birth ranges, preferring `tools` in a shuffled order. */
export function randomGenome(tools: readonly string[], rng: Rng): Genome {
  const [tMin, tMax] = GENE_LIMITS.birthTemperature;
  const [iMin, iMax] = GENE_LIMITS.birthMaxIterations;
  const traitCount = 1 + Math.floor(rng() * GENE_LIMITS.traits[1]);
  return {
    strategy_hint: pick(STRATEGY_HINTS, rng),
    tool_preferences: shuffled(tools, rng),
    temperature: round2(tMin + rng() * (tMax - tMin)),
    max_iterations: iMin + Math.floor(rng() * (iMax - iMin + 1)),
    persona_traits: shuffled(PERSONA_TRAITS, rng).slice(0, traitCount),
  };
}

/**
 * A child of `parent`: each gene changes with probability `rate` (strategy:
 * another hint; tools: swap two; temperature ±0.05/±0.1 clamped 0..1;
 * max_iterations ±1/±2 clamped 4..20; traits: add or remove one). When nothing
 * changed, the temperature moves by 0.05 (up, or down at the ceiling), so a
 * child always differs from its parent.
 */
export function mutateGenome(
  parent: Genome,
  rate: number,
  rng: Rng,
): { genome: Genome; mutations: string[] } {
  const genome: Genome = structuredClone(parent);
  const mutations: string[] = [];
  const mutates = () => rng() < rate;

  if (mutates()) {
    genome.strategy_hint = pick(STRATEGY_HINTS.filter((h) => h !== parent.strategy_hint), rng);
    mutations.push("strategy_hint");
  }
  if (mutates() && genome.tool_preferences.length >= 2) {
    const prefs = genome.tool_preferences;
    const i = Math.floor(rng() * prefs.length);
    const j = (i + 1 + Math.floor(rng() * (prefs.length - 1))) % prefs.length;
    [prefs[i], prefs[j]] = [prefs[j], prefs[i]];
    mutations.push(`tool_preferences:swap(${prefs[j]},${prefs[i]})`);
  }
  if (mutates()) {
    const delta = pick([-0.1, -0.05, 0.05, 0.1], rng);
    const next = round2(clamp(genome.temperature + delta, GENE_LIMITS.temperature));
    if (next !== genome.temperature) {
      mutations.push(`temperature:${genome.temperature}->${next}`);
      genome.temperature = next;
    }
  }
  if (mutates()) {
    const delta = pick([-2, -1, 1, 2], rng);
    const next = clamp(genome.max_iterations + delta, GENE_LIMITS.maxIterations);
    if (next !== genome.max_iterations) {
      mutations.push(`max_iterations:${genome.max_iterations}->${next}`);
      genome.max_iterations = next;
    }
  }
  if (mutates()) {
    const traits = genome.persona_traits;
    const add = traits.length <= GENE_LIMITS.traits[0] ||
      (traits.length < GENE_LIMITS.traits[1] && rng() < 0.5);
    if (add) {
      const trait = pick(PERSONA_TRAITS.filter((t) => !traits.includes(t)), rng);
      traits.push(trait);
      mutations.push(`persona_traits:+${trait}`);
    } else {
      const [removed] = traits.splice(Math.floor(rng() * traits.length), 1);
      mutations.push(`persona_traits:-${removed}`);
    }
  }
  if (mutations.length === 0) {
    const up = round2(genome.temperature + 0.05);
    const next = up <= GENE_LIMITS.temperature[1] ? up : round2(genome.temperature - 0.05);
    mutations.push(`temperature:${genome.temperature}->${next}(forced)`);
    genome.temperature = next;
  }
  return { genome, mutations };
}

/** The genome in a manifest's `genome_json`; null when absent ("{}") or invalid. */
export function parseGenome(json: string): Genome | null {
  try {
    const parsed = GenomeSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The lineage in a manifest's `lineage_json`; null when absent or invalid. */
export function parseLineage(json: string): Lineage | null {
  try {
    const parsed = LineageSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Tags every agent gets are no sign of kinship. */
const NOISE_TAGS = new Set(["auto", "capability"]);

/**
 * The tags that relate agents: the role slug and the profile id. New agents
 * carry them, so looking ancestors up by tag finds them.
 */
export function lineageTags(roleTag: string, profileId: string): string[] {
  return [...new Set([slugify(roleTag), profileId.trim()])].filter((t) => t && !NOISE_TAGS.has(t));
}

/** A possible parent: an agent with a genome. */
export interface Ancestor {
  agent_id: string;
  genome: Genome;
  genome_hash: string;
  generation: number;
  fitness_score: number;
}

/** Agents tagged with any of `tags` (noise tags ignored), each once. */
function relatedAgents(
  agents: { findByTag(tag: string): AgentRow[] },
  tags: readonly string[],
): AgentRow[] {
  const seen = new Map<string, AgentRow>();
  for (const tag of tags) {
    if (NOISE_TAGS.has(tag)) continue;
    for (const row of agents.findByTag(tag)) seen.set(row.agent_id, row);
  }
  return [...seen.values()];
}

/** The fittest active row with a genome; ties go to the older agent, then the smaller id. */
function fittest(rows: readonly AgentRow[]): Ancestor | null {
  let best: Ancestor | null = null;
  let bestRow: AgentRow | null = null;
  for (const row of rows) {
    if (row.status !== "active") continue;
    const genome = parseGenome(row.genome_json);
    if (!genome) continue;
    const better = !bestRow || row.fitness_score > bestRow.fitness_score ||
      (row.fitness_score === bestRow.fitness_score &&
        (row.created_at < bestRow.created_at ||
          (row.created_at === bestRow.created_at && row.agent_id < bestRow.agent_id)));
    if (!better) continue;
    bestRow = row;
    best = {
      agent_id: row.agent_id,
      genome,
      genome_hash: genomeHash(genome),
      generation: parseLineage(row.lineage_json)?.generation ?? 0,
      fitness_score: row.fitness_score,
    };
  }
  return best;
}

/**
 * The fittest active agent carrying a genome among those tagged with any of
 * `tags`; degraded or disabled agents never pass their genes on.
 */
export function selectAncestor(
  agents: { findByTag(tag: string): AgentRow[] },
  tags: readonly string[],
): Ancestor | null {
  return fittest(relatedAgents(agents, tags));
}

/** A new agent's genome, its lineage, and the agent it descends from (if any). */
export interface Evolved {
  genome: Genome;
  genome_hash: string;
  lineage: Lineage;
  parent_agent_id: string | null;
}

/**
 * The genome of a new agent with `tools`, related to others by `tags`: a
 * mutation of the fittest related ancestor's genome (generation + 1), or a
 * random genome (generation 0). The inherited tool order keeps the parent's
 * ranking of the tools the child has and appends the others.
 *
 * Without `rng`, one is seeded from the registry state (tags, tools, parent,
 * number of relatives): the same registry gives the same genome, so replayed
 * runs send the recorded prompts, while each new relative draws anew.
 */
export function evolveGenome(
  agents: { findByTag(tag: string): AgentRow[] },
  input: { tags: readonly string[]; tools: readonly string[]; rate: number; rng?: Rng },
): Evolved {
  const related = relatedAgents(agents, input.tags);
  const ancestor = fittest(related);
  const rng = input.rng ??
    seededRng(
      [input.tags.join(","), input.tools.join(","), ancestor?.genome_hash ?? "", related.length]
        .join("|"),
    );
  if (!ancestor) {
    const genome = randomGenome(input.tools, rng);
    return {
      genome,
      genome_hash: genomeHash(genome),
      lineage: { parent_genome_hash: null, generation: 0, mutations_applied: [] },
      parent_agent_id: null,
    };
  }
  const inherited = ancestor.genome.tool_preferences.filter((t) => input.tools.includes(t));
  const tools = [...inherited, ...input.tools.filter((t) => !inherited.includes(t))];
  const { genome, mutations } = mutateGenome(
    { ...ancestor.genome, tool_preferences: tools },
    clamp(input.rate, [0, 1]),
    rng,
  );
  return {
    genome,
    genome_hash: genomeHash(genome),
    lineage: {
      parent_genome_hash: ancestor.genome_hash,
      generation: ancestor.generation + 1,
      mutations_applied: mutations,
    },
    parent_agent_id: ancestor.agent_id,
  };
}

/**
 * skill.md with the genome's "## Working style" section appended: one
 * paragraph, since every model step re-sends it.
 */
export function withWorkingStyle(skillMd: string, genome: Genome): string {
  const sentences = [genome.strategy_hint, `Be ${genome.persona_traits.join(", ")}.`];
  if (genome.tool_preferences.length > 1) {
    sentences.push(`When several tools would do, prefer ${genome.tool_preferences.join(", ")}.`);
  }
  return `${skillMd.trimEnd()}\n\n## Working style\n${sentences.join(" ")}\n`;
}

/**
 * How a genome sets a capsule run: the step cap
 * `min(max_iterations, max_tool_calls_per_agent)` and the model temperature.
 * Without a genome, the defaults stand (empty result).
 */
export function genomeRunLimits(
  genome: Genome | null,
  settings: Pick<Settings, "maxToolCallsPerAgent">,
): { maxSteps?: number; temperature?: number } {
  if (!genome) return {};
  return {
    maxSteps: Math.min(genome.max_iterations, settings.maxToolCallsPerAgent),
    temperature: genome.temperature,
  };
}
