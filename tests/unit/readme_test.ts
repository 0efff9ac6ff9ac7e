import assert from "node:assert/strict";
import { settingsCatalogue } from "../../core/settings.ts";

const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));

Deno.test("the README documents every setting and both Quick start commands", () => {
  for (const setting of settingsCatalogue()) {
    assert.ok(readme.includes(`\`${setting.env}\``), `${setting.env} is missing from the README`);
  }
  assert.match(readme, /deno task run "/);
  assert.match(readme, /deno task test/);
});
