import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  DEFAULT_HASH_DIM,
  HASH_EMBEDDER_NAME,
  HashEmbedder,
  stem,
  tokenize,
} from "../../store/hash_embedder.ts";
import { dot } from "../../store/embedder.ts";

const PARAPHRASES: Array<[string, string]> = [
  ["list the files in the project folder", "show all files inside the project directory"],
  ["count python files", "how many .py files are there"],
  ["delete the temporary log files", "remove all temp logs"],
  ["summarize the README document", "write a short summary of the readme"],
  ["download the web page from this URL", "fetch this URL and save the page"],
  ["run the unit tests for the project", "execute the project's unit tests"],
  ["find all TODO comments in the source code", "search the source code for TODO comments"],
  ["rename the image files by date", "rename pictures according to their date"],
  ["check the weather forecast for tomorrow", "what will the weather be like tomorrow"],
  ["send an email to the team about the meeting", "email the team regarding the meeting"],
];

const UNRELATED: Array<[string, string]> = [
  ["list the files in the project folder", "bake a chocolate cake for dessert"],
  ["count python files", "book a hotel room in Paris"],
  ["delete the temporary log files", "what will the weather be like tomorrow"],
  ["summarize the README document", "play some relaxing jazz music"],
  ["download the web page from this URL", "translate this sentence into German"],
  ["run the unit tests for the project", "recommend a good science fiction novel"],
  ["find all TODO comments in the source code", "plan a weekend trip to the mountains"],
  ["rename the image files by date", "calculate the monthly mortgage payment"],
  ["send an email to the team about the meeting", "sort the numbers in ascending order"],
  ["check the weather forecast", "convert the CSV file to JSON"],
];

function norm(v: Float32Array): number {
  return Math.sqrt(dot(v, v));
}

function meanCosine(embedder: HashEmbedder, pairs: Array<[string, string]>): number {
  const total = pairs.reduce(
    (sum, [a, b]) => sum + dot(embedder.embedSync(a), embedder.embedSync(b)),
    0,
  );
  return total / pairs.length;
}

Deno.test("hash embedder: same text gives the same vector, across instances", () => {
  const text = "Summarise the quarterly report and email it to the finance team";
  const a = new HashEmbedder().embedSync(text);
  const b = new HashEmbedder().embedSync(text);
  assert.deepEqual(Array.from(a), Array.from(b));
  assert.notDeepEqual(Array.from(a), Array.from(new HashEmbedder().embedSync(text + " today")));
});

Deno.test("hash embedder: vectors are L2-normalised, whatever the text", () => {
  const embedder = new HashEmbedder();
  const texts = [
    "count python files",
    "Ünïcödé café naïve façade — 東京 タワー Москва",
    "word ".repeat(500),
    "42",
    "the and of",
    "a".repeat(10_000),
  ];
  for (const text of texts) {
    assert.ok(Math.abs(norm(embedder.embedSync(text)) - 1) < 1e-5, `norm of ${text.slice(0, 20)}`);
  }
});

Deno.test("hash embedder: the dimension is respected and validated", () => {
  assert.equal(new HashEmbedder().dim, DEFAULT_HASH_DIM);
  for (const dim of [8, 64, 384, 1024]) {
    const embedder = new HashEmbedder(dim);
    assert.equal(embedder.dim, dim);
    assert.equal(embedder.embedSync("rename the image files by date").length, dim);
  }
  assert.throws(() => new HashEmbedder(0), RangeError);
  assert.throws(() => new HashEmbedder(12.5), RangeError);
  assert.equal(new HashEmbedder(64).name, HASH_EMBEDDER_NAME);
});

Deno.test("hash embedder: paraphrases score clearly above unrelated pairs, which score near 0", () => {
  const embedder = new HashEmbedder();
  const paraphrase = meanCosine(embedder, PARAPHRASES);
  const unrelated = meanCosine(embedder, UNRELATED);
  assert.ok(paraphrase - unrelated >= 0.25, `paraphrase ${paraphrase} vs unrelated ${unrelated}`);
  // 0.05, not 0.1: unsigned hashing (no sign bit) already lands near 0.1 here.
  assert.ok(Math.abs(unrelated) < 0.05, `unrelated mean ${unrelated}`);
  // Every paraphrase beats every unrelated pair that shares its first text.
  for (const [a, b] of PARAPHRASES) {
    const same = dot(embedder.embedSync(a), embedder.embedSync(b));
    for (const [c, d] of UNRELATED.filter(([x]) => x === a)) {
      assert.ok(same > dot(embedder.embedSync(c), embedder.embedSync(d)), `${a} / ${b}`);
    }
  }
});

Deno.test("hash embedder: empty and symbol-only texts do not throw and stay unit length", async () => {
  const embedder = new HashEmbedder();
  const empty = embedder.embedSync("");
  assert.ok(Math.abs(norm(empty) - 1) < 1e-6);
  assert.deepEqual(Array.from(embedder.embedSync("  !!! ?? ")), Array.from(empty));
  assert.ok(Math.abs(dot(empty, embedder.embedSync("count python files"))) < 0.2);
  assert.deepEqual(await embedder.embed([]), []);
});

Deno.test("hash embedder: embed() keeps input order and matches embedSync()", async () => {
  const embedder = new HashEmbedder(128);
  const texts = ["open the log", "", "play music", "open the log"];
  const vectors = await embedder.embed(texts);
  assert.equal(vectors.length, texts.length);
  texts.forEach((text, i) =>
    assert.deepEqual(Array.from(vectors[i]), Array.from(embedder.embedSync(text)))
  );
});

Deno.test("hash embedder: stemming and synonyms map inflections and near-synonyms together", () => {
  for (
    const [a, b] of [["files", "file"], ["running", "run"], ["directories", "directory"], [
      "copied",
      "copy",
    ]]
  ) {
    assert.equal(stem(a), stem(b), `${a} / ${b}`);
  }
  assert.equal(stem("string"), "string"); // no vowel left after "-ing": not a suffix
  const terms = (text: string) => tokenize(text).map((t) => t.term);
  assert.deepEqual(terms("how many .py files"), terms("count python file"));
  assert.deepEqual(terms("readFile"), ["read", stem("file")]);
  assert.deepEqual(terms("Café"), terms("cafe"));
});

Deno.test("hash embedder: runs with no npm, no config and no network (as in the capsule sandbox)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hash_embedder_test_" });
  try {
    const moduleUrl = new URL("../../store/hash_embedder.ts", import.meta.url).href;
    const script = join(dir, "embed.ts");
    await Deno.writeTextFile(
      script,
      `import { HashEmbedder } from ${JSON.stringify(moduleUrl)};\n` +
        `console.log(JSON.stringify(Array.from(new HashEmbedder(32).embedSync("count python files"))));\n`,
    );
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-config",
        "--no-npm",
        "--no-remote",
        "--no-lock",
        "--allow-read",
        pathToFileURL(script).href,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    const fromChild = JSON.parse(new TextDecoder().decode(output.stdout)) as number[];
    assert.deepEqual(fromChild, Array.from(new HashEmbedder(32).embedSync("count python files")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HashEmbedder: a text embedded again gets an equal vector of its own", () => {
  const embedder = new HashEmbedder();
  const first = embedder.embedSync("count the python files");
  const expected = first.slice();
  first.fill(0); // a caller that scribbles on its vector
  const again = embedder.embedSync("count the python files");
  assert.deepEqual(again, expected);
  assert.notEqual(again, first);
});
