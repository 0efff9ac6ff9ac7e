/**
 * The offline default embedder: feature hashing of words, word pairs and
 * character n-grams into a signed vector.
 *
 * This file imports nothing (not even `node:` modules): it also runs inside the
 * sandboxed capsule subprocess, which has no npm access. Keep it that way.
 *
 * How a text becomes a vector:
 * 1. Tokenise: split camelCase, lower-case, strip Latin accents, take Unicode
 *    letter/digit runs.
 * 2. Normalise each word: a tiny suffix stemmer and a small synonym table, so
 *    "files"/"file" and "directory"/"folder" meet; "how many" becomes "count".
 *    Stop words stay but weigh little, so they never dominate a match.
 * 3. Features: word unigrams, bigrams of neighbouring content words, and
 *    character 3–5-grams of each content word with `<`/`>` boundary markers.
 * 4. Each feature is hashed (FNV-1a + murmur3 finaliser) to a bucket and to a
 *    sign; signed buckets make collisions cancel out on average, so unrelated
 *    texts score near 0 instead of near some positive constant.
 * 5. Weights use sublinear term frequency (1 + ln tf); words weigh more than
 *    bigrams, bigrams more than character n-grams. The result is L2-normalised.
 *
 * Everything is deterministic across runs, processes and machines.
 */

/** Stable name stored next to every vector; bump the version when features change. */
export const HASH_EMBEDDER_NAME = "hash-ngram-v1";

/** Default vector length, equal to the `CLOSED_CLAW_EMBEDDING_DIM` default. */
export const DEFAULT_HASH_DIM = 384;

const UNIGRAM_WEIGHT = 1;
const STOP_WORD_WEIGHT = 0.15;
const BIGRAM_WEIGHT = 0.5;
/** L2 mass of all character n-grams of one word, relative to the word itself. */
const CHAR_NGRAM_WEIGHT = 0.5;
const MIN_NGRAM = 3;
const MAX_NGRAM = 5;

// Different FNV offset bases keep the feature kinds apart: the word "abc" and
// the character n-gram "abc" land in unrelated buckets.
const SEED_UNIGRAM = 0x811c9dc5;
const SEED_BIGRAM = 0x050c5d1f;
const SEED_CHAR = 0x1b873593;
const SEED_EMPTY = 0x2545f491;

/** How many recent texts (of at most this many characters) an embedder remembers. */
const RECENT_TEXTS = 64;
const MAX_RECENT_TEXT = 8192;

/**
 * Hashing embedder. `embedSync` is the primitive; `embed` batches it behind the
 * async `Embedder` interface of `store/embedder.ts`.
 *
 * @example
 * ```ts
 * const embedder = new HashEmbedder();
 * const [a, b] = await embedder.embed(["count python files", "how many .py files are there"]);
 * ```
 */
export class HashEmbedder {
  /** Stable identifier of the feature set. */
  readonly name: string = HASH_EMBEDDER_NAME;
  /** Vector length. */
  readonly dim: number;

  constructor(dim: number = DEFAULT_HASH_DIM) {
    if (!Number.isInteger(dim) || dim < 1) {
      throw new RangeError(`HashEmbedder dim must be a positive whole number, got ${dim}.`);
    }
    this.dim = dim;
  }

  /** Recent texts' vectors: routing embeds a subtask twice (its early guess, then its choice). */
  private readonly recent = new Map<string, Float32Array>();

  /** Embeds one text into a unit-length vector. Empty text gets a fixed unit vector. */
  embedSync(text: string): Float32Array {
    const known = this.recent.get(text);
    if (known) return known.slice();
    const vector = this.compute(text);
    if (text.length > MAX_RECENT_TEXT) return vector;
    if (this.recent.size >= RECENT_TEXTS) this.recent.delete(this.recent.keys().next().value!);
    this.recent.set(text, vector.slice());
    return vector;
  }

  private compute(text: string): Float32Array {
    const vector = new Float32Array(this.dim);
    const words = tokenize(text);
    const terms = new Map<string, number>();
    const stopTerms = new Map<string, number>();
    const charWords = new Map<string, number>();
    const bigrams = new Map<string, number>();
    let previous = "";
    for (const word of words) {
      if (STOP_WORDS.has(word.surface)) {
        increment(stopTerms, word.term);
        continue;
      }
      increment(terms, word.term);
      if (!isDigits(word.surface)) increment(charWords, word.surface);
      if (previous) increment(bigrams, previous + " " + word.term);
      previous = word.term;
    }
    for (const [term, tf] of terms) {
      this.add(vector, term, SEED_UNIGRAM, UNIGRAM_WEIGHT * sublinear(tf));
    }
    for (const [term, tf] of stopTerms) {
      this.add(vector, term, SEED_UNIGRAM, STOP_WORD_WEIGHT * sublinear(tf));
    }
    for (const [pair, tf] of bigrams) {
      this.add(vector, pair, SEED_BIGRAM, BIGRAM_WEIGHT * sublinear(tf));
    }
    for (const [surface, tf] of charWords) this.addCharNgrams(vector, surface, sublinear(tf));
    if (!normalize(vector)) {
      this.add(vector, "", SEED_EMPTY, 1);
      normalize(vector);
    }
    return vector;
  }

  /** Embeds many texts; the result is in input order. */
  embed(texts: string[]): Promise<Float32Array[]> {
    return Promise.resolve(texts.map((text) => this.embedSync(text)));
  }

  private add(vector: Float32Array, feature: string, seed: number, weight: number): void {
    this.addHash(vector, fnv1a(feature, 0, feature.length, seed), weight);
  }

  private addHash(vector: Float32Array, rawHash: number, weight: number): void {
    const hash = fmix32(rawHash);
    // The sign comes from a second, independent mix so it is uncorrelated with the bucket.
    const sign = (fmix32(hash ^ 0x9e3779b9) & 1) === 0 ? 1 : -1;
    vector[hash % this.dim] += sign * weight;
  }

  /** Adds every 3–5-gram of `<surface>` with a total L2 mass of CHAR_NGRAM_WEIGHT × tfWeight. */
  private addCharNgrams(vector: Float32Array, surface: string, tfWeight: number): void {
    const padded = "<" + surface + ">";
    let count = 0;
    for (let n = MIN_NGRAM; n <= MAX_NGRAM; n++) count += Math.max(0, padded.length - n + 1);
    if (count === 0) return;
    const weight = (CHAR_NGRAM_WEIGHT * tfWeight) / Math.sqrt(count);
    for (let n = MIN_NGRAM; n <= MAX_NGRAM; n++) {
      for (let start = 0; start + n <= padded.length; start++) {
        this.addHash(vector, fnv1a(padded, start, start + n, SEED_CHAR), weight);
      }
    }
  }
}

/** One word of a text: as written (normalised case/accents) and as a matching term. */
export interface HashToken {
  /** Lower-cased, accent-stripped word as it appears. */
  surface: string;
  /** Stemmed and synonym-mapped form used for word features. */
  term: string;
}

/** Splits a text into words with their matching terms; exported for tests and debugging. */
export function tokenize(text: string): HashToken[] {
  const words = normalizeText(text).match(WORD_RE) ?? [];
  const out: HashToken[] = [];
  for (let i = 0; i < words.length; i++) {
    const surface = words[i].replace(APOSTROPHES, "");
    const phrase = PHRASES.get(surface + " " + (words[i + 1] ?? ""));
    if (phrase) {
      out.push({ surface: phrase, term: phrase });
      i++;
      continue;
    }
    const stemmed = stem(surface);
    out.push({ surface, term: SYNONYMS.get(stemmed) ?? stemmed });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Text normalisation

const WORD_RE = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu;
const APOSTROPHES = /['’]s$|['’]/g;
const CAMEL_BOUNDARY = /(\p{Ll})(\p{Lu})/gu;
// Only accents on Latin letters: elsewhere combining marks are part of the letter.
const LATIN_ACCENTS = /(?<=\p{Script=Latin})\p{Mn}+/gu;

function normalizeText(text: string): string {
  const split = text.replace(CAMEL_BOUNDARY, "$1 $2");
  if (isAscii(split)) return split.toLowerCase();
  return split.normalize("NFKD").replace(LATIN_ACCENTS, "").normalize("NFC").toLowerCase();
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

function isDigits(word: string): boolean {
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

const VOWEL = /[aeiouy]/;
const ASCII_WORD = /^[a-z]+$/;

/**
 * A tiny English suffix stemmer (plural s/es, -ies→y, -ing, -ed, -ly, final e).
 * Rough on purpose: it only has to map a word and its inflections to the same
 * string, not to a dictionary form.
 */
export function stem(word: string): string {
  if (word.length <= 3 || !ASCII_WORD.test(word)) return word;
  let w = word;
  if (w.endsWith("ies") && w.length > 4) w = w.slice(0, -3) + "y";
  else if (w.endsWith("sses")) w = w.slice(0, -2);
  else if (/(?:ch|sh|x|z)es$/.test(w)) w = w.slice(0, -2);
  else if (w.endsWith("s") && !/(?:ss|us|is)$/.test(w)) w = w.slice(0, -1);

  if (w.endsWith("ied") && w.length > 4) w = w.slice(0, -3) + "y";
  else if (w.endsWith("ing") && w.length > 5 && VOWEL.test(w.slice(0, -3))) {
    w = undouble(w.slice(0, -3));
  } else if (w.endsWith("ed") && !w.endsWith("eed") && w.length > 4 && VOWEL.test(w.slice(0, -2))) {
    w = undouble(w.slice(0, -2));
  } else if (w.endsWith("ly") && w.length > 5) w = w.slice(0, -2);

  if (w.endsWith("e") && w.length > 3) w = w.slice(0, -1);
  return w;
}

/** "runn" → "run", but "call" and "miss" keep their double letter. */
function undouble(w: string): string {
  const n = w.length;
  if (n >= 3 && w[n - 1] === w[n - 2] && !"aeioulsz".includes(w[n - 1])) return w.slice(0, -1);
  return w;
}

const STOP_WORDS = new Set(
  `a about above after again against all also am an and any are as at be been before being
  below between both but by can could did do does doing done down during each either else
  ever every few for from further had has have having he her here hers him his how i if in
  inside into is it its itself just kindly let lets like many me more most much my myself no
  nor not now of off on once only onto or other our ours out over own please per same she
  should so some such than that the their theirs them then there these they this those
  through to too under until up upon us very via was we were what when where which while
  who whom whose why will with within without would yet you your yours`.split(/\s+/),
);

/** Two-word phrases that mean one thing; they become a single token. */
const PHRASES = new Map([
  ["how many", "count"],
  ["how much", "amount"],
  ["look for", "find"],
  ["look up", "find"],
  ["set up", "setup"],
  ["web page", "webpage"],
  ["e mail", "email"],
]);

// Canonical word first, then words that should match it. Kept small and
// generic: agent tasks are mostly about files, code, web and messages.
const SYNONYM_GROUPS = [
  "folder directory dir",
  "list show display enumerate ls",
  "delete remove erase rm del",
  "count tally",
  "create make generate",
  "find search locate grep lookup",
  "fetch download retrieve get",
  "run execute exec launch",
  "edit modify change alter",
  "summarize summarise summary summarization tldr",
  "python py",
  "javascript js",
  "typescript ts",
  "markdown md",
  "document doc",
  "image picture photo img pic",
  "error bug fault failure exception",
  "large big huge",
  "small tiny little",
  "email mail",
  "explain describe",
  "fix repair",
  "webpage website site",
  "check verify validate",
  "compute calculate calc",
  "buy purchase",
  "fast quick rapid",
  "temporary temp tmp",
  "configuration config",
];

const SYNONYMS: Map<string, string> = (() => {
  const map = new Map<string, string>();
  for (const group of SYNONYM_GROUPS) {
    const [canonical, ...others] = group.split(" ").map(stem);
    for (const word of others) map.set(word, canonical);
  }
  return map;
})();

// ---------------------------------------------------------------------------
// Hashing and vector helpers

/** FNV-1a over UTF-16 code units `text[start..end)`; no substring is allocated. */
function fnv1a(text: string, start: number, end: number, seed: number): number {
  let h = seed;
  for (let i = start; i < end; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** murmur3's 32-bit finaliser: spreads FNV's weak low bits over the whole word. */
function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function sublinear(tf: number): number {
  return 1 + Math.log(tf);
}

/** Scales `vector` to unit length in place; returns false when it is all zeros. */
function normalize(vector: Float32Array): boolean {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += vector[i] * vector[i];
  if (sum === 0) return false;
  const inv = 1 / Math.sqrt(sum);
  for (let i = 0; i < vector.length; i++) vector[i] *= inv;
  return true;
}
