/**
 * Hash-embedding speed: `deno bench bench/embed_bench.ts` (or `deno task bench`).
 *
 * How to read it: the "1,000 texts" benches embed 1,000 texts per iteration, so
 * texts/second = 1000 / (time/iter in seconds); e.g. 10 ms/iter → 100,000
 * texts/s. Deno also prints iter/s: multiply it by 1,000. The "one text" bench
 * is the latency of a single short text (time/iter is the answer).
 */
import { HashEmbedder } from "../store/hash_embedder.ts";

const VERBS = [
  "list",
  "count",
  "delete",
  "summarize",
  "find",
  "rename",
  "download",
  "compare",
  "sort",
  "fix",
];
const OBJECTS = [
  "the python files in the project folder",
  "all TODO comments in the source code",
  "yesterday's error logs",
  "the images in ~/Pictures by date",
  "the README and the changelog",
  "open pull requests on GitHub",
  "the CSV export of last month's sales",
  "failing unit tests in the parser module",
  "the weather forecast for Lisbon tomorrow",
  "unread emails from the finance team",
];
const SUFFIXES = [
  "",
  " please",
  " and report back",
  " then write a short summary",
  " without touching anything else",
];

/** 1,000 distinct, realistic task descriptions (10 verbs × 10 objects × 10 variants). */
const TEXTS: string[] = [];
for (let i = 0; TEXTS.length < 1000; i++) {
  const verb = VERBS[i % VERBS.length];
  const object = OBJECTS[Math.floor(i / VERBS.length) % OBJECTS.length];
  const suffix = SUFFIXES[Math.floor(i / 100) % SUFFIXES.length];
  TEXTS.push(`${verb} ${object}${suffix} (task ${Math.floor(i / 100)})`);
}

const embedder = new HashEmbedder(384);
let next = 0;

Deno.bench({
  name: "hash embed 1,000 texts (embedSync)",
  group: "throughput",
  baseline: true,
  fn() {
    for (const text of TEXTS) embedder.embedSync(text);
  },
});

Deno.bench({
  name: "hash embed 1,000 texts (embed, one batch)",
  group: "throughput",
  async fn() {
    await embedder.embed(TEXTS);
  },
});

Deno.bench({
  name: "hash embed one text (latency)",
  group: "latency",
  fn() {
    embedder.embedSync(TEXTS[next++ % TEXTS.length]);
  },
});
