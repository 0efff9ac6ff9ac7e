import assert from "node:assert/strict";
import { settingsCatalogue } from "../../core/settings.ts";

const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
const configuration = await Deno.readTextFile(
  new URL("../../docs/configuration.md", import.meta.url),
);

Deno.test("the README's Quick start has the demo, a run and the tests", () => {
  assert.match(readme, /deno task demo/);
  assert.match(readme, /deno task run "/);
  assert.match(readme, /deno task test/);
});

Deno.test("the Quick start goes top to bottom: picture, clone, install, demo, setup, run, tests", async () => {
  const start = readme.indexOf("## Quick start");
  assert.ok(start > 0);
  const quick = readme.slice(start, readme.indexOf("\n## ", start + 1));
  const steps = [
    "git clone ",
    "deno install -q --entrypoint main.ts demo/main.ts",
    "deno task demo",
    "deno task cli setup",
    'deno task run "',
    "deno task test",
  ].map((step) => [step, quick.indexOf(step)] as const);
  for (const [step, at] of steps) assert.ok(at >= 0, `the Quick start is missing ${step}`);
  for (let i = 1; i < steps.length; i++) {
    assert.ok(steps[i - 1][1] < steps[i][1], `${steps[i - 1][0]} comes before ${steps[i][0]}`);
  }
  // What it is and a picture of the dashboard come first; the picture is small.
  const picture = /!\[[^\]]+\]\((docs\/images\/dashboard\.png)\)/.exec(readme);
  assert.ok(picture && picture.index < start, "a dashboard screenshot before the Quick start");
  const size = (await Deno.stat(new URL(`../../${picture[1]}`, import.meta.url))).size;
  assert.ok(size < 200_000, `docs/images/dashboard.png is ${size} bytes`);
  // The README stays short: reference material lives in docs/.
  assert.ok(readme.split("\n").length < 120, "README.md is under 120 lines");
});

Deno.test("docs/configuration.md documents every setting", () => {
  for (const setting of settingsCatalogue()) {
    assert.ok(
      configuration.includes(`\`${setting.env}\``),
      `${setting.env} is missing from docs/configuration.md`,
    );
  }
});

Deno.test("every docs/ page the README links to exists", async () => {
  for (const [, path] of readme.matchAll(/\]\((docs\/[a-z_]+\.md)\)/g)) {
    await Deno.stat(new URL(`../../${path}`, import.meta.url));
  }
});
