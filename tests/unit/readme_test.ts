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
